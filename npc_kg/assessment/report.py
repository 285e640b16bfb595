"""What a report shows of an assessment, built from its public fields and the knowledge base.

:func:`report_data` turns an :class:`~npc_kg.assessment.assess.Assessment` (and, when given,
the patient graph it came from) into plain data that the text and HTML renderers lay out:
criteria with status text and symbol, the finding records that decided each violated or
unknown criterion, the missing-data checklist with how to record each item, the range of
outcomes, prognosis, the ranked evidence, the survival chart and the provenance.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from rdflib import RDFS, Graph, URIRef

from npc_kg.assessment.outcomes import OutcomeRange, outcome_range
from npc_kg.assessment.provenance import Provenance
from npc_kg.assessment.ranking import rank_evidence, source_weight
from npc_kg.assessment.recording import RecordingGuide, recording_guide
from npc_kg.assessment.records import EvidenceRecord, criterion_records, store_for
from npc_kg.core.rules import (
    ELIGIBLE,
    INDETERMINATE,
    INELIGIBLE,
    OUT_OF_SCOPE,
    SATISFIED,
    UNKNOWN,
    VIOLATED,
    records_behind,
)
from npc_kg.namespace import NPC, curie

if TYPE_CHECKING:  # pragma: no cover
    from npc_kg.assessment.assess import Assessment

__all__ = ["STATUS_SYMBOLS", "VERDICT_SENTENCES", "CriterionView", "ReportData", "label_of", "report_data"]

STATUS_SYMBOLS = {SATISFIED: "✓", VIOLATED: "✗", UNKNOWN: "?"}
"""The symbol shown with each status (with its word and colour: never colour alone)."""
VERDICT_SENTENCES = {
    ELIGIBLE: "Eligible: every criterion is satisfied by the recorded data.",
    INELIGIBLE: "Not eligible: at least one criterion is violated.",
    INDETERMINATE: "Indeterminate: no criterion is violated, but data needed by the criteria is missing.",
    OUT_OF_SCOPE: "Does not apply: the patient's record does not show the disease this treatment is for.",
}


def label_of(iri: Any, default: str | None = None) -> str:
    """The knowledge graph's label of ``iri``, else ``default``, else its CURIE."""
    if not iri:
        return default or ""
    from npc_kg.kg.load import load

    found = load().value(URIRef(str(iri)), RDFS.label)
    if found is not None:
        return str(found)
    return default if default is not None else curie(str(iri))


@dataclass
class CriterionView:
    """One criterion row of a report."""

    criterion: str
    label: str
    kind: str
    status: str
    symbol: str
    message: str
    quote: str
    source: str
    source_label: str
    source_type: str
    weight: int
    records: list[EvidenceRecord] = field(default_factory=list)
    """The records that decided a violated or unknown criterion (present ones for a violated contraindication)."""
    not_recorded: list[str] = field(default_factory=list)
    """Labels of the missing findings of an unknown criterion."""
    sources: list[str] = field(default_factory=list)
    """The resources behind the status (FHIR references such as ``Observation/abc``), for every status."""


@dataclass
class ReportData:
    """Everything a report shows of one assessment."""

    patient: str
    treatment: str
    treatment_label: str
    verdict: str
    verdict_sentence: str
    criteria: list[CriterionView]
    missing: list[RecordingGuide]
    outcomes: OutcomeRange | None
    prognosis: list[dict[str, Any]]
    figures: list[dict[str, Any]]
    statements: list[dict[str, Any]]
    chart: str
    provenance: Provenance | None
    counts: dict[str, int]
    out_of_scope: str | None = None
    """Why the treatment's question does not apply (verdict out-of-scope), else None."""
    source_id: str = ""
    """The patient's id in its source (FHIR Patient id, registry id), "" if none."""

    @property
    def triggers(self) -> dict[str, list[EvidenceRecord]]:
        """Criterion IRI -> the records that decided it, for violated and unknown rows."""
        return {row.criterion: row.records for row in self.criteria if row.records}


def _concerned(criterion: str) -> set[str]:
    from npc_kg.kg.load import load

    kg = load()
    return {str(c) for c in kg.objects(URIRef(criterion), NPC.concernsFinding)}


def _is_under(cls: str, roots: set[str]) -> bool:
    from npc_kg.kg.load import load

    kg = load()
    return cls in roots or any(str(c) in roots for c in kg.transitive_objects(URIRef(cls), RDFS.subClassOf))


def _decided(row: Any, records: Sequence[EvidenceRecord]) -> list[EvidenceRecord]:
    """The records shown for a violated or unknown row (:func:`~npc_kg.core.rules.records_behind`); none for a satisfied one."""
    if row.status == SATISFIED:
        return []
    return records_behind(row.status, records, lambda record: record.status == "present")


def _entry(item: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(item)
    out["source_label"] = label_of(item.get("source"))
    out["source_type_label"] = label_of(item.get("source_type"), "source type not stated")
    weight = item.get("weight_rank")
    out["weight"] = weight if isinstance(weight, int) else source_weight(item.get("source_type"))
    for key in ("intervention", "comparator", "outcome", "statistic", "population", "unit", "p_value_relation",
                "claim", "direction", "factor"):
        if item.get(key):
            out[f"{key}_text"] = label_of(item.get(key))
    out["text_issue_labels"] = [label_of(i) for i in item.get("text_issues") or []]
    return out


def figure_amount(item: Mapping[str, Any]) -> str:
    """A figure's value or range as text (fractions as percentages)."""
    fraction = item.get("unit") == str(NPC.Fraction)

    def number(value: Any) -> str:
        if not isinstance(value, int | float):
            return "?"
        return f"{value * 100:.4g}%" if fraction else f"{value:g}"

    if item.get("value") is not None:
        return number(item["value"])
    return f"{number(item.get('lower_bound'))} to {number(item.get('upper_bound'))}"


def _chart(evidence: Sequence[Mapping[str, Any]]) -> str:
    from npc_kg.assessment.chart import survival_chart

    return survival_chart(evidence)


def report_data(assessment: Assessment, patient_graph: Graph | None = None, *, what_if: bool = True,
                chart: bool = True) -> ReportData:
    """The report of ``assessment``; with ``patient_graph`` also the records behind each row and the outcome range.

    ``chart=False`` leaves out the survival chart (the text report; no matplotlib needed). Labels,
    records and outcomes come from the configuration the assessment was made in (its criteria packs).
    """
    from npc_kg.kg.packs import using_packs

    with using_packs(assessment.packs or None):
        return _report_data(assessment, patient_graph, what_if, chart)


def _report_data(assessment: Assessment, patient_graph: Graph | None, what_if: bool, chart: bool) -> ReportData:
    records: dict[str, list[EvidenceRecord]] = {}
    if patient_graph is not None:
        records = criterion_records(patient_graph, assessment.patient, store_for(patient_graph, assessment.subclasses))
    rows = []
    for row in assessment.criteria:
        concerned = _concerned(row.criterion)
        view = CriterionView(
            criterion=row.criterion, label=row.label, kind=row.kind, status=row.status,
            symbol=STATUS_SYMBOLS.get(row.status, "?"), message=row.message, quote=row.quote, source=row.source,
            source_label=label_of(row.source), source_type="", weight=0,
            records=_decided(row, records.get(row.criterion, [])),
            sources=[s.reference for s in row.sources],
        )
        from npc_kg.kg.load import load

        source_type = load().value(URIRef(row.source), NPC.sourceType) if row.source else None
        view.source_type = label_of(source_type, "source type not stated") if source_type is not None else ""
        view.weight = source_weight(source_type)
        if row.status == UNKNOWN:
            view.not_recorded = [label_of(m) for m in assessment.missing if _is_under(m, concerned)]
        rows.append(view)
    ranked = rank_evidence(assessment.evidence)

    outcomes = None
    if what_if and patient_graph is not None:
        outcomes = outcome_range(patient_graph, assessment.patient, assessment.treatment, tuple(assessment.missing),
                                 reassess=assessment.reassess)
    return ReportData(
        patient=assessment.patient,
        treatment=assessment.treatment,
        treatment_label=label_of(assessment.treatment),
        verdict=assessment.verdict,
        verdict_sentence=VERDICT_SENTENCES.get(assessment.verdict, assessment.verdict),
        criteria=rows,
        missing=[recording_guide(m, patient=assessment.patient) for m in assessment.missing],
        outcomes=outcomes,
        prognosis=[_entry(p) for p in assessment.prognosis],
        figures=[_entry(e) | {"amount": figure_amount(e)} for e in ranked if e.get("type") == "figure"],
        statements=[_entry(e) for e in ranked if e.get("type") != "figure"],
        chart=_chart(assessment.evidence) if chart else "",
        provenance=assessment.provenance,
        counts={s: sum(r.status == s for r in assessment.criteria) for s in STATUS_SYMBOLS},
        out_of_scope=assessment.out_of_scope,
        source_id=assessment.source_id,
    )
