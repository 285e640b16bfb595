"""Render assessments as readable text, JSON (``docs/assessment-json.md``), Turtle or HTML.

Every rendering carries the provenance of each assessment (knowledge-base version, ontology
version, treatment, engine, time): JSON under ``provenance``, Turtle as PROV-O, text and HTML in
a footer. Text lines are at most :data:`WIDTH` characters; the evidence is ranked
(:mod:`npc_kg.assessment.ranking`) and capped, with a count of the rest.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Mapping, Sequence
from typing import Any

from rdflib import Graph

from npc_kg.assessment.assess import Assessment
from npc_kg.assessment.report import ReportData, label_of, report_data
from npc_kg.core.rules import SATISFIED, VIOLATED
from npc_kg.errors import InputError
from npc_kg.namespace import PREFIXES, RESULT
from npc_kg.suggest import unknown

__all__ = ["EVIDENCE_CAP", "FORMATS", "WIDTH", "render", "render_json", "render_text", "render_ttl"]

FORMATS = ("text", "json", "ttl", "html")
WIDTH = 100
"""The longest line of the text report."""
EVIDENCE_CAP = 8
"""Figures shown by the text report (the highest ranked; the rest are counted)."""

Graphs = Mapping[str, Graph] | Graph | None
"""The patient graph(s) behind the assessments: with them, reports show the records and the outcome range."""


def render(assessments: Sequence[Assessment], fmt: str = "text", graphs: Graphs = None) -> str:
    """Return ``assessments`` rendered in ``fmt`` (one of :data:`FORMATS`), in the configuration
    (criteria packs) they were assessed in."""
    from npc_kg.kg.packs import using_packs

    with using_packs(assessments[0].packs or None if assessments else None):
        return _render(assessments, fmt, graphs)


def _render(assessments: Sequence[Assessment], fmt: str, graphs: Graphs) -> str:
    if fmt == "text":
        return render_text(assessments, graphs)
    if fmt == "json":
        return render_json(assessments)
    if fmt == "ttl":
        return render_ttl(assessments)
    if fmt == "html":
        from npc_kg.assessment.html import render_html

        return render_html(assessments, graphs)
    raise InputError(unknown("format", fmt, FORMATS))


def render_json(assessments: Sequence[Assessment]) -> str:
    """A JSON list with one object per assessment."""
    return json.dumps([a.to_dict() for a in assessments], indent=2, ensure_ascii=False) + "\n"


def render_ttl(assessments: Sequence[Assessment]) -> str:
    """Turtle of every assessment, with the SHACL results that produced each row."""
    graph = Graph()
    for prefix, iri in PREFIXES.items():
        graph.bind(prefix, iri)
    graph.bind("result", str(RESULT))
    for assessment in assessments:
        for triple in assessment.to_rdf():
            graph.add(triple)
    return graph.serialize(format="turtle")


# ---------------------------------------------------------------------------------------------
# Text
# ---------------------------------------------------------------------------------------------


def _wrap(text: str, indent: int, hanging: int | None = None) -> list[str]:
    """``text`` wrapped to :data:`WIDTH` columns with ``indent`` spaces (``hanging`` for later lines)."""
    later = indent if hanging is None else hanging
    return textwrap.wrap(text, WIDTH, initial_indent=" " * indent, subsequent_indent=" " * later,
                         break_long_words=True, break_on_hyphens=False) or [""]


def _graph_of(graphs: Graphs, patient: str) -> Graph | None:
    if isinstance(graphs, Graph):
        return graphs
    return graphs.get(patient) if graphs else None


def _figure_text(item: Mapping[str, Any]) -> str:
    horizon = item.get("time_horizon_months")
    parts = [f"{item.get('label')}: {item.get('amount')}",
             f"at {horizon:g} months" if isinstance(horizon, int | float) else "time point not stated"]
    if item.get("p_value") is not None:
        parts.append(f"p {item.get('p_value_relation_text') or '='} {item['p_value']}")
    population = str(item.get("population_label") or "")
    if item.get("population_size") is not None:
        population += f", n = {item['population_size']}"
    parts.append(f"population: {population}")
    parts.append(f"{item.get('source_type_label')} (weight {item.get('weight')})")
    if item.get("text_issue_labels"):
        parts.append("text issue: " + ", ".join(item["text_issue_labels"]))
    return "; ".join(parts)


def _provenance_text(data: ReportData) -> list[str]:
    if data.provenance is None:
        return []
    return ["", *[line for text in data.provenance.lines() for line in _wrap(text, 2, 4)]]


def _assessment_text(a: Assessment, data: ReportData) -> list[str]:
    lines = [f"Patient <{a.patient}>"]
    if a.source_id:
        lines += _wrap(f"Source id: {a.source_id}", 2, 13)
    lines += _wrap(f"Treatment: {data.treatment_label}", 2, 13)
    lines.append(f"  Verdict:   {a.verdict.upper()}")
    lines += _wrap(data.verdict_sentence, 13)
    if a.out_of_scope is not None:  # no criterion is assessed: say why, and nothing else
        lines += _wrap(f"Why: {a.out_of_scope.rstrip('.')}.", 13, 13)
        lines += _wrap("The eligibility assessment does not apply to this patient: no criterion is assessed and "
                       "no eligibility verdict is given.", 13)
        return lines + _provenance_text(data)
    lines.append("")
    lines.append("  Criteria")
    for row in data.criteria:
        lines += _wrap(f"{row.symbol} {row.status:<9} {row.label}", 4, 16)
        lines += _wrap(row.message, 16)
        if row.sources:
            lines += _wrap("resources: " + ", ".join(row.sources), 16, 18)
        if row.status == VIOLATED and row.records:
            lines += _wrap("triggered by: " + "; ".join(
                f"{r.label} (recorded {r.status or 'without a status'}, {r.source})" for r in row.records), 16, 18)
        if row.not_recorded:
            lines += _wrap("not recorded: " + ", ".join(row.not_recorded), 16, 18)
        if row.quote and row.status != SATISFIED:  # the quote of every row is in --format html and json
            lines += _wrap(f'source: {row.source_label}: "{row.quote}"', 16, 18)
    lines.append("")
    if data.missing:
        lines.append("  Missing data: record each item present or absent")
        for m in data.missing:
            lines += _wrap(f"[ ] {m.label} ({m.curie})", 4, 8)
            if m.dict_key:
                lines += _wrap(f'dict: "findings": {{"{m.dict_key}": "present"}} (or "absent")', 8, 10)
            if m.csv_column:
                code = f", with {m.csv_code}" if m.csv_code else ""
                lines += _wrap(f"CSV: column {m.csv_column} = present or absent{code}", 8, 10)
            lines += _wrap(f"Turtle: {m.turtle}", 8, 10)
            lines += _wrap("FHIR: " + ("; ".join(f"{c.code} {c.label}" for c in m.fhir) if m.fhir else "no code mapped"), 8, 10)
        if data.outcomes is not None:
            for o in (data.outcomes.if_absent, data.outcomes.if_present):
                still = f" (then still missing: {', '.join(label_of(x) for x in o.still_missing)})" if o.still_missing else ""
                lines += _wrap(f"If every missing item were recorded {o.status}: {o.verdict}{still}", 4, 6)
    else:
        lines.append("  Missing data: none")
    lines.append("")
    lines.append("  Prognosis reported for patients like this one")
    if not data.prognosis:
        lines.append("    (none)")
    for item in data.prognosis:
        kind = "treatment option" if item.get("basis") == "treatment-option" else "patient has the factor"
        independent = ", independent predictor" if item.get("independent") else ""
        lines += _wrap(f"- {item.get('label')} [{kind}{independent}]; {item.get('source_type_label')}", 4, 6)
    lines.append("")
    lines.append("  Evidence, ranked: the patient's own situation first, then the weight of the source")
    if not data.figures and not data.statements:
        lines.append("    (none)")
    for i, item in enumerate(data.figures[:EVIDENCE_CAP], 1):
        lines += _wrap(f"{i}. {_figure_text(item)}", 4, 7)
    rest = len(data.figures) - EVIDENCE_CAP
    if rest > 0:
        lines.append(f"    ... and {rest} more figures (--format html or json lists them all)")
    if data.statements:
        lines += _wrap(f"Statements ({len(data.statements)}): " + "; ".join(str(s.get("label")) for s in data.statements[:3])
                       + (f"; and {len(data.statements) - 3} more" if len(data.statements) > 3 else ""), 4, 6)
    return lines + _provenance_text(data)


def render_text(assessments: Sequence[Assessment], graphs: Graphs = None) -> str:
    """Readable text, lines of at most :data:`WIDTH` characters: verdict, criteria, missing data, prognosis, evidence."""
    from npc_kg.kg.packs import using_packs

    blocks = []
    for a in assessments:
        with using_packs(a.packs or None):
            blocks.append("\n".join(_assessment_text(a, report_data(a, _graph_of(graphs, a.patient), chart=False))))
    return ("\n\n" + "=" * 78 + "\n\n").join(blocks) + "\n"
