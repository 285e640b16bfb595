"""Charts of the reports, drawn by matplotlib as inline SVG (no JavaScript, no network).

- :func:`survival_chart`: the survival figures of an assessment by intervention and time
  horizon. A range ("44%-51%") is drawn as an interval, a single value as a point; the marker
  shape shows the evidence weight of the source (filled circle for the highest weight, then
  hollow shapes), and each row is labelled with its population size n.
- :func:`attrition_chart`: a cohort's attrition, patients remaining after each step.

The SVG is deterministic (fixed hash salt, no date), keeps its text as ``<text>`` (readable
by screen readers and searchable), and carries ``role="img"`` and an ``aria-label``; every
chart is shown next to a table of the same numbers. matplotlib's global settings are touched
only inside a lock, so concurrent requests of the service do not interfere.
"""

from __future__ import annotations

import io
import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

from rdflib import RDF, RDFS, URIRef

from npc_kg.namespace import NPC

__all__ = ["ChartPoint", "attrition_chart", "survival_chart", "survival_points"]

_LOCK = threading.Lock()
_MARKERS = ("o", "s", "^", "D", "v")
_RC: dict[Any, Any] = {"svg.hashsalt": "npc-kg", "svg.fonttype": "none", "font.family": "DejaVu Sans", "font.size": 9.0}


@dataclass(frozen=True)
class ChartPoint:
    """One survival figure as the chart draws it."""

    row: str
    """The row label: intervention, outcome, time horizon."""
    value: float | None
    lower: float | None
    upper: float | None
    weight: int
    source_type: str
    n: int | None
    figure: str


def _label(iri: Any, default: str) -> str:
    if not iri:
        return default
    from npc_kg.kg.load import load

    found = load().value(URIRef(str(iri)), RDFS.label)
    return str(found) if found is not None else str(iri).rsplit("/", 1)[-1]


def _percent(value: Any) -> float | None:
    return float(value) * 100 if isinstance(value, int | float) else None


def survival_points(evidence: Sequence[Mapping[str, Any]]) -> list[ChartPoint]:
    """The survival-rate figures of ``evidence`` (``Assessment.evidence``), by intervention then time horizon."""
    from npc_kg.kg.load import load

    survival = {str(kind) for kind in load().subjects(RDF.type, NPC.SurvivalStatisticType)}
    points = []
    for item in evidence:
        if item.get("type") != "figure" or item.get("statistic") not in survival:
            continue
        horizon = item.get("time_horizon_months")
        when = f"{horizon:g} months" if isinstance(horizon, int | float) else "time point not stated"
        intervention = _label(item.get("intervention"), "no intervention stated")
        outcome = _label(item.get("outcome"), "survival")
        weight = item.get("weight_rank")
        points.append(ChartPoint(
            row=f"{intervention}\n{outcome} · {when}",
            value=_percent(item.get("value")), lower=_percent(item.get("lower_bound")),
            upper=_percent(item.get("upper_bound")), weight=weight if isinstance(weight, int) else 0,
            source_type=_label(item.get("source_type"), "source type not stated"),
            n=item.get("population_size") if isinstance(item.get("population_size"), int) else None,
            figure=str(item.get("figure") or ""),
        ))
    horizon_key = {p.figure: (h if isinstance(h := e.get("time_horizon_months"), int | float) else 10**6)
                   for e in evidence for p in points if p.figure == e.get("figure")}
    return sorted(points, key=lambda p: (p.row.split("\n")[0], horizon_key.get(p.figure, 0), p.row, p.figure))


def _matplotlib() -> Any:
    from npc_kg.extras import require

    return require("matplotlib", "report", "charts")


def _svg(figure: Any, label: str) -> str:
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None}, bbox_inches="tight")
    text = buffer.getvalue()
    text = re.sub(r"<\?xml[^>]*\?>\s*", "", text)
    text = re.sub(r"<!DOCTYPE[^>]*>\s*", "", text)
    return text.replace("<svg ", f'<svg role="img" aria-label="{escape(label)}" class="chart" ', 1)


def survival_chart(evidence: Sequence[Mapping[str, Any]], *, title: str = "Survival figures") -> str:
    """Inline SVG of the survival figures of ``evidence``; ``""`` when there are none."""
    points = survival_points(evidence)
    if not points:
        return ""
    matplotlib = _matplotlib()
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    weights = sorted({p.weight for p in points}, reverse=True)
    style = {w: (_MARKERS[i % len(_MARKERS)], i == 0) for i, w in enumerate(weights)}
    types = {p.weight: p.source_type for p in points}
    rows = list(dict.fromkeys(p.row for p in points))
    with _LOCK, matplotlib.rc_context(_RC):
        figure = Figure(figsize=(8.0, 0.5 * len(rows) + 1.4))
        axes = figure.add_subplot()
        for p in points:
            y = len(rows) - 1 - rows.index(p.row)
            marker, filled = style[p.weight]
            face = "#1f4e79" if filled else "white"
            if p.lower is not None and p.upper is not None:
                axes.plot([p.lower, p.upper], [y, y], color="#1f4e79", linewidth=2.2, solid_capstyle="butt")
                axes.plot([p.lower, p.upper], [y, y], linestyle="none", marker=marker, markersize=7,
                          markerfacecolor=face, markeredgecolor="#1f4e79")
                right = p.upper
            elif p.value is not None:
                axes.plot([p.value], [y], linestyle="none", marker=marker, markersize=7, markerfacecolor=face,
                          markeredgecolor="#1f4e79")
                right = p.value
            else:
                continue
            axes.annotate(f"n = {p.n}" if p.n is not None else "n not stated", (right, y), xytext=(8, 0),
                          textcoords="offset points", va="center", fontsize=8, color="#333333")
        axes.set_yticks(range(len(rows)), list(reversed(rows)), fontsize=7.5)
        axes.set_ylim(-0.7, len(rows) - 0.3)
        axes.set_xlim(0, 100)
        axes.set_xlabel("survival (%)")
        axes.set_title(title, loc="left", fontsize=10)
        axes.grid(axis="x", color="#dddddd", linewidth=0.6)
        axes.set_axisbelow(True)
        for side in ("top", "right"):
            axes.spines[side].set_visible(False)
        handles = [Line2D([], [], linestyle="none", marker=style[w][0], markersize=7,
                          markerfacecolor="#1f4e79" if style[w][1] else "white", markeredgecolor="#1f4e79",
                          label=f"{types[w]} (weight {w})") for w in weights]
        handles.append(Line2D([], [], color="#1f4e79", linewidth=2.2, label="range reported"))
        axes.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.6 / max(len(rows), 1) - 0.12),
                    ncol=len(handles), frameon=False, fontsize=8)
        return _svg(figure, f"{title}: {len(points)} figures by intervention and time horizon")


def attrition_chart(table: Sequence[Mapping[str, Any]], *, title: str = "Patients remaining after each step") -> str:
    """Inline SVG of an attrition table (``Attrition.table()``): remaining and excluded per step."""
    if not table:
        return ""
    matplotlib = _matplotlib()
    from matplotlib.figure import Figure

    labels = [str(r.get("label") or r.get("criterion") or "") for r in table]
    remaining = [int(r.get("remaining") or 0) for r in table]
    excluded = [int(r.get("newly_excluded") or 0) for r in table]
    with _LOCK, matplotlib.rc_context(_RC):
        figure = Figure(figsize=(8.0, 0.34 * len(table) + 1.2))
        axes = figure.add_subplot()
        ys = list(range(len(table) - 1, -1, -1))
        axes.barh(ys, remaining, color="#1f4e79", label="remaining")
        axes.barh(ys, excluded, left=remaining, color="white", edgecolor="#b03a2e", hatch="///", label="newly excluded")
        top = max([a + b for a, b in zip(remaining, excluded, strict=True)] + [1])
        for y, r, e in zip(ys, remaining, excluded, strict=True):
            axes.annotate(f"{r}" + (f" (-{e})" if e else ""), (r + e, y), xytext=(4, 0), textcoords="offset points",
                          va="center", fontsize=8)
        axes.set_yticks(ys, [label if len(label) <= 60 else label[:57] + "..." for label in labels])
        axes.set_xlim(0, top * 1.15)
        axes.set_xlabel("patients")
        axes.set_title(title, loc="left", fontsize=10)
        for side in ("top", "right"):
            axes.spines[side].set_visible(False)
        axes.legend(loc="lower right", frameon=False, fontsize=8)
        return _svg(figure, f"{title}: {len(table)} steps")
