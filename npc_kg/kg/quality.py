"""Quality checks of the knowledge graph: ODK-style SPARQL QC queries and the knowledge-base shapes.

- :func:`run_qc` runs every ``queries/qc/*.rq`` file (``SELECT ?term ?property ?value``, each
  documented by a ``# description:`` header) over the merged graph. Every query must return
  zero rows; a row names the offending term.
- :func:`validate_kb` validates the merged graph with ``shapes/kb.ttl`` (pySHACL, no
  inference, no imports, no SHACL-AF, no JavaScript). The merged graph must conform.
- :func:`qc_report` joins both into ROBOT-report-like rows (level, rule, subject, property,
  value) for ``npc-kg qc``.

Both take an optional graph, so tests can plant a defect in a private copy.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import rdflib
from rdflib import Graph
from rdflib.plugins.sparql import prepareQuery
from rdflib.query import ResultRow
from rdflib.term import Node

from npc_kg.errors import NpcKgError
from npc_kg.kg.load import load
from npc_kg.namespace import PREFIXES, SH
from npc_kg.rdfio import parse_file
from npc_kg.resources import data_path

__all__ = [
    "LEVELS",
    "KbResult",
    "KbValidation",
    "QcQuery",
    "QcRow",
    "kb_shapes_graph",
    "qc_queries",
    "qc_report",
    "qc_tsv",
    "run_qc",
    "validate_kb",
]

LEVELS = ("ERROR", "WARN", "INFO")
"""ROBOT report levels, most severe first."""

_SHACL_LOCK = threading.Lock()


@dataclass(frozen=True)
class QcQuery:
    """One QC query file: its name (file stem), description header and SPARQL text."""

    name: str
    description: str
    severity: str
    path: Path
    text: str


def _header(text: str, key: str) -> str:
    """Return the value of a ``# key:`` header (continuation lines start with ``#   ``)."""
    lines = text.splitlines()
    for index, line in enumerate(lines):
        if line.startswith(f"# {key}:"):
            parts = [line.split(":", 1)[1].strip()]
            for follow in lines[index + 1 :]:
                if follow.startswith("#   "):
                    parts.append(follow[1:].strip())
                else:
                    break
            return " ".join(parts)
    return ""


def qc_queries() -> list[QcQuery]:
    """Return the QC queries of ``queries/qc/``, sorted by name."""
    queries = []
    for path in sorted(data_path("queries", "qc").glob("*.rq")):
        text = path.read_text(encoding="utf-8")
        queries.append(
            QcQuery(
                name=path.stem,
                description=_header(text, "description"),
                severity=_header(text, "severity") or "error",
                path=path,
                text=text,
            )
        )
    return queries


def _row_dict(row: ResultRow, variables: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for name in variables:
        value = row[name]
        out[name] = "" if value is None else str(value)
    return out


def run_qc(graph: Graph | None = None, *, names: list[str] | None = None) -> dict[str, list[dict[str, str]]]:
    """Run the QC queries over ``graph`` (the merged graph by default).

    Returns ``{query name: rows}``; each row maps ``term``, ``property`` and ``value`` to strings.
    A clean graph gives an empty list for every query. ``names`` restricts the run to some queries.
    """
    graph = graph if graph is not None else load()
    results: dict[str, list[dict[str, str]]] = {}
    for query in qc_queries():
        if names is not None and query.name not in names:
            continue
        prepared = prepareQuery(query.text, initNs=PREFIXES)
        rows = graph.query(prepared)
        variables = [str(v) for v in (rows.vars or [])]
        results[query.name] = [_row_dict(row, variables) for row in rows if isinstance(row, ResultRow)]
    return results


# ---------------------------------------------------------------------------------------------
# SHACL validation of the knowledge base
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class KbResult:
    """One validation result: focus node, path, the shape that produced it, and its message."""

    focus: Node
    path: Node | None
    source_shape: Node
    component: Node | None
    message: str | None


@dataclass(frozen=True)
class KbValidation:
    """Outcome of :func:`validate_kb`."""

    conforms: bool
    results: tuple[KbResult, ...]
    report: Graph
    text: str


def kb_shapes_graph() -> Graph:
    """Return a freshly parsed graph of ``shapes/kb.ttl``."""
    graph = Graph()
    parse_file(data_path("shapes", "kb.ttl"), "turtle", graph=graph, limited=False)
    return graph


def validate_kb(graph: Graph | None = None, *, shapes: Graph | None = None) -> KbValidation:
    """Validate ``graph`` (the merged graph by default) with the knowledge-base shapes.

    pySHACL runs without inference, OWL imports, SHACL-AF or JavaScript. It flips
    ``rdflib.NORMALIZE_LITERALS`` while it runs; the setting is restored afterwards.
    """
    from pyshacl import validate

    data = graph if graph is not None else load()
    shapes_graph = shapes if shapes is not None else kb_shapes_graph()
    with _SHACL_LOCK:
        normalize = rdflib.NORMALIZE_LITERALS
        try:
            conforms, report, text = validate(
                data,
                shacl_graph=shapes_graph,
                inference="none",
                advanced=False,
                js=False,
                do_owl_imports=False,
                allow_warnings=False,
            )
        finally:
            rdflib.NORMALIZE_LITERALS = normalize
    if not isinstance(report, Graph):  # pySHACL returns a failure object when the shapes are broken
        raise NpcKgError(f"cannot validate the knowledge base with shapes/kb.ttl: {report}")
    results = []
    for node in report.subjects(rdflib.RDF.type, SH.ValidationResult):
        message = report.value(node, SH.resultMessage)
        results.append(
            KbResult(
                focus=report.value(node, SH.focusNode),  # type: ignore[arg-type]
                path=report.value(node, SH.resultPath),
                source_shape=report.value(node, SH.sourceShape),  # type: ignore[arg-type]
                component=report.value(node, SH.sourceConstraintComponent),
                message=str(message) if message is not None else None,
            )
        )
    return KbValidation(conforms=bool(conforms), results=tuple(results), report=report, text=str(text))


# ---------------------------------------------------------------------------------------------
# ROBOT-report-like QC report (npc-kg qc)
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class QcRow:
    """One row of the QC report, as ROBOT ``report`` writes them: level, rule, subject, property, value."""

    level: str
    rule: str
    subject: str
    property: str
    value: str


_SEVERITY = {"error": "ERROR", "warn": "WARN", "warning": "WARN", "info": "INFO"}
_LEVELS = ("INFO", "WARN", "ERROR")
"""ROBOT's report levels, by the core's severity rank (sh:Info and others 0, sh:Warning 1, sh:Violation 2)."""


def _level(severity: object) -> str:
    """The ROBOT level of a SHACL result severity (a result without one is a violation, as in SHACL)."""
    from npc_kg.core.rules import SEVERITY_RANKS

    return _LEVELS[SEVERITY_RANKS.get(str(severity if severity is not None else SH.Violation), 0)]


def _short(node: object) -> str:
    from npc_kg.kg.prefixes import to_curie

    if node is None:
        return ""
    if isinstance(node, rdflib.URIRef):
        return to_curie(str(node))
    return " ".join(str(node).split())


def qc_report(graph: Graph | None = None) -> list[QcRow]:
    """Run the QC queries (``queries/qc/*.rq``) and the KB shapes (``shapes/kb.ttl``) over ``graph``.

    A QC query row gets the query's ``# severity:`` (``error`` unless it says ``warn`` or ``info``)
    and its name as the rule; a SHACL result gets its ``sh:resultSeverity`` and the name of its
    source shape (the nearest named shape) as the rule. Rows are sorted by level, rule and subject.
    """
    graph = graph if graph is not None else load()
    severity = {query.name: _SEVERITY.get(query.severity.strip().lower(), "ERROR") for query in qc_queries()}
    rows = []
    for name, found in run_qc(graph).items():
        for row in found:
            term = row.get("term", "")
            subject = _short(rdflib.URIRef(term)) if term.startswith(("http://", "https://", "urn:")) else term
            prop = _short(rdflib.URIRef(row["property"])) if row.get("property") else ""
            rows.append(QcRow(severity[name], name, subject, prop, " ".join(row.get("value", "").split())))
    validation = validate_kb(graph)
    for node in validation.report.subjects(rdflib.RDF.type, SH.ValidationResult):
        report = validation.report
        level = _level(report.value(node, SH.resultSeverity))
        shape = report.value(node, SH.sourceShape)
        rule = _short(shape) if isinstance(shape, rdflib.URIRef) else "kb-shape"
        value = report.value(node, SH.value)
        message = report.value(node, SH.resultMessage)
        rows.append(QcRow(level, rule, _short(report.value(node, SH.focusNode)), _short(report.value(node, SH.resultPath)),
                          _short(value) if value is not None else _short(message)))  # fmt: skip
    order = {level: index for index, level in enumerate(LEVELS)}
    return sorted(set(rows), key=lambda r: (order.get(r.level, 9), r.rule, r.subject, r.property, r.value))


def qc_tsv(rows: list[QcRow]) -> str:
    """The report as TSV with ROBOT's header (``Level Rule Name Subject Property Value``)."""
    lines = ["Level\tRule Name\tSubject\tProperty\tValue"]
    lines += ["\t".join(" ".join(cell.split()) for cell in (r.level, r.rule, r.subject, r.property, r.value)) for r in rows]
    return "\n".join(lines) + "\n"
