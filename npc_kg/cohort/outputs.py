"""Provenance and the HTML view of a cohort run.

Every cohort output carries the provenance of the run (knowledge-base version, ontology
version, treatment, engine, time; :mod:`npc_kg.assessment.provenance`):

- CSV and JSON Lines rows, and the attrition CSV: a sidecar ``<file>.prov.json`` (a header line
  would break the readers of those formats, and rows out = patients in);
- Parquet: the schema metadata key ``npc_kg.provenance`` (JSON);
- the HTML cohort report (``--report``): its footer.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from npc_kg.assessment.provenance import Provenance, current

if TYPE_CHECKING:  # pragma: no cover
    from npc_kg.cohort.writer import Attrition

__all__ = ["PARQUET_KEY", "SIDECAR_SUFFIX", "cohort_provenance", "finish_outputs", "render_cohort_html", "rows_sidecar",
           "sidecar_path", "write_cohort_html", "write_sidecar"]

SIDECAR_SUFFIX = ".prov.json"
PARQUET_KEY = b"npc_kg.provenance"


def cohort_provenance(engine: str, at: str | datetime | None = None, treatment: str | None = None) -> Provenance:
    """The provenance of a cohort run with ``engine`` for ``treatment`` (default: the one treatment
    the active configuration's shapes implement criteria of), with the configuration's criteria packs."""
    if treatment is None:
        from npc_kg.assessment.treatments import default_treatment

        treatment = default_treatment()
    return current(treatment, "local" if engine == "fast" else engine, at)


def sidecar_path(output: str | Path) -> Path:
    """Where the provenance of ``output`` is written: ``<output>.prov.json``."""
    return Path(f"{output}{SIDECAR_SUFFIX}")


def rows_sidecar(out: Any, fmt: str) -> Path | None:
    """The provenance sidecar of the rows ``out`` in ``fmt``, or None: parquet keeps provenance in its
    metadata, and standard output (``-``) or memory (None, a stream) has no "beside"."""
    if fmt == "parquet" or not isinstance(out, str | Path) or str(out) == "-":
        return None
    return sidecar_path(out)


def write_sidecar(output: str | Path, provenance: Provenance, *, fmt: str, rows: int | None = None,
                  inputs: Sequence[str | Path] = ()) -> Path:
    """Write the provenance of ``output`` beside it, atomically; return the sidecar's path."""
    from npc_kg.atomic import atomic_write_text

    path = sidecar_path(output)
    data: dict[str, Any] = {"output": Path(output).name, "format": fmt, **provenance.to_dict()}
    if rows is not None:
        data["rows"] = rows
    atomic_write_text(path, json.dumps(data, indent=2) + "\n", inputs=inputs)
    return path


def render_cohort_html(attrition: Attrition, provenance: Provenance, *, title: str = "npc-kg cohort screening") -> str:
    """The cohort view: the attrition as a chart and a table, and the verdict counts."""
    from markupsafe import Markup

    from npc_kg import __version__
    from npc_kg.assessment.chart import attrition_chart
    from npc_kg.assessment.html import DISCLAIMER, environment, stylesheet
    from npc_kg.assessment.report import label_of

    table = attrition.table()
    from npc_kg.core.rules import ROW_VERDICTS

    verdicts = [(v, attrition.verdicts.get(v, 0)) for v in ROW_VERDICTS]
    verdicts += sorted((v, n) for v, n in attrition.verdicts.items() if v not in ROW_VERDICTS)
    return str(environment().get_template("cohort.html.j2").render(
        title=title, css=Markup(stylesheet()), version=__version__, disclaimer=DISCLAIMER, table=table,
        chart=Markup(attrition_chart(table)), verdicts=verdicts, total=attrition.total, provenance=provenance,
        treatment_label=label_of(provenance.treatment),
    ))


def write_cohort_html(path: str | Path, attrition: Attrition, provenance: Provenance, *,
                      inputs: Sequence[str | Path] = ()) -> None:
    """Write :func:`render_cohort_html` to ``path``, atomically."""
    from npc_kg.atomic import atomic_write_text

    atomic_write_text(path, render_cohort_html(attrition, provenance), inputs=inputs)


def finish_outputs(provenance: Provenance, attrition: Attrition, out: Any, fmt: str, rows: int, *,
                   attrition_csv: str | Path | None = None, report: str | Path | None = None,
                   inputs: Sequence[str | Path] = ()) -> None:
    """After a cohort run: the provenance sidecars (rows CSV/JSONL, attrition CSV) and the HTML report."""
    if attrition_csv is not None:
        write_sidecar(attrition_csv, provenance, fmt="csv", inputs=inputs)
    if report is not None:
        write_cohort_html(report, attrition, provenance, inputs=inputs)
    if rows_sidecar(out, fmt) is not None:
        write_sidecar(out, provenance, fmt=fmt, rows=rows, inputs=inputs)
