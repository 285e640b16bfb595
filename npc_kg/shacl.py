"""Safe pySHACL wrapper: the package's own shapes, no inference, no imports, no network.

The shapes (``shapes/patient.ttl`` and ``shapes/eligibility/*.ttl``) are parsed once per
process. A data graph is validated together with the ontology's ``rdfs:subClassOf`` triples
(copied into a private graph; the caller's graph is never modified), so ``sh:class`` sees
narrower finding classes and bridged external codes without inference. pySHACL flips
``rdflib.NORMALIZE_LITERALS`` and the ``xsd:boolean`` conversion globally while it runs; both
are restored afterwards.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import rdflib
from rdflib import RDF, RDFS, Graph, Literal, URIRef
from rdflib.term import Node

from npc_kg.namespace import SH
from npc_kg.rdfio import parse_file
from npc_kg.resources import data_path

__all__ = ["ShaclResult", "ValidationRun", "shape_files", "shapes_graph", "subclass_graph", "validate"]

_LOCK = threading.Lock()
_CACHE: dict[str, Graph] = {}


@dataclass(frozen=True)
class ShaclResult:
    """One ``sh:ValidationResult`` of a run (``node`` is its node in the report graph)."""

    node: Node
    focus: Node
    path: Node | None
    severity: URIRef
    source_shape: Node
    component: URIRef | None
    message: str | None


@dataclass(frozen=True)
class ValidationRun:
    """The report graph of one pySHACL run and its results."""

    report: Graph
    results: tuple[ShaclResult, ...]


def shape_files() -> list[Path]:
    """Return the shapes files used for patient data: the patient model, then eligibility."""
    return [data_path("shapes", "patient.ttl"), *sorted(data_path("shapes", "eligibility").glob("*.ttl"))]


def shapes_graph() -> Graph:
    """Return the parsed shapes graph (cached; treat as read-only)."""
    with _LOCK:
        graph = _CACHE.get("shapes")
        if graph is None:
            graph = Graph()
            for path in shape_files():
                parse_file(path, "turtle", graph=graph)
            _CACHE["shapes"] = graph
        return graph


def subclass_graph() -> Graph:
    """Return the ``rdfs:subClassOf`` triples between named classes of the merged graph (cached)."""
    with _LOCK:
        graph = _CACHE.get("subclass")
        if graph is None:
            from npc_kg.graph import load

            graph = Graph()
            for sub, sup in load().subject_objects(RDFS.subClassOf):
                if isinstance(sub, URIRef) and isinstance(sup, URIRef):
                    graph.add((sub, RDFS.subClassOf, sup))
            _CACHE["subclass"] = graph
        return graph


def _from_lexical(node: Node) -> Node:
    """Rebuild a literal from its lexical form and datatype, so its value follows the lexical form.

    rdflib's JSON-LD parser keeps JSON's native type as the value (``18`` stays an ``int`` under
    ``xsd:decimal``), which pySHACL's ``sh:datatype`` check would reject.
    """
    if isinstance(node, Literal) and node.datatype is not None:
        return Literal(str(node), datatype=node.datatype)
    return node


def _with_ontology(data: Graph | Iterable[Graph]) -> Graph:
    combined = Graph()
    for graph in [data] if isinstance(data, Graph) else data:
        for subject, predicate, obj in graph:
            combined.add((subject, predicate, _from_lexical(obj)))
    for triple in subclass_graph():
        combined.add(triple)
    return combined


def validate(data: Graph | Iterable[Graph]) -> ValidationRun:
    """Validate ``data`` (one graph or several) against the package's patient and eligibility shapes."""
    from pyshacl import validate as pyshacl_validate
    from rdflib.term import _XSD_PFX, _toPythonMapping

    combined = _with_ontology(data)
    boolean = URIRef(_XSD_PFX + "boolean")
    saved_normalize = rdflib.NORMALIZE_LITERALS
    saved_boolean = _toPythonMapping.get(boolean)
    try:
        _conforms, report, _text = pyshacl_validate(
            combined,
            shacl_graph=shapes_graph(),
            ont_graph=None,
            inference="none",
            advanced=False,
            js=False,
            do_owl_imports=False,
            allow_infos=True,
            allow_warnings=True,
            inplace=True,
        )
    finally:
        rdflib.NORMALIZE_LITERALS = saved_normalize
        if saved_boolean is not None:
            _toPythonMapping[boolean] = saved_boolean
    assert isinstance(report, Graph)
    return ValidationRun(report=report, results=tuple(_results(report)))


def _results(report: Graph) -> Iterable[ShaclResult]:
    for node in report.subjects(RDF.type, SH.ValidationResult):
        message = report.value(node, SH.resultMessage)
        severity = report.value(node, SH.resultSeverity)
        component = report.value(node, SH.sourceConstraintComponent)
        yield ShaclResult(
            node=node,
            focus=report.value(node, SH.focusNode),  # type: ignore[arg-type]
            path=report.value(node, SH.resultPath),
            severity=severity if isinstance(severity, URIRef) else SH.Violation,
            source_shape=report.value(node, SH.sourceShape),  # type: ignore[arg-type]
            component=component if isinstance(component, URIRef) else None,
            message=str(message) if isinstance(message, Literal) else None,
        )

