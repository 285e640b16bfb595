"""The rules of eligibility, stated once: every evaluator and every surface uses them.

- the statuses of a criterion and the verdicts of a patient, and their RDF terms;
- the severity rule: a criterion is *violated* if one of its shapes reports an ``sh:Violation``
  for the patient, else *unknown* if one reports an ``sh:Warning`` or no shape implements the
  criterion, else *satisfied* (``sh:Info`` and other severities never change a status);
  the verdict is *ineligible* if a criterion is violated, else *indeterminate* if one is
  unknown, else *eligible*;
- which patients a result belongs to (:func:`owners_of`);
- the criteria of a treatment, read from the knowledge graph through the named query
  ``queries/criteria-for-treatment.rq`` and ordered by the kind's rank stated in the data
  (``npc:ordinal`` of ``npc:Indication`` and ``npc:Contraindication``), then the criterion's
  ``npc:ordinal``, then its IRI (:func:`criteria_for`);
- which finding records are behind a criterion's status (:func:`records_behind`);
- turning *hits* into rows. Every evaluator (compiled closures, compiled SPARQL, pySHACL)
  returns hits: ``(shape, focus node, owners)``, where ``shape`` is a result-producing shape of
  the plan (its severity, criterion, ``sh:name``, ``sh:message`` and ``npc:missingDataItem``
  values) and ``owners`` the patients the result belongs to. :func:`rows_of` makes cohort rows
  of them, :func:`outcomes_of` the per-criterion outcomes ``npc_kg.assess`` explains.
"""

from __future__ import annotations

import re
import threading
import weakref
from collections.abc import Callable, Collection, Container, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from rdflib import Graph, URIRef

from npc_kg.errors import InputError
from npc_kg.namespace import NPC, PREFIXES, SH

__all__ = [
    "ELIGIBLE",
    "ERROR",
    "INDETERMINATE",
    "INELIGIBLE",
    "NOT_IMPLEMENTED",
    "OUT_OF_SCOPE",
    "PRODUCING_SEVERITY",
    "ROW_VERDICTS",
    "SATISFIED",
    "SEVERITY_RANKS",
    "STATUSES",
    "STATUS_BY_RANK",
    "STATUS_TERMS",
    "UNKNOWN",
    "VERDICTS",
    "VERDICT_BY_RANK",
    "VERDICT_TERMS",
    "VIOLATED",
    "Criterion",
    "Hit",
    "Outcome",
    "PatientRow",
    "ResultShape",
    "criteria_for",
    "error_reason",
    "missing_of",
    "order_patients",
    "outcomes_of",
    "owners_of",
    "records_behind",
    "resolve_treatment",
    "rows_of",
    "status_of",
    "tally",
    "verdict_of",
]

# ---------------------------------------------------------------------------------------------
# Statuses, verdicts, severities
# ---------------------------------------------------------------------------------------------

SATISFIED, VIOLATED, UNKNOWN = "satisfied", "violated", "unknown"
STATUSES = (SATISFIED, VIOLATED, UNKNOWN)
"""The three values of a criterion for a patient."""

ELIGIBLE, INELIGIBLE, INDETERMINATE = "eligible", "ineligible", "indeterminate"
OUT_OF_SCOPE = "out-of-scope"
"""The input shows that the treatment's disease is not recorded for the patient: no verdict on eligibility."""
ERROR = "error"
"""A cohort record that could not be read or breaks the patient model."""
VERDICTS = (ELIGIBLE, INELIGIBLE, INDETERMINATE, OUT_OF_SCOPE)
"""The outcomes of an assessment."""
ROW_VERDICTS = (*VERDICTS, ERROR)
"""The values of a cohort row's ``verdict`` column."""

STATUS_TERMS: Mapping[str, URIRef] = {SATISFIED: NPC.Satisfied, VIOLATED: NPC.Violated, UNKNOWN: NPC.Unknown}
VERDICT_TERMS: Mapping[str, URIRef] = {
    ELIGIBLE: NPC.Eligible, INELIGIBLE: NPC.Ineligible, INDETERMINATE: NPC.Indeterminate, OUT_OF_SCOPE: NPC.OutOfScope,
}

SEVERITY_RANKS: Mapping[str, int] = {str(SH.Violation): 2, str(SH.Warning): 1}
"""The rank of a result's severity: ``sh:Violation`` 2, ``sh:Warning`` 1, any other 0 (no effect)."""
STATUS_BY_RANK = (SATISFIED, UNKNOWN, VIOLATED)
"""The status of a criterion whose worst result has this rank."""
VERDICT_BY_RANK = (ELIGIBLE, INDETERMINATE, INELIGIBLE)
"""The verdict of a patient whose worst criterion has this rank."""
_STATUS_RANKS = {status: rank for rank, status in enumerate(STATUS_BY_RANK)}
PRODUCING_SEVERITY: Mapping[str, str] = {VIOLATED: str(SH.Violation), UNKNOWN: str(SH.Warning), SATISFIED: str(SH.Info)}
"""The severity of the results that explain a status (their messages are the row's message)."""
NOT_IMPLEMENTED = "No eligibility shape implements this criterion, so it cannot be assessed."
_DEFAULT_MESSAGES: Mapping[str, str] = {
    str(NPC.Contraindication): "Not present: the recorded findings rule this contraindication out.",
}
_DEFAULT_MESSAGE = "Met: the recorded findings satisfy this indication."


def status_of(severities: Iterable[str], implemented: bool = True) -> str:
    """The status of a criterion from the severities of its shapes' results for one patient."""
    rank = max((SEVERITY_RANKS.get(str(s), 0) for s in severities), default=0)
    if rank == 0 and not implemented:
        rank = 1
    return STATUS_BY_RANK[rank]


def verdict_of(statuses: Iterable[str] | Mapping[str, str]) -> str:
    """The verdict of a patient from its criterion statuses (a mapping's values, or the statuses)."""
    values = statuses.values() if isinstance(statuses, Mapping) else statuses
    return VERDICT_BY_RANK[max((_STATUS_RANKS[s] for s in values), default=0)]


# ---------------------------------------------------------------------------------------------
# Who a result belongs to
# ---------------------------------------------------------------------------------------------

T = TypeVar("T")


def owners_of(focus: T, patients: Container[T], finding_owners: Iterable[T]) -> list[T]:
    """The patients a result on ``focus`` belongs to: ``focus`` itself if it is a patient, and every
    patient that has it as a finding record (``finding_owners``: the subjects of ``npc:hasFinding``
    with ``focus`` as object)."""
    owners = [focus] if focus in patients else []
    for owner in finding_owners:
        if owner in patients:
            owners.append(owner)
    return owners


# ---------------------------------------------------------------------------------------------
# Criteria of a treatment
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Criterion:
    """A criterion as the knowledge graph states it."""

    iri: str
    name: str
    """The column name in cohort outputs: the IRI's local name."""
    label: str
    kind: str
    """The label of its kind (``indication``, ``contraindication``)."""
    ordinal: int
    kind_iri: str = ""
    kind_rank: int = 0
    """The kind's ``npc:ordinal``: kinds are listed in this order."""
    source: str = ""
    quote: str = ""
    findings: tuple[str, ...] = ()
    """The finding classes it concerns (``npc:concernsFinding``)."""


def resolve_treatment(treatment: str | URIRef, prefixes: Mapping[str, str] | None = None) -> URIRef:
    """Return the IRI of ``treatment``: an IRI (bare or in ``<>``), or a CURIE.

    A CURIE's prefix is one of the package's, one of ``prefixes`` (the loaded packs' own, see
    :func:`npc_kg.kg.packs.pack_prefixes`), or any spelling the prefix map accepts
    (:func:`npc_kg.kg.prefixes.expand_term`, which suggests the closest for an unknown prefix).
    """
    if isinstance(treatment, URIRef):
        return treatment
    text = str(treatment).strip()
    prefix, sep, local = text.partition(":")
    if sep and not local.startswith("//"):
        base = PREFIXES.get(prefix) or (prefixes or {}).get(prefix)
        if base:
            return URIRef(base + local)
    if re.match(r"^[a-z][a-z0-9+.-]*://", text, re.IGNORECASE):  # any hierarchical IRI, as it is
        return URIRef(text)
    from npc_kg.kg.prefixes import expand_term

    try:
        return URIRef(expand_term(text))
    except InputError as error:
        raise InputError(f"treatment {text!r}: {error}") from None


_LOCK = threading.Lock()
_CONFIGURATION_CRITERIA: dict[tuple[tuple[str, ...], str], list[Criterion]] = {}
_GRAPH_CRITERIA: weakref.WeakKeyDictionary[Graph, dict[str, list[Criterion]]] = weakref.WeakKeyDictionary()


def criteria_for(treatment: str | URIRef, graph: Graph | None = None, *, packs: Iterable[Any] | None = None) -> list[Criterion]:
    """The criteria that govern ``treatment`` (or a broader treatment) in ``graph`` (default: the merged
    graph of the configuration of ``packs``; None: the active one, see :mod:`npc_kg.kg.packs`).

    Read through the named query ``criteria-for-treatment`` (on pyoxigraph for a configuration's
    graph, on rdflib for a graph the caller passes); cached per treatment and graph. Ordered by
    the kind's rank, then the criterion's ``npc:ordinal``, then IRI.
    """
    if graph is not None:
        target = str(resolve_treatment(treatment))
        with _LOCK:
            cache = _GRAPH_CRITERIA.setdefault(graph, {})
            found = cache.get(target)
            if found is None:
                found = cache[target] = _read_criteria(target, graph, None)
            return list(found)
    from npc_kg.kg.packs import pack_key, pack_prefixes, resolve_packs

    chosen = resolve_packs(packs)
    target = str(treatment) if isinstance(treatment, URIRef) else str(resolve_treatment(treatment, pack_prefixes(chosen)))
    key = (pack_key(chosen), target)
    with _LOCK:
        found = _CONFIGURATION_CRITERIA.get(key)
        if found is None:
            found = _CONFIGURATION_CRITERIA[key] = _read_criteria(target, None, chosen)
        return list(found)


def _read_criteria(treatment: str, graph: Graph | None, packs: Any) -> list[Criterion]:
    from npc_kg.kg.query import run_query

    backend: Any
    if graph is None:
        from npc_kg.sparql.backends.oxigraph_backend import OxigraphBackend

        backend = OxigraphBackend(packs=packs)
    else:
        from npc_kg.sparql.backends.rdflib_backend import RdflibBackend

        backend = RdflibBackend(graph)
    rows = run_query("criteria-for-treatment", backend=backend, params={"treatment": treatment}).rows
    found: dict[str, dict[str, Any]] = {}
    for row in rows:
        item = found.setdefault(row["criterion"], {"quotes": set(), "findings": set()})
        for key in ("label", "kind", "kindLabel", "kindOrdinal", "ordinal", "source"):
            if item.get(key) is None and row.get(key) is not None:
                item[key] = row[key]
        if row.get("quote") is not None:
            item["quotes"].add(str(row["quote"]))
        if row.get("finding") is not None:
            item["findings"].add(str(row["finding"]))
    criteria = []
    for iri, item in found.items():
        kind_rank = item.get("kindOrdinal")
        ordinal = item.get("ordinal")
        criteria.append(Criterion(
            iri=iri,
            name=iri.rstrip("/").rsplit("/", 1)[-1].rsplit("#", 1)[-1],
            label=str(item.get("label") or iri),
            kind=str(item.get("kindLabel") or ""),
            ordinal=ordinal if isinstance(ordinal, int) else 0,
            kind_iri=str(item.get("kind") or ""),
            kind_rank=kind_rank if isinstance(kind_rank, int) else 1 << 30,
            source=str(item.get("source") or ""),
            quote=min(item["quotes"], default=""),
            findings=tuple(sorted(item["findings"])),
        ))
    return sorted(criteria, key=lambda c: (c.kind_rank, c.ordinal, c.iri))


# ---------------------------------------------------------------------------------------------
# Hits into rows
# ---------------------------------------------------------------------------------------------


class ResultShape(Protocol):
    """What the rules need of a result-producing shape (a unit of :class:`npc_kg.shacl.plan.Plan`)."""

    @property
    def shape(self) -> str: ...  # pragma: no cover

    @property
    def severity(self) -> str: ...  # pragma: no cover

    @property
    def criterion(self) -> str | None: ...  # pragma: no cover

    @property
    def name(self) -> str: ...  # pragma: no cover

    @property
    def messages(self) -> tuple[str, ...]: ...  # pragma: no cover

    @property
    def missing(self) -> tuple[str, ...]: ...  # pragma: no cover


Hit = tuple[Any, Any, Sequence[Any]]
"""``(shape, focus node, owners)``: ``shape`` (a :class:`ResultShape`) reports at least one result
on ``focus``, which belongs to the patients ``owners`` (see :func:`owners_of`)."""


@dataclass
class PatientRow:
    """One output row: the patient, its verdict, one status per criterion, and an error reason."""

    patient: str
    verdict: str
    statuses: dict[str, str] = field(default_factory=dict)
    error: str = ""
    source_id: str = ""
    """The patient's id in the source system (registry id, FHIR Patient id); empty if unknown."""


def tally(hits: Iterable[Hit]) -> tuple[dict[Any, set[str]], dict[Any, dict[str, int]]]:
    """Per patient: the ``sh:name`` of the patient-model shapes that report (shapes without
    ``npc:criterion``), and per criterion the worst severity rank of its shapes' results."""
    errors: dict[Any, set[str]] = {}
    ranks: dict[Any, dict[str, int]] = {}
    for unit, _focus, owners in hits:
        criterion = unit.criterion
        if criterion is None:
            for patient in owners:
                errors.setdefault(patient, set()).add(unit.name)
            continue
        rank = SEVERITY_RANKS.get(unit.severity, 0)
        if rank == 0:
            continue  # sh:Info (or another severity) never changes a status
        for patient in owners:
            found = ranks.get(patient)
            if found is None:
                found = ranks[patient] = {}
            if found.get(criterion, 0) < rank:
                found[criterion] = rank
    return errors, ranks


def order_patients(patients: Collection[Any], order: Iterable[Any] = ()) -> list[Any]:
    """Rows come in ``order`` (input order) first, then the other patients in IRI order."""
    ordered = [p for p in dict.fromkeys(order) if p in patients]
    if len(ordered) < len(patients):
        seen = set(ordered)
        ordered += sorted((p for p in patients if p not in seen), key=str)
    return ordered


def error_reason(names: Iterable[str]) -> str:
    """The error reason of a row whose patient breaks the patient model: the fields, never a value."""
    return "breaks the patient model: " + ", ".join(sorted(set(names)))


def rows_of(patients: Collection[Any], hits: Iterable[Hit], criteria: Sequence[Criterion],
            implemented: Container[str], order: Iterable[Any] = ()) -> list[PatientRow]:
    """One row per patient (see :func:`order_patients`): an error row if a patient-model shape
    reports on it, else its verdict and one status per criterion."""
    errors, ranks = tally(hits)
    columns = [(c.iri, c.iri in implemented) for c in criteria]
    nothing: dict[str, int] = {}
    rows = []
    for patient in order_patients(patients, order):
        if patient in errors:
            rows.append(PatientRow(str(patient), ERROR, {}, error_reason(errors[patient])))
            continue
        found = ranks.get(patient, nothing)
        statuses = {}
        worst = 0
        for iri, is_implemented in columns:
            rank = found.get(iri, 0)
            if rank == 0 and not is_implemented:
                rank = 1
            statuses[iri] = STATUS_BY_RANK[rank]
            if rank > worst:
                worst = rank
        rows.append(PatientRow(str(patient), VERDICT_BY_RANK[worst], statuses))
    return rows


@dataclass(frozen=True)
class Outcome:
    """The outcome of one criterion for one patient, with what explains it."""

    criterion: Criterion
    status: str
    message: str
    missing: tuple[str, ...]
    """``npc:missingDataItem`` of the shapes that reported missing data (warnings), sorted."""
    produced_by: tuple[Hit, ...]
    """The hits whose severity gives the status (none when satisfied)."""


def outcomes_of(criteria: Sequence[Criterion], implemented: Container[str], hits: Iterable[Hit]) -> list[Outcome]:
    """The outcome of every criterion for one patient, from the hits that belong to that patient."""
    by_criterion: dict[str, list[Hit]] = {}
    for hit in hits:
        if hit[0].criterion is not None:
            by_criterion.setdefault(hit[0].criterion, []).append(hit)
    outcomes = []
    for criterion in criteria:
        found = by_criterion.get(criterion.iri, [])
        is_implemented = criterion.iri in implemented
        status = status_of((unit.severity for unit, _f, _o in found), is_implemented)
        wanted = PRODUCING_SEVERITY[status]
        producing = tuple(hit for hit in found if hit[0].severity == wanted)
        if not is_implemented:
            message = NOT_IMPLEMENTED
        else:
            messages = sorted({m for unit, _f, _o in producing for m in unit.messages})
            message = " ".join(messages) if messages else _DEFAULT_MESSAGES.get(criterion.kind_iri, _DEFAULT_MESSAGE)
        warning = str(SH.Warning)
        missing = tuple(sorted({item for unit, _f, _o in found if unit.severity == warning for item in unit.missing}))
        outcomes.append(Outcome(criterion, status, message, missing, producing if status != SATISFIED else ()))
    return outcomes


def records_behind(status: str, records: Sequence[T], present: Callable[[T], bool]) -> list[T]:
    """The finding records behind a criterion's status, of the records of the findings it concerns.

    For a violated criterion, the records recorded present (what triggered it) when there are
    any; otherwise, and for satisfied and unknown criteria, every record of its findings
    (``present(record)`` says whether a record is recorded present).
    """
    if status == VIOLATED:
        triggering = [record for record in records if present(record)]
        if triggering:
            return triggering
    return list(records)


def missing_of(outcomes: Iterable[Outcome]) -> list[str]:
    """The data items the criteria need that are not recorded: in criterion order, no duplicates."""
    items: list[str] = []
    for outcome in outcomes:
        items += [item for item in outcome.missing if item not in items]
    return items
