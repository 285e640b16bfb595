"""Export the merged graph in the formats other tools read, always written atomically.

Each format is one entry of :data:`EXPORTERS`: a function that writes the graph to a path.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from rdflib import Graph

from npc_kg.atomic import atomic_write_bytes
from npc_kg.errors import NpcKgError
from npc_kg.graph import graph_files, load

__all__ = ["EXPORTERS", "export", "register_exporter"]

Exporter = Callable[[Graph, Path], None]

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


for _name, _fmt in (("ttl", "longturtle"), ("nt", "nt"), ("xml", "pretty-xml")):
    register_exporter(_name)(_rdflib_exporter(_fmt))


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


def export(fmt: str, path: str | os.PathLike[str], *, graph: Graph | None = None) -> Path:
    """Write the merged graph (or ``graph``) to ``path`` in format ``fmt``; return the path."""
    _load_plugins()
    try:
        exporter = EXPORTERS[fmt]
    except KeyError:
        raise NpcKgError(f"unknown export format {fmt!r}; choose from {', '.join(sorted(EXPORTERS))}") from None
    target = Path(path)
    exporter(graph if graph is not None else load(), target)
    return target


def _load_plugins() -> None:
    """Import the optional exporter modules, which register themselves."""
    import importlib

    for module in ("npc_kg.exporters",):
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as error:
            if error.name != module:
                raise


def formats() -> list[str]:
    """Return the available export format names."""
    _load_plugins()
    return sorted(EXPORTERS)
