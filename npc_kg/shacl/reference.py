"""The reference evaluator: pySHACL with the package's own shapes, no inference, no imports, no network.

The shapes come from :mod:`npc_kg.shacl.shapes` (or the caller). A data graph is validated
together with the ontology's ``rdfs:subClassOf`` triples (copied into a private graph; the
caller's graph is never modified), so ``sh:class`` sees narrower finding classes and bridged
external codes without inference. pySHACL flips ``rdflib.NORMALIZE_LITERALS`` and the
``xsd:boolean`` conversion globally while it runs; both are restored afterwards.

:class:`ReferenceEvaluator` maps pySHACL's results onto the units of the plan
(:mod:`npc_kg.shacl.plan`): the same hits (:data:`npc_kg.core.rules.Hit`) as the compiled
evaluators, and the result nodes behind each hit.
"""

from __future__ import annotations

from collections.abc import Callable, Container, Iterable
from dataclasses import dataclass
from typing import Any

from rdflib import RDF, BNode, Graph, Literal, URIRef
from rdflib.term import Node

from npc_kg.core.rules import Hit, owners_of
from npc_kg.namespace import NPC, SH
from npc_kg.rdfio import literals_as_written
from npc_kg.shacl.plan import Plan
from npc_kg.shacl.shapes import shapes_graph, subclass_graph
from npc_kg.shacl.values import node_key

__all__ = ["ReferenceEvaluator", "ShaclResult", "ValidationRun", "results_of", "validate"]


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

    boolean = URIRef(_XSD_PFX + "boolean")
    saved_boolean = _toPythonMapping.get(boolean)
    try:
        with literals_as_written():
            combined = _with_ontology(data, subclasses if subclasses is not None else subclass_graph())
            _conforms, report, _text = pyshacl_validate(
                combined, shacl_graph=shapes if shapes is not None else shapes_graph(), ont_graph=None,
                inference="none", advanced=False, js=False, do_owl_imports=False, allow_infos=True,
                allow_warnings=True, inplace=True,
            )
    finally:
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


class ReferenceEvaluator:
    """pySHACL, its results mapped onto the units of the plan.

    ``shapes`` and ``subclasses`` (graphs, or functions that return them) replace the package's.
    """

    def __init__(self, plan: Plan, *, shapes: Graph | Callable[[], Graph] | None = None,
                 subclasses: Graph | Callable[[], Graph] | None = None) -> None:
        self.plan = plan
        self.units = {unit.shape: unit for unit in plan.units}
        self._shapes = shapes
        self._subclasses = subclasses

    @property
    def shapes(self) -> Graph:
        """The shapes graph pySHACL validates with."""
        found = self._shapes() if callable(self._shapes) else self._shapes
        return found if found is not None else shapes_graph()

    @property
    def subclasses(self) -> Graph:
        """The ``rdfs:subClassOf`` triples validated with the data."""
        found = self._subclasses() if callable(self._subclasses) else self._subclasses
        return found if found is not None else subclass_graph()

    def validate(self, data: Graph | Iterable[Graph]) -> ValidationRun:
        """One pySHACL run over ``data``."""
        if self._shapes is None and self._subclasses is None:
            return validate(data)
        return validate(data, shapes=self.shapes, subclasses=self.subclasses)

    def hits(self, run: ValidationRun, data: Graph, *, units: Container[str] | None = None
             ) -> tuple[set[Any], list[Hit], dict[tuple[str, Any], list[Node]]]:
        """The patients of ``data``, the hits of ``run`` (only of ``units``, if given), and the result nodes of each hit."""
        patients = {node_key(p) for p in data.subjects(RDF.type, NPC.Patient)}
        found: dict[tuple[str, Any], list[Node]] = {}
        foci: dict[tuple[str, Any], Node] = {}
        for result in run.results:
            shape = result.source_shape
            shape_id = f"_:{shape}" if isinstance(shape, BNode) else str(shape)
            if shape_id not in self.units or (units is not None and shape_id not in units):
                continue
            key = (shape_id, node_key(result.focus))
            found.setdefault(key, []).append(result.node)
            foci[key] = result.focus
        hits: list[Hit] = []
        for (shape_id, focus), node in foci.items():
            owners = [node_key(o) for o in data.subjects(NPC.hasFinding, node)]
            hits.append((self.units[shape_id], focus, owners_of(focus, patients, owners)))
        return patients, hits, found

    def graph_hits(self, data: Graph, *, units: Container[str] | None = None) -> tuple[set[Any], list[Hit]]:
        """The patients and hits of one pySHACL run over ``data``."""
        patients, hits, _results = self.hits(self.validate(data), data, units=units)
        return patients, hits
