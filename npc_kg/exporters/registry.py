"""The export formats: one entry of :data:`EXPORTERS` per ``--format`` value, a function that writes a graph to a path.

The RDF serialisations are registered here; the modules of this package register the others.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from rdflib import Graph

from npc_kg.atomic import atomic_write_bytes
from npc_kg.kg.load import graph_files
from npc_kg.kg.turtle import turtle_text

__all__ = ["EXPORTERS", "Exporter", "register_exporter"]

Exporter = Callable[..., None]
"""``exporter(graph, path, **options)``; only the ``nanopub`` exporter takes an option (``sign``)."""

EXPORTERS: dict[str, Exporter] = {}


def register_exporter(name: str) -> Callable[[Exporter], Exporter]:
    """Decorator that adds an exporter under ``name`` (the ``--format`` value)."""

    def decorate(function: Exporter) -> Exporter:
        EXPORTERS[name] = function
        return function

    return decorate


def _rdflib_exporter(rdflib_format: str) -> Exporter:
    def write(graph: Graph, path: Path) -> None:
        data = graph.serialize(format=rdflib_format, encoding="utf-8")
        atomic_write_bytes(path, data, inputs=graph_files())

    return write


for _name, _fmt in (("nt", "nt"), ("xml", "pretty-xml")):
    register_exporter(_name)(_rdflib_exporter(_fmt))


@register_exporter("ttl")
def _write_turtle(graph: Graph, path: Path) -> None:
    """Turtle in rdflib's stable longturtle layout, with ``@prefix`` lines the OWL API reads."""
    atomic_write_bytes(path, turtle_text(graph).encode("utf-8"), inputs=graph_files())


@register_exporter("jsonld")
def _write_jsonld(graph: Graph, path: Path) -> None:
    """JSON-LD with the published local context inlined (never a remote reference)."""
    import json

    from npc_kg.namespace import PREFIXES
    from npc_kg.resources import data_path

    context_file = data_path("ontology", "context.jsonld")
    context = json.loads(context_file.read_text(encoding="utf-8"))["@context"] if context_file.exists() else dict(PREFIXES)
    data = graph.serialize(format="json-ld", context=context, encoding="utf-8")
    atomic_write_bytes(path, data, inputs=graph_files())
