"""CDS Hooks 2.0: the discovery document, request checks, the prefetch reader and the cards.

- One ``patient-view`` service per treatment the knowledge base has criteria for, with
  prefetch templates for Patient, Condition, Observation and Procedure.
- ``order-select`` is listed only when a site's FHIR mapping supplies the order code of the
  treatment (key ``cds_hooks.order_select``, see :func:`order_codes`). No checked code for such
  an order exists, so the shipped mappings have none and the service is left out. It answers
  only when one of the *selected* draft orders (``context.selections`` in
  ``context.draftOrders``) has that code (:func:`selects_order`); otherwise no cards.
- A request must carry the prefetch (HTTP 412 otherwise). The service never calls
  ``fhirServer`` and never reads ``fhirAuthorization``.
- The prefetch is read as FHIR R4 by the FHIR reader (:func:`prefetch_bundle` makes one Bundle
  of it, :func:`patient_from_prefetch` reads it with the FHIR mapping, a site's files included).
  A patient with no recorded disease of the treatment gets the info card of
  :func:`out_of_scope_card`, never an eligibility verdict.
- Cards: a summary under 140 characters (cut between words) stating the verdict, an ``indicator``
  (:data:`INDICATORS`), a Markdown ``detail`` with criteria, missing data and quotes, a
  ``source`` naming the knowledge base and its version, and a link to the HTML report.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from npc_kg.core.rules import ELIGIBLE, INDETERMINATE, INELIGIBLE, OUT_OF_SCOPE, SATISFIED, VIOLATED
from npc_kg.errors import NpcKgError
from npc_kg.fhir.elements import codings, concept_problem

if TYPE_CHECKING:  # pragma: no cover
    from npc_kg.assessment.assess import Assessment
    from npc_kg.fhir.mapping import FhirMapping
    from npc_kg.fhir.model import FhirPatient

__all__ = [
    "FHIR_MAPPING_FILE",
    "INDICATORS",
    "PREFETCH",
    "SUMMARY_LIMIT",
    "CdsError",
    "CdsService",
    "cards_for",
    "check_request",
    "discovery",
    "load_site_mappings",
    "order_codes",
    "out_of_scope_card",
    "patient_from_prefetch",
    "prefetch_bundle",
    "selects_order",
    "services",
]

SUMMARY_LIMIT = 140
"""CDS Hooks 2.0: a card's summary is a "<140-character" message; every summary here is shorter."""

INDICATORS = {INELIGIBLE: "warning", INDETERMINATE: "warning", ELIGIBLE: "info", OUT_OF_SCOPE: "info"}
"""Verdict -> card indicator. Ineligible: a criterion is violated. Indeterminate: data the
criteria need is missing, so the question is open and someone must record it. Eligible and
out of scope (the service does not apply) are information."""

PREFETCH = {
    "patient": "Patient/{{context.patientId}}",
    "conditions": "Condition?patient={{context.patientId}}",
    "observations": "Observation?patient={{context.patientId}}",
    "procedures": "Procedure?patient={{context.patientId}}",
}
"""The prefetch templates: the patient and their Condition, Observation and Procedure resources."""

FHIR_MAPPING_FILE = ("mappings", "fhir-mcode.yaml")
"""The shipped FHIR mapping (from the FHIR input work); a site's mapping extends it."""

_NO_FHIR_SERVER = ("It reads only the prefetch sent with the request: it never calls fhirServer and never uses "
                   "fhirAuthorization.")


class CdsError(NpcKgError):
    """A CDS Hooks request the service cannot answer; ``status`` is the HTTP status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class CdsService:
    """One service of the discovery document."""

    id: str
    hook: str
    treatment: str
    title: str
    description: str
    orders: tuple[tuple[str, str], ...] = ()
    """order-select: the (system, code) pairs of the site's orders of the treatment."""

    def to_dict(self) -> dict[str, Any]:
        """The service's entry in the discovery document."""
        return {"hook": self.hook, "id": self.id, "title": self.title, "description": self.description,
                "prefetch": dict(PREFETCH)}


# ---------------------------------------------------------------------------------------------
# The prefetch, read as FHIR R4
# ---------------------------------------------------------------------------------------------


def prefetch_bundle(prefetch: Mapping[str, Any]) -> dict[str, Any]:
    """One ``collection`` Bundle of the prefetch: the Patient and the entries of the Condition,
    Observation and Procedure searchsets (their ``fullUrl`` kept, so references resolve; entries
    with ``search.mode = outcome``, such as an OperationOutcome, left out).

    Raises :class:`CdsError` 412 when a searchset is null or not a Bundle (the service cannot
    fetch it: it never calls ``fhirServer``), 400 when an entry is not a JSON object.
    """
    entries: list[dict[str, Any]] = [{"resource": prefetch["patient"]}]
    for key in PREFETCH:
        if key == "patient":
            continue
        found = prefetch.get(key)
        if not isinstance(found, Mapping) or found.get("resourceType") != "Bundle":
            raise CdsError(412, f"prefetch.{key} is not a FHIR Bundle (the searchset of its template); this service "
                                "reads only the prefetch and never calls fhirServer")
        listed = found.get("entry") or []
        if not isinstance(listed, list):
            raise CdsError(400, f"prefetch.{key}.entry must be a list of entries")
        for index, entry in enumerate(listed):
            if not isinstance(entry, Mapping):
                raise CdsError(400, f"prefetch.{key}.entry[{index}] is not a JSON object")
            search = entry.get("search")
            if isinstance(search, Mapping) and search.get("mode") == "outcome":
                continue
            resource = entry.get("resource")
            if isinstance(resource, Mapping) and resource.get("resourceType") == "OperationOutcome":
                continue
            kept: dict[str, Any] = {"resource": resource}
            if isinstance(entry.get("fullUrl"), str):
                kept["fullUrl"] = entry["fullUrl"]
            entries.append(kept)
    return {"resourceType": "Bundle", "type": "collection", "entry": entries}


def patient_from_prefetch(prefetch: Mapping[str, Any], mapping: FhirMapping | None = None) -> FhirPatient:
    """Read the CDS Hooks prefetch (FHIR R4) with the FHIR reader (:func:`npc_kg.fhir.read_bundle`).

    ``mapping`` is the compiled FHIR mapping (the shipped one extended by the site's files;
    None: the shipped one). Returns the reader's :class:`~npc_kg.fhir.model.FhirPatient`, which
    is out of scope when no disease of the treatment is recorded. Raises :class:`CdsError` for a
    prefetch of the wrong shape and :class:`~npc_kg.fhir.errors.FhirInputError` for FHIR the
    reader refuses (its message names the JSON pointer, never a value).
    """
    from npc_kg.fhir.bundle import read_bundle

    return read_bundle(prefetch_bundle(prefetch), mapping=mapping, where="prefetch")


# ---------------------------------------------------------------------------------------------
# Discovery
# ---------------------------------------------------------------------------------------------


def load_site_mappings(paths: Iterable[str | Path] = ()) -> list[dict[str, Any]]:
    """The shipped FHIR mapping (if present) and each site mapping in ``paths``, as parsed YAML."""
    from npc_kg.resources import data_path
    from npc_kg.yamlio import read_yaml

    files = [data_path(*FHIR_MAPPING_FILE), *[Path(p) for p in paths]]
    out = []
    for i, path in enumerate(files):
        if i == 0 and not path.is_file():
            continue
        doc = read_yaml(path, "FHIR mapping file")
        if isinstance(doc, dict):
            out.append(doc)
    return out


def _expand(value: str) -> str:
    from npc_kg.namespace import PREFIXES

    prefix, sep, local = value.partition(":")
    return PREFIXES[prefix] + local if sep and prefix in PREFIXES and not local.startswith("//") else value


def order_codes(mappings: Sequence[Mapping[str, Any]], treatment: str) -> list[dict[str, str]]:
    """The order codes a site's mapping gives for ``treatment``.

    A mapping lists them under ``cds_hooks: {order_select: [{treatment, system, code, display}]}``
    (``treatment`` an IRI or CURIE). No shipped mapping has one: no checked code for the order exists.
    """
    codes = []
    for mapping in mappings:
        section = mapping.get("cds_hooks") if isinstance(mapping, Mapping) else None
        entries = section.get("order_select") if isinstance(section, Mapping) else None
        for entry in entries or []:
            if (isinstance(entry, Mapping) and entry.get("code") and entry.get("system")
                    and _expand(str(entry.get("treatment", ""))) == treatment):
                codes.append({"system": str(entry["system"]), "code": str(entry["code"]),
                              "display": str(entry.get("display") or "")})
    return codes


def services(mappings: Sequence[Mapping[str, Any]] = ()) -> list[CdsService]:
    """The services: ``patient-view`` per treatment with criteria, ``order-select`` where a mapping gives the order code."""
    from npc_kg.assessment.treatments import label, service_id, treatments

    out = []
    for treatment in treatments():
        name = label(treatment)
        out.append(CdsService(
            id=service_id(treatment), hook="patient-view", treatment=treatment,
            title=f"npc-kg: eligibility for {name}",
            description=f"Three-valued eligibility for {name} (eligible, ineligible, indeterminate), with the "
                        f"criteria, missing data and source quotes from the npc-kg knowledge base. {_NO_FHIR_SERVER}",
        ))
        codes = order_codes(mappings, treatment)
        if codes:
            out.append(CdsService(
                id=service_id(treatment) + "-order", hook="order-select", treatment=treatment,
                title=f"npc-kg: eligibility check when {name} is ordered",
                description=f"Checks eligibility for {name} when a site's order code for it is selected. {_NO_FHIR_SERVER}",
                orders=tuple((c["system"], c["code"]) for c in codes),
            ))
    return out


def discovery(mappings: Sequence[Mapping[str, Any]] = ()) -> dict[str, Any]:
    """The CDS Hooks discovery document (``GET /cds-services``)."""
    return {"services": [s.to_dict() for s in services(mappings)]}


# ---------------------------------------------------------------------------------------------
# Requests
# ---------------------------------------------------------------------------------------------


def check_request(body: Any, service: CdsService) -> Mapping[str, Any]:
    """Check a hook request for ``service``; return its prefetch. Raises :class:`CdsError` (400, 412).

    ``fhirServer`` and ``fhirAuthorization`` may be present but are never read.
    """
    if not isinstance(body, Mapping):
        raise CdsError(400, "the request body must be a JSON object")
    for key in ("hook", "hookInstance", "context"):
        if key not in body:
            raise CdsError(400, f"the request has no {key!r}")
    if body["hook"] != service.hook:
        raise CdsError(400, f"service {service.id!r} answers the {service.hook!r} hook")
    context = body["context"]
    if not isinstance(context, Mapping) or not isinstance(context.get("patientId"), str) or not context["patientId"]:
        raise CdsError(400, "context.patientId is missing")
    prefetch = body.get("prefetch")
    if not isinstance(prefetch, Mapping):
        raise CdsError(412, "no prefetch: this service reads only the prefetch and never calls fhirServer")
    missing = [key for key in PREFETCH if key not in prefetch]
    if missing:
        raise CdsError(412, f"prefetch lacks {', '.join(missing)}: this service never calls fhirServer")
    patient = prefetch.get("patient")
    if not isinstance(patient, Mapping) or patient.get("resourceType") != "Patient":
        raise CdsError(412, "prefetch.patient is not a FHIR Patient resource")
    if "id" in patient and patient["id"] != context["patientId"]:
        raise CdsError(400, "prefetch.patient.id is not context.patientId: the prefetch is of another patient")
    return prefetch


def selects_order(context: Mapping[str, Any], service: CdsService) -> bool:
    """Whether an ``order-select`` request selects one of ``service``'s orders. Raises :class:`CdsError` (400).

    CDS Hooks 2.0: ``context.selections`` holds references (``ServiceRequest/123``) to resources of
    the ``context.draftOrders`` Bundle; a selected resource is the treatment's order when a coding
    of its ``code`` has the system and code a site's mapping gives (:func:`order_codes`).
    """
    selections, drafts = context.get("selections"), context.get("draftOrders")
    if not isinstance(selections, list) or not all(isinstance(item, str) for item in selections):
        raise CdsError(400, "context.selections must be a list of references (order-select)")
    if not isinstance(drafts, Mapping) or drafts.get("resourceType") != "Bundle" or not isinstance(
            drafts.get("entry", []), list):
        raise CdsError(400, "context.draftOrders must be a FHIR Bundle (order-select)")
    selected = set(selections)
    wanted = set(service.orders)
    chosen: list[Any] = []  # the selected orders' codes; every entry is checked first, so a broken one never hides
    for n, entry in enumerate(drafts.get("entry", [])):
        resource = entry.get("resource") if isinstance(entry, Mapping) else None
        if not isinstance(resource, Mapping) or not isinstance(resource.get("resourceType"), str):
            raise CdsError(400, f"context.draftOrders entry {n} must be an object holding a FHIR resource (order-select)")
        if f"{resource['resourceType']}/{resource.get('id')}" in selected:
            problem = concept_problem(resource["resourceType"], "code", resource.get("code"))
            if problem is not None:  # an order that cannot be read is not "not ours"
                raise CdsError(400, f"context.draftOrders entry {n}: {problem} (order-select)")
            chosen.append(resource.get("code"))
    return any((coding.get("system"), coding.get("code")) in wanted for code in chosen for coding in codings(code))


# ---------------------------------------------------------------------------------------------
# Cards
# ---------------------------------------------------------------------------------------------


def _source() -> dict[str, str]:
    from npc_kg.assessment.provenance import kb_version, ontology_version_iri

    source = {"label": f"npc-kg knowledge base {kb_version()}"}
    if ontology_version_iri():
        source["url"] = ontology_version_iri()
    return source


def _summary(text: str) -> str:
    """``text`` on one line, under :data:`SUMMARY_LIMIT` characters: a longer text is cut at the last
    word boundary that leaves room for an ellipsis (mid-word only when one word fills most of it)."""
    text = " ".join(text.split())
    if len(text) < SUMMARY_LIMIT:
        return text
    room = SUMMARY_LIMIT - 2  # the kept text and "…" stay under the limit
    cut = text.rfind(" ", 0, room + 1)  # a space at ``room`` itself ends the last whole word
    head = text[:cut] if cut > room // 2 else text[:room]
    return head.rstrip(" ,;:-") + "…"


def _md(text: str) -> str:
    """Plain text for a Markdown line (no markup from the data)."""
    out = text.replace("\\", "\\\\")
    for char in "*_`[]<>#|":
        out = out.replace(char, "\\" + char)
    return " ".join(out.split())


def _detail(assessment: Assessment) -> str:
    from npc_kg.assessment.report import STATUS_SYMBOLS, label_of

    lines = ["**Criteria**", ""]
    for row in assessment.criteria:
        lines.append(f"- {STATUS_SYMBOLS.get(row.status, '?')} **{row.status}**: {_md(row.label)}. {_md(row.message)}")
        if row.status != SATISFIED and row.quote:
            lines.append(f"  > {_md(row.quote)} ({_md(label_of(row.source))})")
    lines += ["", "**Missing data**", ""]
    lines += [f"- {_md(label_of(m))}: record it present or absent" for m in assessment.missing] or ["- none"]
    lines += ["", "Assessment is decision support, not a decision."]
    return "\n".join(lines)


def cards_for(assessment: Assessment, report_url: str | None, *, ttl_minutes: int | None = None) -> list[dict[str, Any]]:
    """The card of ``assessment``, linking to its HTML report at ``report_url``."""
    from npc_kg.assessment.report import label_of

    violated = sum(r.status == VIOLATED for r in assessment.criteria)
    summary = _summary(f"{label_of(assessment.treatment).capitalize()}: {assessment.verdict.upper()} "
                       f"({violated} criteria violated, {len(assessment.missing)} items missing)")
    card: dict[str, Any] = {
        "summary": summary,
        "indicator": INDICATORS.get(assessment.verdict, "info"),
        "detail": _detail(assessment),
        "source": _source(),
    }
    if report_url:
        expires = f", expires in {ttl_minutes} min" if ttl_minutes else ""
        card["links"] = [{"label": f"Full report (HTML{expires})", "url": report_url, "type": "absolute"}]
    return [card]


def out_of_scope_card(treatment: str, reason: str) -> list[dict[str, Any]]:
    """The card for a patient the treatment's question does not apply to."""
    from npc_kg.assessment.report import label_of

    return [{
        "summary": _summary(f"npc-kg does not apply: {reason}"),
        "indicator": INDICATORS[OUT_OF_SCOPE],
        "detail": f"The {_md(label_of(treatment))} eligibility service does not apply to this patient: {_md(reason)}.",
        "source": _source(),
    }]
