"""Three-valued eligibility assessment of patients: verdict, criteria, missing data, evidence.

One pySHACL run validates the patient graph against ``shapes/patient.ttl`` (data errors) and
``shapes/eligibility/*.ttl`` (criteria). The code is generic: it knows no criterion, finding or
threshold. A criterion's status comes from the severities of its shapes' results (any
``sh:Violation`` -> violated; else any ``sh:Warning`` -> unknown; else satisfied); a criterion
no shape implements is unknown. The verdict is ineligible if any criterion is violated, else
indeterminate if any is unknown, else eligible. Labels, kinds, sources and quotes are read
from the knowledge base; prognosis, evidence figures and statements come from the named
queries ``queries/patient-*.rq`` run with ``initBindings`` over the knowledge graph plus the
patient graph. Nothing is written to disk and nothing goes over the network.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol

import pyoxigraph as ox
from rdflib import RDF, RDFS, BNode, Graph, Literal, URIRef
from rdflib.namespace import PROV
from rdflib.term import Node

from npc_kg.assessment.provenance import Provenance
from npc_kg.assessment.provenance import current as _provenance
from npc_kg.errors import InputError, PatientModelError, QueryError
from npc_kg.kg.load import kg_ntriples, load
from npc_kg.namespace import NPC, OA, PREFIXES, RESULT, SH
from npc_kg.patient import PatientInput, check_patients, data_errors, read_patient
from npc_kg.resources import data_path
from npc_kg.shacl.reference import ShaclResult, ValidationRun, validate
from npc_kg.shacl.shapes import shapes_graph
from npc_kg.sparql.terms import from_oxigraph, inject_values

__all__ = [
    "ENGINES",
    "STATUSES",
    "VERDICTS",
    "Assessment",
    "CriterionRow",
    "assess",
    "assess_graph",
    "assess_many",
    "criteria_for",
    "reference_statuses",
    "resolve_treatment",
]

STATUSES = ("satisfied", "violated", "unknown")
VERDICTS = ("eligible", "ineligible", "indeterminate")
_STATUS_TERMS = {"satisfied": NPC.Satisfied, "violated": NPC.Violated, "unknown": NPC.Unknown}
_VERDICT_TERMS = {"eligible": NPC.Eligible, "ineligible": NPC.Ineligible, "indeterminate": NPC.Indeterminate}
_LIST_VARIABLES = {"analysis": "analyses", "textIssue": "text_issues", "condition": "conditions"}
"""Multi-valued query columns and the JSON key of their list."""

_LOCK = threading.Lock()
_QUERIES: dict[str, str] = {}


# ---------------------------------------------------------------------------------------------
# Result types
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CriterionRow:
    """The status of one criterion for one patient, with its explanation and source."""

    criterion: str
    label: str
    kind: str
    status: str
    message: str
    source: str
    quote: str
    produced_by: tuple[Node, ...] = field(default=(), repr=False, compare=False)

    def to_dict(self) -> dict[str, str]:
        """Return the row in the JSON layout of ``docs/assessment-json.md``."""
        return {
            "criterion": self.criterion,
            "label": self.label,
            "kind": self.kind,
            "status": self.status,
            "message": self.message,
            "source": self.source,
            "quote": self.quote,
        }


@dataclass(frozen=True)
class Assessment:
    """The assessment of one patient for one treatment."""

    patient: str
    treatment: str
    verdict: str
    criteria: tuple[CriterionRow, ...]
    missing: tuple[str, ...]
    prognosis: tuple[dict[str, Any], ...]
    evidence: tuple[dict[str, Any], ...]
    report: Graph = field(default_factory=Graph, repr=False, compare=False)
    """The pySHACL report behind the rows; empty for the local engine until :meth:`explained` runs."""
    _source: Graph | None = field(default=None, repr=False, compare=False)
    """The patient graph, kept by the local engine so :meth:`explained` can run the reference."""
    provenance: Provenance | None = field(default=None, repr=False, compare=False)
    """KB version, treatment, engine and time of the assessment (``npc_kg.assessment.provenance``)."""

    def __repr__(self) -> str:
        counts = ", ".join(f"{s} {sum(r.status == s for r in self.criteria)}" for s in STATUSES)
        return (f"<Assessment patient={self.patient!r} treatment={self.treatment!r} verdict={self.verdict!r} "
                f"criteria: {counts}; missing {len(self.missing)}; evidence {len(self.evidence)}>")

    def _repr_html_(self) -> str:
        """The HTML report's fragment of this assessment (notebook display)."""
        from npc_kg.assessment.html import fragment

        return fragment(self)

    def explained(self) -> Assessment:
        """This assessment with its SHACL results (``report``, ``produced_by``), from the pySHACL reference.

        The local engine (the default) computes the same statuses, messages and missing items
        without SHACL result nodes; the first call runs pySHACL on the patient graph (once).
        """
        if self._source is None:
            return self
        done = self.__dict__.get("_explained")
        if done is None:
            by_patient = {a.patient: a for a in assess_graph(self._source, self.treatment, engine="reference")}
            done = by_patient[self.patient]
            object.__setattr__(self, "_explained", done)  # a cache on a frozen dataclass
        return done

    @property
    def iri(self) -> URIRef:
        """Deterministic IRI of this assessment (under the ``RESULT`` namespace)."""
        digest = hashlib.sha256(f"{self.patient}\n{self.treatment}".encode()).hexdigest()[:20]
        return RESULT[f"assessment-{digest}"]

    def to_dict(self) -> dict[str, Any]:
        """Return the assessment in the JSON layout of ``docs/assessment-json.md``."""
        return {
            "patient": self.patient,
            "treatment": self.treatment,
            "verdict": self.verdict,
            "criteria": [row.to_dict() for row in self.criteria],
            "missing": list(self.missing),
            "prognosis": [dict(item) for item in self.prognosis],
            "evidence": [dict(item) for item in self.evidence],
            "provenance": (self.provenance or _provenance(self.treatment, "unspecified")).to_dict(),
        }

    def to_json(self, *, indent: int | None = 2) -> str:
        """Return :meth:`to_dict` as JSON text."""
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False)

    def to_rdf(self) -> Graph:
        """Return the assessment as RDF, rows linked to the SHACL results that produced them (see :meth:`explained`)."""
        if self._source is not None:
            return dataclasses.replace(self.explained(), provenance=self.provenance).to_rdf()
        graph = Graph()
        for prefix, iri in PREFIXES.items():
            graph.bind(prefix, iri)
        graph.bind("result", str(RESULT))
        node = self.iri
        graph.add((node, RDF.type, NPC.Assessment))
        graph.add((node, NPC.assessedPatient, URIRef(self.patient)))
        graph.add((node, NPC.assessedTreatment, URIRef(self.treatment)))
        graph.add((node, NPC.verdict, _VERDICT_TERMS[self.verdict]))
        report_node = BNode()
        produced = [result for row in self.criteria for result in row.produced_by]
        if produced:
            graph.add((report_node, RDF.type, SH.ValidationReport))
            graph.add((report_node, SH.conforms, Literal(False)))
        for row in self.criteria:
            row_node = URIRef(f"{node}/{row.criterion.rstrip('/').rsplit('/', 1)[-1]}")
            graph.add((node, NPC.criterionResult, row_node))
            graph.add((row_node, RDF.type, NPC.CriterionResult))
            graph.add((row_node, NPC.criterion, URIRef(row.criterion)))
            graph.add((row_node, NPC.criterionStatus, _STATUS_TERMS[row.status]))
            graph.add((row_node, NPC.message, Literal(row.message)))
            for result in row.produced_by:
                graph.add((row_node, NPC.producedBy, result))
                graph.add((report_node, SH.result, result))
                for triple in self.report.cbd(result):
                    graph.add(triple)
        (self.provenance or _provenance(self.treatment, "unspecified")).add_to(graph, node)
        return graph


# ---------------------------------------------------------------------------------------------
# Criteria and treatments (from the knowledge base)
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Criterion:
    iri: URIRef
    label: str
    kind: str
    ordinal: int
    source: str
    quote: str


def resolve_treatment(treatment: str | URIRef) -> URIRef:
    """Return the IRI of ``treatment``, given as an IRI or a CURIE such as ``npc:SalvageSurgery``."""
    if isinstance(treatment, URIRef):
        return treatment
    text = str(treatment).strip()
    prefix, sep, local = text.partition(":")
    if sep and prefix in PREFIXES and not local.startswith("//"):
        return URIRef(PREFIXES[prefix] + local)
    if re.match(r"^[a-z][a-z0-9+.-]*://", text, re.IGNORECASE):
        return URIRef(text)
    raise InputError(f"treatment {text!r} is not an IRI or a known CURIE (prefixes: {', '.join(sorted(PREFIXES))})")


def _superclasses(kg: Graph, cls: URIRef) -> set[Node]:
    return {node for node in kg.transitive_objects(cls, RDFS.subClassOf) if node is not None}


def criteria_for(treatment: str | URIRef = NPC.SalvageSurgery) -> list[_Criterion]:
    """Return the criteria that govern ``treatment`` (or a broader treatment): indications first, by ordinal."""
    kg = load()
    target = resolve_treatment(treatment)
    broader = _superclasses(kg, target)
    found = []
    for criterion in set(kg.subjects(RDF.type, NPC.EligibilityCriterion)):
        if not isinstance(criterion, URIRef) or not broader & set(kg.objects(criterion, NPC.appliesToTreatment)):
            continue
        kind_node = kg.value(criterion, NPC.criterionKind)
        ordinal = kg.value(criterion, NPC.ordinal)
        quote = next(
            (str(q) for d in kg.objects(criterion, PROV.wasDerivedFrom) for s in kg.objects(d, OA.hasSelector)
             for q in kg.objects(s, OA.exact)),
            "",
        )
        found.append(
            _Criterion(
                iri=criterion,
                label=str(kg.value(criterion, RDFS.label) or criterion),
                kind=str(kg.value(kind_node, RDFS.label) or "") if kind_node is not None else "",
                ordinal=int(ordinal.toPython()) if isinstance(ordinal, Literal) else 0,
                source=str(kg.value(criterion, NPC.reportedIn) or ""),
                quote=quote,
            )
        )
    kinds = {"indication": 0, "contraindication": 1}
    return sorted(found, key=lambda c: (kinds.get(c.kind, 2), c.ordinal, str(c.iri)))


# ---------------------------------------------------------------------------------------------
# Statuses from one validation run
# ---------------------------------------------------------------------------------------------


class _Explanation(Protocol):
    """What a row's status, message and missing items need of a SHACL result."""

    @property
    def severity(self) -> URIRef: ...  # pragma: no cover

    @property
    def message(self) -> str | None: ...  # pragma: no cover

    @property
    def source_shape(self) -> Node: ...  # pragma: no cover


@dataclass(frozen=True)
class _EngineResult:
    """A result of the local engine: a shape that reports on a patient's focus node (no result node)."""

    severity: URIRef
    message: str | None
    source_shape: Node
    missing_items: tuple[str, ...]
    """The shape's ``npc:missingDataItem`` values (a pySHACL result has them looked up in the shapes)."""


Grouped = dict[Node, dict[URIRef, list[Any]]]


def _local_results(graph: Graph, patients: Sequence[Node]) -> tuple[Grouped, set[Node]] | None:
    """Per patient and criterion, the results of the local engine; and the implemented criteria.

    The local engine finds which result-producing shapes report on which focus nodes (the same
    answers as pySHACL: ``tests/cohort``); a criterion shape's ``sh:message`` is the message of
    each of its results, and its ``npc:missingDataItem`` values are read from the engine's
    cached notes, so the shapes graph is not loaded. ``None`` (use pySHACL) if the data breaks
    the patient model (the reference words those errors), if a criterion shape has no IRI or
    several messages, if a finding record has several patients, or if the engine cannot
    evaluate the data.
    """
    from npc_kg.shacl.closures import Unsupported, default_engine, rdflib_triples

    try:
        engine = default_engine()
        _found, hits = engine.patient_hits(engine.index(rdflib_triples(graph)))
    except Unsupported:
        return None
    implemented: set[Node] = {URIRef(iri) for iri in engine.implemented}
    by_iri = {str(p): p for p in patients}
    grouped: Grouped = {p: {} for p in patients}
    for unit, owners in hits:
        if unit.criterion is None or unit.shape not in engine.notes:
            return None
        messages, missing = engine.notes[unit.shape]
        if len(owners) > 1 or len(messages) > 1 or not set(owners) <= by_iri.keys():
            return None
        for owner in owners:
            result = _EngineResult(URIRef(unit.severity), messages[0] if messages else None, URIRef(unit.shape), missing)
            grouped[by_iri[owner]].setdefault(URIRef(unit.criterion), []).append(result)
    return grouped, implemented


def _owner(focus: Node, data: Graph, patients: set[Node]) -> Node | None:
    if focus in patients:
        return focus
    return next((p for p in data.subjects(NPC.hasFinding, focus) if p in patients), None)


def _results_by_patient(run: ValidationRun, data: Graph, patients: Iterable[Node]) -> Grouped:
    shapes = shapes_graph()
    wanted = set(patients)
    grouped: Grouped = {p: {} for p in wanted}
    for result in run.results:
        criterion = shapes.value(result.source_shape, NPC.criterion)
        if not isinstance(criterion, URIRef):
            continue
        owner = _owner(result.focus, data, wanted)
        if owner is not None:
            grouped[owner].setdefault(criterion, []).append(result)
    return grouped


def _status(results: Sequence[_Explanation], implemented: bool) -> str:
    severities = {r.severity for r in results}
    if SH.Violation in severities:
        return "violated"
    if SH.Warning in severities or not implemented:
        return "unknown"
    return "satisfied"


def _verdict(statuses: Iterable[str]) -> str:
    seen = set(statuses)
    if "violated" in seen:
        return "ineligible"
    if "unknown" in seen:
        return "indeterminate"
    return "eligible"


def _implemented() -> set[Node]:
    return set(shapes_graph().objects(None, NPC.criterion))


def _message(criterion: _Criterion, status: str, results: Sequence[_Explanation], implemented: bool) -> str:
    if not implemented:
        return "No eligibility shape implements this criterion, so it cannot be assessed."
    wanted = {"violated": SH.Violation, "unknown": SH.Warning, "satisfied": SH.Info}[status]
    messages = sorted({r.message for r in results if r.severity == wanted and r.message})
    if messages:
        return " ".join(messages)
    if criterion.kind == "contraindication":
        return "Not present: the recorded findings rule this contraindication out."
    return "Met: the recorded findings satisfy this indication."


def _missing(per_criterion: Iterable[Sequence[_Explanation]]) -> list[str]:
    """``npc:missingDataItem`` of the shapes that reported missing data (warnings), by criterion.

    In criterion order, sorted within a criterion (SHACL does not order results), no duplicates.
    """
    items: list[str] = []
    for results in per_criterion:
        found = {item for r in results if r.severity == SH.Warning for item in _missing_items(r)}
        items += [item for item in sorted(found) if item not in items]
    return items


def _missing_items(result: _Explanation) -> tuple[str, ...]:
    if isinstance(result, _EngineResult):
        return result.missing_items
    return tuple(str(item) for item in shapes_graph().objects(result.source_shape, NPC.missingDataItem))


def reference_statuses(
    data_graph: Graph, treatment: str | URIRef = NPC.SalvageSurgery, *, strict: bool = True
) -> dict[str, dict[str, str]]:
    """Assess every patient of ``data_graph`` with ONE pySHACL run (the reference engine).

    Returns ``{patient_iri: {"verdict": verdict, criterion_iri: status, ...}}``. With
    ``strict`` (the default) patient-model errors raise :class:`PatientModelError`; otherwise
    they are ignored and the statuses are reported as the shapes see the data.
    """
    criteria = criteria_for(treatment)
    patients = [p for p in data_graph.subjects(RDF.type, NPC.Patient)]
    run = validate(data_graph)
    if strict:
        errors = data_errors(run, data_graph)
        if errors:
            raise PatientModelError(f"{len(errors)} patient-model error(s)", errors)
    grouped = _results_by_patient(run, data_graph, patients)
    implemented = _implemented()
    out: dict[str, dict[str, str]] = {}
    for patient in patients:
        statuses = {
            str(c.iri): _status(grouped[patient].get(c.iri, []), c.iri in implemented) for c in criteria
        }
        out[str(patient)] = {"verdict": _verdict(statuses.values()), **statuses}
    return out


# ---------------------------------------------------------------------------------------------
# Named queries: prognosis, evidence, statements
# ---------------------------------------------------------------------------------------------


_SERVICE = re.compile(r"\bSERVICE\b", re.IGNORECASE)


def _query(name: str) -> str:
    """The text of a named query of the package; one that names a SERVICE is refused (no network)."""
    with _LOCK:
        text = _QUERIES.get(name)
        if text is None:
            text = data_path("queries", f"{name}.rq").read_text(encoding="utf-8")
            if _SERVICE.search("\n".join(line.split("#", 1)[0] for line in text.splitlines())):
                raise QueryError(f"{name}.rq: SERVICE is not allowed while patient data is processed")
            _QUERIES[name] = text
        return text


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


def _json_value(node: Node | None) -> Any:
    if node is None:
        return None
    if isinstance(node, Literal):
        value = node.toPython()
        if isinstance(value, Decimal):
            return float(value)  # by datatype: an xsd:decimal is a JSON number with a fraction ("0.0" -> 0.0)
        if isinstance(value, bool | int | float | str):
            return value
        return str(node)
    return str(node)


def _rows(store: ox.Store, name: str, patient: Node) -> list[dict[str, Any]]:
    """Run a named query for ``patient`` and merge its rows into one dict per item.

    Rows are merged on the first projected variable (and ``basis``, when projected). The
    multi-valued columns (:data:`_LIST_VARIABLES`) become sorted lists under a plural key; every
    other variable becomes a key holding its first bound value (None if never bound). The
    patient is bound with an escaped ``VALUES`` block, as the query API binds parameters.
    """
    result = store.query(inject_values(_query(name), {"patient": patient}))
    if not isinstance(result, ox.QuerySolutions):
        raise QueryError(f"{name}.rq is not a SELECT query")
    variables = [v.value for v in result.variables]
    key_variables = [variables[0], *(["basis"] if "basis" in variables else [])]
    merged: dict[tuple[str, ...], dict[str, Any]] = {}
    for solution in result:
        values = {v: from_oxigraph(solution[v]) for v in variables}
        key = tuple(str(values[v]) for v in key_variables)
        row = merged.setdefault(key, {})
        for variable, node in values.items():
            if variable in _LIST_VARIABLES:
                items = row.setdefault(_LIST_VARIABLES[variable], [])
                if node is not None and str(node) not in items:
                    items.append(str(node))
                    items.sort()
            elif row.get(_snake(variable)) is None:
                row[_snake(variable)] = _json_value(node)
    return list(merged.values())


def _label(iri: Any) -> str | None:
    """The knowledge graph's rdfs:label of ``iri`` (None if it has none)."""
    label = load().value(URIRef(str(iri)), RDFS.label) if iri else None
    return str(label) if label is not None else None


def _union(patient_graph: Graph) -> ox.Store:
    """A private in-memory store holding the knowledge graph and the patient graph (queries never see files).

    The explanation queries run on pyoxigraph: the same rows as on rdflib (the cross-backend
    suite in ``tests/sparql`` checks every named query), in milliseconds instead of tenths of a
    second per patient.
    """
    store = ox.Store()
    store.bulk_load(kg_ntriples(), format=ox.RdfFormat.N_TRIPLES)
    store.bulk_load(patient_graph.serialize(format="nt", encoding="utf-8"), format=ox.RdfFormat.N_TRIPLES)
    return store


def _ordered(row: Mapping[str, Any], first: Sequence[str]) -> dict[str, Any]:
    keys = [k for k in first if k in row] + sorted(k for k in row if k not in first)
    return {k: row[k] for k in keys}


# ---------------------------------------------------------------------------------------------
# Public entry points
# ---------------------------------------------------------------------------------------------


ENGINES = ("local", "reference")


def assess_graph(graph: Graph, treatment: str | URIRef = NPC.SalvageSurgery, *, where: str = "<graph>",
                 engine: str = "local") -> list[Assessment]:
    """Assess every ``npc:Patient`` of ``graph``; ``where`` names the input in error messages.

    ``engine="local"`` (the default) evaluates the shapes with the compiled local engine and
    falls back to pySHACL wherever only the reference can explain (see :func:`_local_results`);
    ``engine="reference"`` always runs pySHACL. Both give the same rows; only the reference
    fills ``report`` and ``produced_by`` at once (:meth:`Assessment.explained`).
    """
    if engine not in ENGINES:
        raise InputError(f"unknown engine {engine!r} (use one of {', '.join(ENGINES)})")
    target = resolve_treatment(treatment)
    criteria = criteria_for(target)
    if not criteria:
        raise InputError(f"no eligibility criteria in the knowledge base apply to treatment <{target}>")
    patients = check_patients(graph, where)
    local = _local_results(graph, patients) if engine == "local" else None
    report: Graph = Graph()
    source: Graph | None = graph
    if local is not None:
        grouped, implemented = local
    else:
        run = validate(graph)
        errors = data_errors(run, graph)
        if errors:
            raise PatientModelError(f"{where}: the patient data breaks the patient model ({len(errors)} error(s))",
                                    [f"{where}: {line}" for line in errors])
        grouped, report, source = _results_by_patient(run, graph, patients), run.report, None
        implemented = _implemented()
    union = _union(graph)
    assessments = []
    for patient in patients:
        rows = []
        for criterion in criteria:
            results = grouped[patient].get(criterion.iri, [])
            is_implemented = criterion.iri in implemented
            status = _status(results, is_implemented)
            producing = SH.Violation if status == "violated" else SH.Warning if status == "unknown" else SH.Info
            rows.append(
                CriterionRow(
                    criterion=str(criterion.iri),
                    label=criterion.label,
                    kind=criterion.kind,
                    status=status,
                    message=_message(criterion, status, results, is_implemented),
                    source=criterion.source,
                    quote=criterion.quote,
                    produced_by=tuple(r.node for r in results
                                      if r.severity == producing and status != "satisfied" and isinstance(r, ShaclResult)),
                )
            )
        prognosis = [_ordered(r, ("association", "label", "basis")) for r in _rows(union, "patient-prognosis", patient)]
        figures = [
            _ordered({"type": "figure", **r, "population_label": _label(r.get("population"))}, ("type", "figure", "label"))
            for r in _rows(union, "patient-evidence", patient)
        ]
        statements = [
            _ordered({"type": "statement", **r}, ("type", "statement", "label"))
            for r in _rows(union, "patient-statements", patient)
        ]
        assessments.append(
            Assessment(
                patient=str(patient),
                treatment=str(target),
                verdict=_verdict(row.status for row in rows),
                criteria=tuple(rows),
                missing=tuple(_missing(grouped[patient].get(c.iri, []) for c in criteria)),
                prognosis=tuple(prognosis),
                evidence=tuple(figures + statements),
                report=report,
                _source=source,
                provenance=_provenance(str(target), "local" if local is not None else "reference"),
            )
        )
    return assessments


def assess(patient: PatientInput, treatment: str | URIRef = NPC.SalvageSurgery, *, engine: str = "local") -> list[Assessment]:
    """Assess ``patient`` for ``treatment`` (default ``npc:SalvageSurgery``); one result per ``npc:Patient``.

    ``patient`` is an rdflib Graph, a path (format from the extension), Turtle or JSON-LD text,
    or a plain dict (see :func:`npc_kg.patient.patient_from_dict`). ``engine`` is ``local`` (the
    default: compiled shapes, pySHACL only when needed) or ``reference`` (pySHACL); both give the
    same rows (see :func:`assess_graph`). Raises :class:`~npc_kg.errors.InputError` for
    unreadable input and :class:`~npc_kg.errors.PatientModelError` for data that breaks the
    patient model.
    """
    graph, where = read_patient(patient)
    return assess_graph(graph, treatment, where=where, engine=engine)


def assess_many(sources: Iterable[PatientInput], treatment: str | URIRef = NPC.SalvageSurgery, *,
                engine: str = "local") -> list[Assessment]:
    """Assess several inputs (e.g. files) into one combined list.

    Unreadable input raises :class:`~npc_kg.errors.InputError` at once; patient-model errors
    of all inputs are collected and raised together as one :class:`PatientModelError`.
    """
    assessments: list[Assessment] = []
    errors: list[str] = []
    for source in sources:
        try:
            assessments.extend(assess(source, treatment, engine=engine))
        except PatientModelError as error:
            errors.extend(error.errors or [str(error)])
    if errors:
        raise PatientModelError(f"patient data breaks the patient model ({len(errors)} error(s))", errors)
    return assessments
