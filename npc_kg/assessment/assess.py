"""Three-valued eligibility assessment of patients: verdict, criteria, missing data, evidence.

The shapes (``shapes/patient.ttl``: the patient model; each criteria pack's ``shapes/*.ttl``:
the criteria, ``docs/packs.md``) are evaluated by the evaluators of :mod:`npc_kg.shacl.engines`
(compiled closures by default; pySHACL, the reference, words patient-model errors and links rows
to SHACL results).
Their hits become statuses, messages and missing items by the rules of
:mod:`npc_kg.core.rules`; the criteria, with labels, kinds, sources and quotes, come from the
knowledge base through the named query ``criteria-for-treatment``. Prognosis, evidence figures and
statements come from the named queries ``queries/patient-*.rq`` (:mod:`npc_kg.assessment.explain`).

FHIR R4 input (a Bundle or one resource: a dict, JSON text or a ``.json`` file) is read by
:mod:`npc_kg.fhir` into a patient graph; the ``rdfs:subClassOf`` bridges of the mapping's
narrower codes are given to the evaluators as configuration (their class hierarchy), never as
data. A FHIR patient with no recorded disease of the treatment gets the core's fourth outcome,
:data:`~npc_kg.core.rules.OUT_OF_SCOPE`, with the reason: no criterion is assessed. Where the
finding records say which resources they were derived from (``prov:wasDerivedFrom``, as the FHIR
reader writes), each criterion row names the resources behind its status.
Every call works in one configuration (the package's criteria packs plus ``packs``): its
treatments, criteria, shapes and knowledge graph. The code is generic: it knows no criterion,
finding or threshold. Nothing is written to disk and nothing goes over the network.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rdflib import RDF, RDFS, BNode, Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, PROV
from rdflib.term import Node

from npc_kg.assessment.explain import Explainer
from npc_kg.assessment.provenance import Provenance, assessment_time, stamped
from npc_kg.assessment.provenance import current as _provenance
from npc_kg.core.rules import (
    OUT_OF_SCOPE,
    STATUS_TERMS,
    STATUSES,
    VERDICT_TERMS,
    Hit,
    missing_of,
    outcomes_of,
    records_behind,
    rows_of,
    verdict_of,
)
from npc_kg.errors import InputError, PatientModelError
from npc_kg.extras import require_fhir
from npc_kg.fhir.detect import BULK_SUFFIXES, JSON_SUFFIXES, fhir_document, is_fhir_json
from npc_kg.kg.load import kg_ntriples, load
from npc_kg.kg.packs import Pack, PackInput, using_packs
from npc_kg.namespace import NPC, PREFIXES, RESULT, SH
from npc_kg.patient import PatientInput, check_findings, check_patients, data_errors, read_patient
from npc_kg.shacl.engines import Engines, engines_for
from npc_kg.shacl.values import node_key
from npc_kg.suggest import unknown
from npc_kg.yamlio import yaml_paths

if TYPE_CHECKING:  # pragma: no cover
    from npc_kg.fhir.mapping import FhirMapping
    from npc_kg.fhir.model import FhirPatient

__all__ = [
    "ENGINES",
    "Assessment",
    "CriterionRow",
    "MappingInput",
    "RowSource",
    "assess",
    "assess_fhir",
    "assess_graph",
    "assess_input",
    "assess_many",
    "check_mapping_read",
    "fhir_mapping",
    "out_of_scope_assessment",
    "reference_statuses",
]

MappingInput = Any
"""A FHIR mapping: None (the shipped one), a :class:`~npc_kg.fhir.mapping.FhirMapping`, or site mapping
file(s) that extend the shipped one (a path, or a list of paths)."""


# ---------------------------------------------------------------------------------------------
# Result types
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RowSource:
    """A resource behind a criterion's status: the resource a finding record was derived from."""

    reference: str
    """Its identifier, e.g. the FHIR reference ``Observation/abc``."""
    node: str
    """The node that stands for it in the patient graph (``prov:wasDerivedFrom`` of the record)."""


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
    sources: tuple[RowSource, ...] = ()
    """The resources behind the status (the FHIR resources of its finding records); empty for RDF input."""

    def to_dict(self) -> dict[str, Any]:
        """Return the row in the JSON layout of ``docs/assessment-json.md``."""
        return {
            "criterion": self.criterion,
            "label": self.label,
            "kind": self.kind,
            "status": self.status,
            "message": self.message,
            "source": self.source,
            "quote": self.quote,
            "sources": [s.reference for s in self.sources],
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
    """KB version, treatment, engine, criteria packs and time of the assessment (``npc_kg.assessment.provenance``)."""
    packs: tuple[Pack, ...] = field(default=(), repr=False, compare=False)
    """The criteria packs of the configuration it was assessed in (reports read labels from its graph)."""
    source_id: str = ""
    """The patient's id in its source: the FHIR Patient id, else the graph's ``dcterms:identifier`` ("" if none)."""
    out_of_scope: str | None = None
    """Why the treatment's question does not apply (verdict ``out-of-scope``: no criterion is assessed); else None."""
    subclasses: tuple[tuple[str, str], ...] = field(default=(), repr=False, compare=False)
    """``rdfs:subClassOf`` pairs given to the evaluators as configuration (the bridges of narrower FHIR codes)."""

    def __repr__(self) -> str:
        if self.out_of_scope is not None:
            return (f"<Assessment patient={self.patient!r} treatment={self.treatment!r} verdict={self.verdict!r}: "
                    f"{self.out_of_scope}>")
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
            engines = engines_for(self.packs or None)
            by_patient = {a.patient: a for a in assess_graph(self._source, self.treatment, engine="reference",
                                                              engines=engines, subclasses=self.subclasses)}
            done = by_patient[self.patient]
            object.__setattr__(self, "_explained", done)  # a cache on a frozen dataclass
        return done

    def reassess(self, graph: Graph) -> list[Assessment]:
        """Assess ``graph`` (e.g. this patient's graph with more records) for the same treatment, with
        the same class-hierarchy configuration (:attr:`subclasses`)."""
        return assess_graph(graph, self.treatment, subclasses=self.subclasses)

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
            "provenance": (self.provenance or _provenance(self.treatment, "unspecified", packs=self.packs)).to_dict(),
            "source_id": self.source_id or None,
            "out_of_scope": self.out_of_scope,
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
        if self.out_of_scope is not None:
            graph.add((node, RDFS.comment, Literal(self.out_of_scope)))
        if self.source_id:
            graph.add((node, DCTERMS.identifier, Literal(self.source_id)))
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
            for resource in row.sources:
                graph.add((row_node, PROV.wasDerivedFrom, URIRef(resource.node)))
                graph.add((URIRef(resource.node), RDF.type, PROV.Entity))
                graph.add((URIRef(resource.node), DCTERMS.identifier, Literal(resource.reference)))
            for result in row.produced_by:
                graph.add((row_node, NPC.producedBy, result))
                graph.add((report_node, SH.result, result))
                for triple in self.report.cbd(result):
                    graph.add(triple)
        (self.provenance or _provenance(self.treatment, "unspecified", packs=self.packs)).add_to(graph, node)
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


def _row_sources(explainer: Explainer, patient: Node) -> dict[str, list[tuple[URIRef | None, RowSource]]]:
    """Criterion IRI -> (status of the record, resource) of every record of its findings that names its resource."""
    out: dict[str, list[tuple[URIRef | None, RowSource]]] = {}
    for row in explainer.records(patient):
        derived, identifier = row.get("derivedFrom"), row.get("sourceId")
        if derived is None:
            continue
        status = row.get("status")
        item = (status if isinstance(status, URIRef) else None,
                RowSource(str(identifier) if identifier is not None else str(derived), str(derived)))
        items = out.setdefault(str(row["criterion"]), [])
        if item not in items:
            items.append(item)
    return out


def _sources_behind(status: str, found: Sequence[tuple[URIRef | None, RowSource]]) -> tuple[RowSource, ...]:
    behind = records_behind(status, found, lambda item: item[0] == NPC.Present)
    return tuple(dict.fromkeys(source for _status, source in behind))


def _identifier(graph: Graph, patient: Node) -> str:
    """The patient's ``dcterms:identifier`` in ``graph`` ("" if none)."""
    found = sorted(str(o) for o in graph.objects(patient, DCTERMS.identifier) if isinstance(o, Literal))
    return found[0] if found else ""


def assess_graph(graph: Graph, treatment: str | URIRef | None = None, *, where: str = "<graph>",
                 engine: str = "local", engines: Engines | None = None,
                 subclasses: Iterable[tuple[str, str]] = ()) -> list[Assessment]:
    """Assess every ``npc:Patient`` of ``graph``; ``where`` names the input in error messages.

    ``treatment`` (an IRI or CURIE) picks one treatment; by default every treatment whose
    criteria the loaded packs' shapes implement is assessed, one assessment per patient and
    treatment (patients in IRI order, treatments in IRI order). ``engine="local"`` (the default)
    evaluates the shapes with the compiled evaluators and runs pySHACL only to word
    patient-model errors; ``engine="reference"`` always runs pySHACL. Both give the same rows;
    only the reference fills ``report`` and ``produced_by`` at once (:meth:`Assessment.explained`).
    ``engines`` default to those of the active configuration (:func:`npc_kg.shacl.engines.engines_for`).
    ``subclasses`` are ``(class IRI, superclass IRI)`` pairs added to the evaluators' class
    hierarchy (configuration, not data: e.g. the bridges of narrower FHIR codes).
    """
    if engine not in ENGINES:
        raise InputError(unknown("engine", engine, ENGINES))
    if not isinstance(graph, Graph):
        raise InputError(f"assess_graph takes an rdflib Graph, not {type(graph).__name__} (npc_kg.assess reads files, "
                         "text, dicts and FHIR)")
    pairs = tuple(sorted(set(subclasses)))
    engines = engines or engines_for()
    if pairs:
        engines = engines.for_subclasses(pairs)
    with using_packs(engines.packs):
        return _assess_graph(graph, treatment, where, engine, engines, pairs)


def _assess_graph(graph: Graph, treatment: str | URIRef | None, where: str, engine: str,
                  engines: Engines, pairs: tuple[tuple[str, str], ...]) -> list[Assessment]:
    targets = [engines.treatment(treatment)] if treatment is not None else [URIRef(t) for t in engines.treatments()]
    if not targets:
        raise InputError("no eligibility criteria: no loaded criteria pack has shapes that implement a criterion")
    criteria = {target: engines.criteria_of(target) for target in targets}
    for target, found in criteria.items():
        if not found:
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
    kg_data = kg_ntriples(engines.packs)
    if pairs:
        kg_data += "".join(f"<{a}> <{RDFS.subClassOf}> <{b}> .\n" for a, b in pairs).encode()
    explainer = Explainer(graph, patients, kg_ntriples=kg_data)
    derived = (None, PROV.wasDerivedFrom, None) in graph
    engine_name = "local" if source is not None else "reference"
    assessments = []
    for patient in patients:
        prognosis, evidence = explainer.explain(patient, _label)
        behind = _row_sources(explainer, patient) if derived else {}
        source_id = _identifier(graph, patient)
        for target in targets:
            outcomes = outcomes_of(criteria[target], engines.plan.implemented, by_patient.get(node_key(patient), []))
            rows = tuple(
                CriterionRow(
                    criterion=o.criterion.iri,
                    label=o.criterion.label,
                    kind=o.criterion.kind,
                    status=o.status,
                    message=o.message,
                    source=o.criterion.source,
                    quote=o.criterion.quote,
                    produced_by=tuple(node for unit, focus, _o in o.produced_by
                                      for node in results.get((unit.shape, focus), ())),
                    sources=_sources_behind(o.status, behind.get(o.criterion.iri, [])),
                )
                for o in outcomes
            )
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
                    provenance=_provenance(str(target), engine_name, packs=engines.packs),
                    packs=engines.packs,
                    source_id=source_id,
                    subclasses=pairs,
                )
            )
    return assessments


def reference_statuses(
    data_graph: Graph, treatment: str | URIRef | None = None, *, strict: bool = True,
    packs: Iterable[PackInput] | None = None,
) -> dict[str, dict[str, str]]:
    """Assess every patient of ``data_graph`` with ONE pySHACL run (the reference engine).

    Returns ``{patient_iri: {"verdict": verdict, criterion_iri: status, ...}}`` for ``treatment``
    (default: the one treatment the configuration's shapes implement criteria of). With
    ``strict`` (the default) patient-model errors raise :class:`PatientModelError`; otherwise
    they are ignored and the statuses are reported as the shapes see the data.
    """
    engines = engines_for(packs)
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


def fhir_mapping(mapping: MappingInput = None) -> FhirMapping:
    """The FHIR mapping for ``mapping``: the shipped one (None), a compiled one, or the shipped one
    extended by site file(s) (docs/fhir.md, "Site mappings")."""
    require_fhir()
    from npc_kg.fhir.bundle import default_mapper
    from npc_kg.fhir.mapping import FhirMapping, load_fhir_mapping

    if mapping is None:
        return default_mapper().mapping
    if isinstance(mapping, FhirMapping):
        return mapping
    files = yaml_paths(mapping, "mapping=")
    return load_fhir_mapping(files) if files else default_mapper().mapping


def _date_of(at: str | datetime | date | None) -> date:
    """The date of the assessment (:func:`assessment_time`)."""
    return assessment_time(at).date()


def out_of_scope_assessment(patient: str, treatment: str, reason: str, *, source_id: str = "",
                            engine: str = "local") -> Assessment:
    """The outcome of a patient the treatment's question does not apply to: no criterion, no verdict on eligibility."""
    packs = engines_for().packs
    return Assessment(patient=patient, treatment=treatment, verdict=OUT_OF_SCOPE, criteria=(), missing=(), prognosis=(),
                      evidence=(), provenance=_provenance(treatment, engine, packs=packs), source_id=source_id,
                      out_of_scope=reason, packs=packs)


def assess_fhir(patient: FhirPatient, treatment: str | URIRef | None = None, *, engine: str = "local",
                mapping: MappingInput = None) -> list[Assessment]:
    """Assess a FHIR patient read by :mod:`npc_kg.fhir` (``mapping``: the one it was read with).

    Out of scope (no recorded disease of the treatment): one assessment with verdict
    ``out-of-scope`` and the reason, never an eligibility verdict. Otherwise its graph, without the
    bridges of narrower codes, is assessed with every bridge of the mapping in the evaluators'
    class hierarchy; the rows name the FHIR resources behind their status.
    """
    return _assess_fhir(patient, treatment, engine, fhir_mapping(mapping))[0]


def _assess_fhir(patient: FhirPatient, treatment: str | URIRef | None, engine: str,
                 mapping: FhirMapping) -> tuple[list[Assessment], Graph | None]:
    if not patient.in_scope:
        engines = engines_for()
        targets = [engines.treatment(treatment)] if treatment is not None else [URIRef(t) for t in engines.treatments()]
        return [out_of_scope_assessment(patient.iri, str(target), patient.out_of_scope or "",
                                        source_id=patient.source_id, engine=engine) for target in targets], None
    graph = _fhir_graph(patient)
    return assess_graph(graph, treatment, where=patient.where, engine=engine, subclasses=mapping.bridges()), graph


def _fhir_graph(patient: FhirPatient) -> Graph:
    from npc_kg.rdfio import literals_as_written

    graph = Graph()
    for prefix, iri in PREFIXES.items():
        graph.bind(prefix, iri)
    with literals_as_written():
        graph.parse(data="\n".join(patient.ntriples(bridges=False)) + "\n", format="nt")
    return graph


def _fhir_patient(source: Any, doc: Mapping[str, Any], resolved: FhirMapping,
                  at: str | datetime | date | None) -> FhirPatient:
    """The FHIR document ``doc`` of ``source`` (a dict, JSON text or a .json file) read with ``resolved``."""
    from npc_kg.fhir.bundle import read_bundle

    where = str(source) if isinstance(source, str | Path) and not str(source).lstrip().startswith("{") else None
    return read_bundle(doc, mapping=resolved, where=where or ("<dict>" if isinstance(source, Mapping) else "<string>"),
                       at=_date_of(at))


def assess_input(source: PatientInput | FhirPatient, treatment: str | URIRef | None = None, *, engine: str = "local",
                 mapping: MappingInput = None, at: str | datetime | date | None = None,
                 packs: Iterable[PackInput] | None = None) -> tuple[list[Assessment], Graph | None]:
    """Read ``source`` (RDF, a dict, or FHIR) and assess it; also return the patient graph assessed (None when
    out of scope). ``at`` is the time of the assessment (FHIR ages are counted to its date); ``packs`` are
    criteria-pack folders loaded beside the package's own."""
    with using_packs(packs):
        return _assess_input(source, treatment, engine, mapping, at)


def _assess_input(source: PatientInput | FhirPatient, treatment: str | URIRef | None, engine: str,
                  mapping: MappingInput, at: str | datetime | date | None) -> tuple[list[Assessment], Graph | None]:
    from npc_kg.fhir.model import FhirPatient

    fhir: FhirPatient | None = source if isinstance(source, FhirPatient) else None
    doc = fhir_document(source) if fhir is None else None
    if fhir is not None or doc is not None:
        resolved = fhir_mapping(mapping)
        if doc is not None:
            fhir = _fhir_patient(source, doc, resolved, at)
        assert fhir is not None
        return _assess_fhir(fhir, treatment, engine, resolved)
    graph, where = read_patient(source)  # type: ignore[arg-type]
    return assess_graph(graph, treatment, where=where, engine=engine), graph


def _json_or_folder(path: Path) -> bool:
    try:
        return path.suffix.lower() in (*JSON_SUFFIXES, *BULK_SUFFIXES) or path.is_dir()
    except OSError:  # a name too long to be a file: text
        return False


def check_mapping_read(sources: Sequence[Any], mapping: MappingInput) -> None:
    """Raise :class:`~npc_kg.errors.InputError` when a FHIR site ``mapping`` is given and none of
    ``sources`` may be FHIR: it would not be read, and the user would not know. Decided without
    reading the inputs (a JSON file or JSON text may be FHIR; the reader tells later)."""
    if not mapping:
        return
    from npc_kg.fhir.model import FhirPatient

    for source in sources:
        if isinstance(source, FhirPatient) or (isinstance(source, Mapping) and is_fhir_json(source)):
            return
        if isinstance(source, str) and source.lstrip().startswith("{"):
            return  # JSON text
        if isinstance(source, str | Path) and "\n" not in str(source).strip() and _json_or_folder(Path(source)):
            return  # a JSON file, or a Bulk export (refused as such when it is read)
    raise InputError("mapping= (CLI --mapping) is a FHIR site mapping, and no input is FHIR: it would not be read; "
                     "drop it")


def assess(patient: PatientInput | FhirPatient, treatment: str | URIRef | None = None, *, engine: str = "local",
           mapping: MappingInput = None, packs: Iterable[PackInput] | None = None,
           at: str | datetime | date | None = None) -> list[Assessment]:
    """Assess ``patient`` for ``treatment`` (default: every treatment whose criteria the loaded packs'
    shapes implement); one result per ``npc:Patient`` and treatment.

    ``patient`` is an rdflib Graph, a path (format from the extension; a ``.json`` file holding
    FHIR is read as FHIR), Turtle or JSON-LD text, a plain dict (see
    :func:`npc_kg.patient.patient_from_dict`), or FHIR R4: a parsed Bundle or resource (a dict
    with ``resourceType``), its JSON text, or a :class:`~npc_kg.fhir.model.FhirPatient`.
    ``mapping`` is a FHIR site mapping file (or files, or a compiled mapping) that extends the
    shipped one. A FHIR patient with no recorded disease of the treatment gets one assessment
    with verdict ``out-of-scope`` and the reason (:attr:`Assessment.out_of_scope`).
    ``engine`` is ``local`` (the default: compiled shapes, pySHACL only when needed) or
    ``reference`` (pySHACL); both give the same rows (see :func:`assess_graph`). Raises
    :class:`~npc_kg.errors.InputError` for unreadable input and
    :class:`~npc_kg.errors.PatientModelError` for data that breaks the patient model. ``packs`` are
    criteria-pack folders loaded beside the package's own (``docs/packs.md``). ``at`` is the time of
    the assessment (ISO 8601 text, a datetime, or a date: its midnight UTC; default
    ``SOURCE_DATE_EPOCH``, else now), as ``--at``: the provenance time, and the date FHIR ages are
    counted to.
    """
    check_mapping_read([patient], mapping)
    return stamped(assess_input(patient, treatment, engine=engine, mapping=mapping, packs=packs, at=at)[0], at)


def assess_many(sources: Iterable[PatientInput], treatment: str | URIRef | None = None, *,
                engine: str = "local", mapping: MappingInput = None,
                packs: Iterable[PackInput] | None = None, at: str | datetime | date | None = None) -> list[Assessment]:
    """Assess several inputs (e.g. files) into one combined list.

    Unreadable input raises :class:`~npc_kg.errors.InputError` at once; patient-model errors
    of all inputs are collected and raised together as one :class:`PatientModelError`.
    """
    assessments: list[Assessment] = []
    errors: list[str] = []
    items = list(sources)
    check_mapping_read(items, mapping)
    with using_packs(packs):
        for source in items:
            try:
                assessments.extend(stamped(assess_input(source, treatment, engine=engine, mapping=mapping, at=at)[0], at))
            except PatientModelError as error:
                errors.extend(error.errors or [str(error)])
    if errors:
        raise PatientModelError(f"patient data breaks the patient model ({len(errors)} error(s))", errors)
    return assessments
