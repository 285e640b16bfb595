"""The reference evaluator: pySHACL with the package's own shapes, no inference, no imports, no network.

The shapes come from :mod:`npc_kg.shacl.shapes`. A data graph is validated together with the
ontology's ``rdfs:subClassOf`` triples (copied into a private graph; the caller's graph is never
modified), so ``sh:class`` sees narrower finding classes and bridged external codes without
inference. pySHACL flips
``rdflib.NORMALIZE_LITERALS`` and the ``xsd:boolean`` conversion globally while it runs; both
are restored afterwards.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import rdflib
from rdflib import RDF, Graph, Literal, URIRef
from rdflib.term import Node

from npc_kg.namespace import SH
from npc_kg.shacl.shapes import shapes_graph, subclass_graph

__all__ = ["ShaclResult", "ValidationRun", "results_of", "validate"]


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


def _from_lexical(node: Node) -> Node:
    """Rebuild a literal from its lexical form and datatype, so its value follows the lexical form.

    rdflib's JSON-LD parser keeps JSON's native type as the value (``18`` stays an ``int`` under
    ``xsd:decimal``), which pySHACL's ``sh:datatype`` check would reject.
    """
    if isinstance(node, Literal) and node.datatype is not None:
        return Literal(str(node), datatype=node.datatype)
    return node


def _with_ontology(data: Graph | Iterable[Graph], subclasses: Graph) -> Graph:
    combined = Graph()
    for graph in [data] if isinstance(data, Graph) else data:
        for subject, predicate, obj in graph:
            combined.add((subject, predicate, _from_lexical(obj)))
    for triple in subclasses:
        combined.add(triple)
    return combined


def validate(data: Graph | Iterable[Graph], *, shapes: Graph | None = None, subclasses: Graph | None = None) -> ValidationRun:
    """Validate ``data`` (one graph or several) against the package's patient and eligibility shapes.

    ``shapes`` and ``subclasses`` replace the package's shapes and class hierarchy (tests, packs).
    """
    from pyshacl import validate as pyshacl_validate
    from rdflib.term import _XSD_PFX, _toPythonMapping

    combined = _with_ontology(data, subclasses if subclasses is not None else subclass_graph())
    boolean = URIRef(_XSD_PFX + "boolean")
    saved_normalize = rdflib.NORMALIZE_LITERALS
    saved_boolean = _toPythonMapping.get(boolean)
    try:
        _conforms, report, _text = pyshacl_validate(
            combined,
            shacl_graph=shapes if shapes is not None else shapes_graph(),
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
    return ValidationRun(report=report, results=tuple(results_of(report)))


def results_of(report: Graph) -> Iterable[ShaclResult]:
    """The results of a report, without those nested under another result's ``sh:detail``.

    pySHACL nests the results of the shape named by ``sh:node`` under the result it reports for
    ``sh:node`` itself; they explain that result and are not results of the validation (SHACL
    ``sh:detail``).
    """
    for node in report.subjects(RDF.type, SH.ValidationResult):
        if (None, SH.detail, node) in report:
            continue
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

