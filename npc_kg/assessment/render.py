"""Render assessments as readable text, JSON (``docs/assessment-json.md``) or Turtle."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from rdflib import RDFS, Graph, URIRef

from npc_kg.assessment.assess import Assessment
from npc_kg.errors import NpcKgError
from npc_kg.kg.load import load
from npc_kg.namespace import NPC, PREFIXES, RESULT

__all__ = ["FORMATS", "render", "render_json", "render_text", "render_ttl"]

FORMATS = ("text", "json", "ttl")


def render(assessments: Sequence[Assessment], fmt: str = "text") -> str:
    """Return ``assessments`` rendered in ``fmt`` (one of :data:`FORMATS`)."""
    if fmt == "text":
        return render_text(assessments)
    if fmt == "json":
        return render_json(assessments)
    if fmt == "ttl":
        return render_ttl(assessments)
    raise NpcKgError(f"unknown format {fmt!r}; choose from {', '.join(FORMATS)}")


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


def _label(iri: Any) -> str:
    if iri is None:
        return ""
    label = load().value(URIRef(str(iri)), RDFS.label)
    return str(label) if label is not None else _curie(str(iri))


def _curie(iri: str) -> str:
    for prefix, base in sorted(PREFIXES.items(), key=lambda item: -len(item[1])):
        if iri.startswith(base) and len(iri) > len(base):
            return f"{prefix}:{iri[len(base):]}"
    return f"<{iri}>"


def _number(value: Any, unit: Any) -> str:
    if value is None:
        return ""
    if unit == str(NPC.Fraction):
        return f"{float(value) * 100:.4g}%"
    unit_label = _label(unit) if unit else ""
    return f"{value:g} {unit_label}".strip() if isinstance(value, int | float) else f"{value} {unit_label}".strip()


def _figure_line(item: dict[str, Any]) -> str:
    unit = item.get("unit")
    if item.get("value") is not None:
        amount = _number(item["value"], unit)
    else:
        amount = f"{_number(item.get('lower_bound'), unit)} to {_number(item.get('upper_bound'), unit)}"
    parts = [f"{item.get('label') or _curie(item['figure'])}: {amount}"]
    horizon = item.get("time_horizon_months")
    parts.append(f"at {horizon:g} months" if isinstance(horizon, int | float) else "time point not stated")
    if item.get("p_value") is not None:
        relation = _label(item.get("p_value_relation")) or "="
        parts.append(f"p {relation} {item['p_value']}")
    population = _label(item.get("population"))
    if item.get("population_size") is not None:
        population += f", n = {item['population_size']}"
    parts.append(f"population: {population}")
    parts.append(f"source: {_label(item.get('source'))} ({_label(item.get('source_type'))})")
    if item.get("text_issues"):
        parts.append("text issue: " + ", ".join(_label(i) for i in item["text_issues"]))
    return "; ".join(parts)


def _assessment_text(a: Assessment) -> list[str]:
    lines = [f"Patient <{a.patient}>", f"  Treatment: {_label(a.treatment)}"]
    lines.append(f"  Verdict:   {a.verdict.upper()}")
    lines.append("")
    lines.append("  Criteria")
    for row in a.criteria:
        lines.append(f"    [{row.status:<9}] {row.label}")
        lines.append(f"                {row.message}")
        if row.quote:
            lines.append(f"                source: {_label(row.source)}: \"{row.quote}\"")
    lines.append("")
    if a.missing:
        lines.append("  Missing data (record present or absent): " + ", ".join(f"{_label(m)} ({_curie(m)})" for m in a.missing))
    else:
        lines.append("  Missing data: none")
    lines.append("")
    lines.append("  Prognosis reported for patients like this one")
    if not a.prognosis:
        lines.append("    (none)")
    for item in a.prognosis:
        kind = "treatment option" if item.get("basis") == "treatment-option" else "patient has the factor"
        independent = ", independent predictor" if item.get("independent") else ""
        lines.append(f"    - {item.get('label')} [{kind}{independent}]; source: {_label(item.get('source'))}")
    lines.append("")
    lines.append("  Evidence for this situation and the treatment options")
    if not a.evidence:
        lines.append("    (none)")
    for item in a.evidence:
        if item.get("type") == "figure":
            lines.append(f"    - {_figure_line(item)}")
        else:
            lines.append(f"    - statement: {item.get('label')}; source: {_label(item.get('source'))}: \"{item.get('quote')}\"")
    return lines


def render_text(assessments: Sequence[Assessment]) -> str:
    """Readable text: verdict, criteria with status, message and quote, missing data, prognosis, evidence."""
    blocks = ["\n".join(_assessment_text(a)) for a in assessments]
    return ("\n\n" + "=" * 78 + "\n\n").join(blocks) + "\n"
