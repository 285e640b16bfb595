"""Load the merged knowledge graph: ontology, knowledge base and mappings."""

from __future__ import annotations

import threading
from pathlib import Path

from rdflib import Graph

from npc_kg.namespace import PREFIXES
from npc_kg.rdfio import parse_file
from npc_kg.resources import data_path

__all__ = ["graph_files", "load", "ontology_files"]

_LOCK = threading.Lock()
_CACHE: dict[str, Graph] = {}


def ontology_files() -> list[Path]:
    """Return the Turtle files of the ontology (TBox) and the knowledge base, in load order."""
    root = data_path("ontology")
    return sorted(root.glob("*.ttl")) + sorted((root / "kb").glob("*.ttl"))


def graph_files() -> list[Path]:
    """Return every file that makes up the merged graph: ontology, knowledge base, mappings."""
    return ontology_files() + sorted(data_path("mappings").glob("*.ttl"))


def _bind(graph: Graph) -> Graph:
    for prefix, iri in PREFIXES.items():
        graph.bind(prefix, iri, override=True)
    return graph


def load(*, fresh: bool = False) -> Graph:
    """Return the merged graph (ontology + knowledge base + mappings).

    The graph is parsed once per process and the same object is returned on later calls;
    treat it as read-only. Pass ``fresh=True`` for a private, newly parsed copy.
    """
    if fresh:
        return _parse_all()
    with _LOCK:
        cached = _CACHE.get("merged")
        if cached is None:
            cached = _CACHE["merged"] = _parse_all()
        return cached


def _parse_all() -> Graph:
    graph = _bind(Graph())
    for path in graph_files():
        parse_file(path, "turtle", graph=graph)
    return graph
