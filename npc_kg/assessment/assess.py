"""Three-valued eligibility assessment of patients: verdict, criteria, missing data, evidence.

The shapes (``shapes/patient.ttl``: the patient model; ``shapes/eligibility/*.ttl``: the
criteria) are evaluated by the evaluators of :mod:`npc_kg.shacl.engines` (compiled closures by
default; pySHACL, the reference, words patient-model errors and links rows to SHACL results).
Their hits become statuses, messages and missing items by the rules of
:mod:`npc_kg.core.rules`; the criteria, with labels, kinds, sources and quotes, come from the
knowledge base through the named query ``criteria-for-treatment``. Prognosis, evidence figures and
statements come from the named queries ``queries/patient-*.rq`` (:mod:`npc_kg.assessment.explain`).
The code is generic: it knows no criterion, finding or threshold. Nothing is written to disk and
nothing goes over the network.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from rdflib import RDF, RDFS, BNode, Graph, Literal, URIRef
from rdflib.term import Node

from npc_kg.assessment.explain import Explainer
from npc_kg.assessment.provenance import Provenance
from npc_kg.assessment.provenance import current as _provenance
from npc_kg.core.rules import STATUS_TERMS, STATUSES, VERDICT_TERMS, Hit, missing_of, outcomes_of, rows_of, verdict_of
from npc_kg.errors import InputError, PatientModelError
from npc_kg.kg.load import load
from npc_kg.namespace import NPC, PREFIXES, RESULT, SH
from npc_kg.patient import PatientInput, check_findings, check_patients, data_errors, read_patient
from npc_kg.shacl.engines import Engines, package_engines
from npc_kg.shacl.values import node_key
from npc_kg.suggest import unknown

__all__ = [
    "ENGINES",
    "Assessment",
    "CriterionRow",
    "assess",
    "assess_graph",
    "assess_many",
    "reference_statuses",
]


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
        graph.add((node, NPC.verdict, VERDICT_TERMS[self.verdict]))
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
            graph.add((row_node, NPC.criterionStatus, STATUS_TERMS[row.status]))
            graph.add((row_node, NPC.message, Literal(row.message)))
            for result in row.produced_by:
                graph.add((row_node, NPC.producedBy, result))
                graph.add((report_node, SH.result, result))
                for triple in self.report.cbd(result):
                    graph.add(triple)
        (self.provenance or _provenance(self.treatment, "unspecified")).add_to(graph, node)
        return graph


# ---------------------------------------------------------------------------------------------
# Public entry points
# ---------------------------------------------------------------------------------------------


ENGINES = ("local", "reference")


def _label(iri: Any) -> str | None:
    """The knowledge graph's rdfs:label of ``iri`` (None if it has none)."""
    label = load().value(URIRef(str(iri)), RDFS.label) if iri else None
    return str(label) if label is not None else None


def _by_owner(hits: Iterable[Hit]) -> dict[Any, list[Hit]]:
    grouped: dict[Any, list[Hit]] = {}
    for hit in hits:
        for owner in hit[2]:
            grouped.setdefault(owner, []).append(hit)
    return grouped


def assess_graph(graph: Graph, treatment: str | URIRef | None = None, *, where: str = "<graph>",
                 engine: str = "local", engines: Engines | None = None) -> list[Assessment]:
    """Assess every ``npc:Patient`` of ``graph``; ``where`` names the input in error messages.

    ``treatment`` defaults to the one whose criteria the shapes implement. ``engine="local"``
    (the default) evaluates the shapes with the compiled evaluators and runs pySHACL only to
    word patient-model errors; ``engine="reference"`` always runs pySHACL. Both give the same
    rows; only the reference fills ``report`` and ``produced_by`` at once
    (:meth:`Assessment.explained`). ``engines`` default to the package's shapes and knowledge base.
    """
    if engine not in ENGINES:
        raise InputError(unknown("engine", engine, ENGINES))
    engines = engines or package_engines()
    target = engines.treatment(treatment)
    criteria = engines.criteria(target)
    if not criteria:
        raise InputError(f"no eligibility criteria in the knowledge base apply to treatment <{target}>")
    patients = check_patients(graph, where)
    check_findings(graph, patients, where)
    hits: list[Hit] | None = None
    if engine == "local":
        _patients, hits = engines.graph_hits(graph, "closures")
        if any(unit.criterion is None for unit, _focus, _owners in hits):
            hits = None  # the reference words patient-model errors
    report: Graph = Graph()
    source: Graph | None = graph
    results: dict[tuple[str, Any], list[Node]] = {}
    if hits is None:
        run = engines.reference.validate(graph)
        errors = data_errors(run, graph, engines.shapes)
        if errors:
            raise PatientModelError(f"{where}: the patient data breaks the patient model ({len(errors)} error(s))",
                                    [f"{where}: {line}" for line in errors])
        _patients, hits, results = engines.reference.hits(run, graph)
        report, source = run.report, None
    by_patient = _by_owner(hits)
    explainer = Explainer(graph, patients)
    assessments = []
    for patient in patients:
        outcomes = outcomes_of(criteria, engines.plan.implemented, by_patient.get(node_key(patient), []))
        rows = tuple(
            CriterionRow(
                criterion=o.criterion.iri,
                label=o.criterion.label,
                kind=o.criterion.kind,
                status=o.status,
                message=o.message,
                source=o.criterion.source,
                quote=o.criterion.quote,
                produced_by=tuple(node for unit, focus, _o in o.produced_by for node in results.get((unit.shape, focus), ())),
            )
            for o in outcomes
        )
        prognosis, evidence = explainer.explain(patient, _label)
        assessments.append(
            Assessment(
                patient=str(patient),
                treatment=str(target),
                verdict=verdict_of(o.status for o in outcomes),
                criteria=rows,
                missing=tuple(missing_of(outcomes)),
                prognosis=tuple(prognosis),
                evidence=tuple(evidence),
                report=report,
                _source=source,
                provenance=_provenance(str(target), "local" if source is not None else "reference"),
            )
        )
    return assessments


def reference_statuses(
    data_graph: Graph, treatment: str | URIRef | None = None, *, strict: bool = True
) -> dict[str, dict[str, str]]:
    """Assess every patient of ``data_graph`` with ONE pySHACL run (the reference engine).

    Returns ``{patient_iri: {"verdict": verdict, criterion_iri: status, ...}}``. With
    ``strict`` (the default) patient-model errors raise :class:`PatientModelError`; otherwise
    they are ignored and the statuses are reported as the shapes see the data.
    """
    engines = package_engines()
    criteria = engines.criteria(treatment)
    run = engines.reference.validate(data_graph)
    if strict:
        errors = data_errors(run, data_graph, engines.shapes)
        if errors:
            raise PatientModelError(f"{len(errors)} patient-model error(s)", errors)
    patients, hits, _results = engines.reference.hits(run, data_graph)
    hits = [hit for hit in hits if hit[0].criterion is not None]
    return {row.patient: {"verdict": row.verdict, **row.statuses}
            for row in rows_of(patients, hits, criteria, engines.plan.implemented)}


def assess(patient: PatientInput, treatment: str | URIRef | None = None, *, engine: str = "local") -> list[Assessment]:
    """Assess ``patient`` for ``treatment`` (default: the treatment whose criteria the shapes implement);
    one result per ``npc:Patient``.

    ``patient`` is an rdflib Graph, a path (format from the extension), Turtle or JSON-LD text,
    or a plain dict (see :func:`npc_kg.patient.patient_from_dict`). ``engine`` is ``local`` (the
    default: compiled shapes, pySHACL only when needed) or ``reference`` (pySHACL); both give the
    same rows (see :func:`assess_graph`). Raises :class:`~npc_kg.errors.InputError` for
    unreadable input and :class:`~npc_kg.errors.PatientModelError` for data that breaks the
    patient model.
    """
    graph, where = read_patient(patient)
    return assess_graph(graph, treatment, where=where, engine=engine)


def assess_many(sources: Iterable[PatientInput], treatment: str | URIRef | None = None, *,
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
