"""The shapes graph for patient data: the patient model, then the eligibility shapes, parsed once per process.

Also the ``rdfs:subClassOf`` triples between named classes of the merged graph, which every
evaluator adds to the data so that ``sh:class`` sees narrower finding classes and bridged
external codes without inference.
"""

from __future__ import annotations

import threading
from pathlib import Path

from rdflib import RDFS, Graph, URIRef

from npc_kg.rdfio import parse_file
from npc_kg.resources import data_path

__all__ = ["shape_files", "shapes_graph", "subclass_closure", "subclass_graph"]

_LOCK = threading.Lock()
_CACHE: dict[str, Graph] = {}


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


def subclass_graph(kg: Graph | None = None) -> Graph:
    """The ``rdfs:subClassOf`` triples between named classes of ``kg`` (default: the merged graph, cached)."""
    if kg is not None:
        return _subclasses_of(kg)
    with _LOCK:
        graph = _CACHE.get("subclass")
        if graph is None:
            from npc_kg.kg.load import load

            graph = _CACHE["subclass"] = _subclasses_of(load())
        return graph


def _subclasses_of(kg: Graph) -> Graph:
    graph = Graph()
    for sub, sup in kg.subject_objects(RDFS.subClassOf):
        if isinstance(sub, URIRef) and isinstance(sup, URIRef):
            graph.add((sub, RDFS.subClassOf, sup))
    return graph


def subclass_closure(graph: Graph) -> dict[str, frozenset[str]]:
    """Map each class IRI of ``graph``'s ``rdfs:subClassOf`` triples to itself and all its (transitive) subclasses."""
    children: dict[str, set[str]] = {}
    for sub, sup in graph.subject_objects(RDFS.subClassOf):
        if isinstance(sub, URIRef) and isinstance(sup, URIRef):
            children.setdefault(str(sup), set()).add(str(sub))
    closure: dict[str, frozenset[str]] = {}
    for cls in children:
        seen, stack = {cls}, [cls]
        while stack:
            for child in children.get(stack.pop(), ()):
                if child not in seen:
                    seen.add(child)
                    stack.append(child)
        closure[cls] = frozenset(seen)
    return closure
