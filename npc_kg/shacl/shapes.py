"""The shapes graph for patient data of a configuration: the patient model, then each criteria
pack's shapes, parsed once per process and configuration.

Also the ``rdfs:subClassOf`` triples between named classes of the merged graph, which every
evaluator adds to the data so that ``sh:class`` sees narrower finding classes and bridged
external codes without inference. ``packs=None`` is the active configuration
(:func:`npc_kg.kg.packs.using_packs`).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from pathlib import Path

from rdflib import RDFS, Graph, URIRef

from npc_kg.kg.packs import PackInput, pack_key, resolve_packs
from npc_kg.rdfio import parse_file
from npc_kg.resources import data_path

__all__ = ["shape_files", "shapes_graph", "subclass_closure", "subclass_graph"]

_LOCK = threading.Lock()
_SHAPES: dict[tuple[str, ...], Graph] = {}
_SUBCLASSES: dict[tuple[str, ...], Graph] = {}


def shape_files(packs: Iterable[PackInput] | None = None) -> list[Path]:
    """Return the shapes files used for patient data: the patient model, then each pack's ``shapes/*.ttl``."""
    return [data_path("shapes", "patient.ttl"), *[path for pack in resolve_packs(packs) for path in pack.shape_files()]]


def shapes_graph(packs: Iterable[PackInput] | None = None) -> Graph:
    """Return the parsed shapes graph of the configuration (cached; treat as read-only)."""
    chosen = resolve_packs(packs)
    key = pack_key(chosen)
    with _LOCK:
        graph = _SHAPES.get(key)
    if graph is None:
        if not all(pack.builtin for pack in chosen):
            from npc_kg.kg.load import load

            load(packs=chosen)  # refuses packs that define the same IRI
        graph = Graph()
        for path in shape_files(chosen):
            parse_file(path, "turtle", graph=graph, limited=False)
        with _LOCK:
            graph = _SHAPES.setdefault(key, graph)
    return graph


def subclass_graph(kg: Graph | None = None, *, packs: Iterable[PackInput] | None = None) -> Graph:
    """The ``rdfs:subClassOf`` triples between named classes of ``kg`` (default: the configuration's
    merged graph, cached)."""
    if kg is not None:
        return _subclasses_of(kg)
    chosen = resolve_packs(packs)
    key = pack_key(chosen)
    with _LOCK:
        graph = _SUBCLASSES.get(key)
    if graph is None:
        from npc_kg.kg.load import load

        graph = _subclasses_of(load(packs=chosen))
        with _LOCK:
            graph = _SUBCLASSES.setdefault(key, graph)
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
