"""The HTML report: one self-contained file, readable without JavaScript, printable on A4.

Jinja2 templates (``npc_kg/assessment/templates/``, autoescaped) lay out
:func:`npc_kg.assessment.report.report_data`. The page loads nothing from the network: the
style sheet is inlined and the chart is inline SVG (:mod:`npc_kg.assessment.chart`).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from markupsafe import Markup
from rdflib import Graph

from npc_kg.assessment.report import label_of, report_data

if TYPE_CHECKING:  # pragma: no cover
    from jinja2 import Environment

    from npc_kg.assessment.assess import Assessment

__all__ = ["DISCLAIMER", "TEMPLATES", "environment", "fragment", "render_html", "stylesheet"]

TEMPLATES = Path(__file__).resolve().parent / "templates"
DISCLAIMER = "Assessment is decision support, not a decision: a clinician weighs it with everything else they know."

_LOCK = threading.Lock()
_ENV: list[Environment] = []


def environment() -> Environment:
    """The Jinja2 environment of the report templates (autoescaping on)."""
    with _LOCK:
        if not _ENV:
            from npc_kg.extras import require

            require("jinja2", "report", "HTML reports")
            from jinja2 import Environment, FileSystemLoader, StrictUndefined

            env = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=True, undefined=StrictUndefined,
                              trim_blocks=True, lstrip_blocks=True)
            env.filters["label"] = label_of
            _ENV.append(env)
        return _ENV[0]


def stylesheet() -> str:
    """The report's CSS (inlined into every page)."""
    return (TEMPLATES / "style.css").read_text(encoding="utf-8")


def _name(patient: str) -> str:
    return patient.rstrip("/").rsplit("/", 1)[-1] or patient


def _block(assessment: Assessment, graph: Graph | None, cap: int | None, index: int) -> str:
    from npc_kg.kg.packs import using_packs

    with using_packs(assessment.packs or None):  # the template's labels come from the assessment's configuration
        data = report_data(assessment, graph)
        return environment().get_template("assessment.html.j2").render(
            r=data, anchor=f"assessment-{index}", patient_name=_name(assessment.patient), disclaimer=DISCLAIMER, cap=cap,
        )


def fragment(assessment: Assessment, graph: Graph | None = None, *, cap: int | None = None) -> str:
    """The report of one assessment as an HTML fragment with its style (notebooks: ``_repr_html_``)."""
    body = _block(assessment, graph, cap, 0)
    return str(Markup('<div class="npc-kg-report"><style>{}</style>{}</div>').format(Markup(stylesheet()), Markup(body)))


def render_html(assessments: Sequence[Assessment], graphs: Mapping[str, Graph] | Graph | None = None, *,
                title: str | None = None, cap: int | None = None) -> str:
    """A self-contained HTML document reporting ``assessments``.

    ``graphs`` is the patient graph (or patient IRI -> graph): with it, the report shows the
    finding records behind each row and the range of outcomes. ``cap`` limits the evidence
    table (the rest is counted).
    """
    from npc_kg import __version__

    def graph_of(patient: str) -> Graph | None:
        if isinstance(graphs, Graph):
            return graphs
        return graphs.get(patient) if graphs else None

    blocks = [Markup(_block(a, graph_of(a.patient), cap, i)) for i, a in enumerate(assessments)]
    names = ", ".join(_name(a.patient) for a in assessments[:3]) + (" …" if len(assessments) > 3 else "")
    page: Any = environment().get_template("report.html.j2")
    return str(page.render(blocks=blocks, css=Markup(stylesheet()), version=__version__, disclaimer=DISCLAIMER,
                           title=title or f"npc-kg assessment: {names}"))
