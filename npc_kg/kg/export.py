"""Export the merged graph in the formats other tools read, always written atomically.

Each format is one entry of :data:`npc_kg.exporters.registry.EXPORTERS`; the modules of
:mod:`npc_kg.exporters` register ``owl`` (RDF/XML by owlready2, for Protégé), ``ofn`` and ``owx`` (the OWL API: Java and
libowlapi-java), ``sssom``, ``kgx`` (Biolink TSV), ``nanopub`` (a folder of TriG nanopublications) and
``fhir-conceptmap`` (the FHIR code table as a FHIR R4 ConceptMap).

An export is of one configuration (the package's criteria packs plus ``packs``): the merged
graph holds every loaded pack's manifest and individuals, and its ontology header names the
packs (``dcterms:hasPart``). The RDF serialisations (:data:`WITH_SHAPES`: ``ttl``, ``nt``,
``xml``, ``jsonld``) also carry the packs' SHACL shapes (:func:`export_graph`), so that one file
holds a pack whole; the OWL, KGX, SSSOM, nanopublication and ConceptMap exports are views of the
merged graph.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from rdflib import Graph

from npc_kg.atomic import is_stdout
from npc_kg.errors import InputError, OutputError
from npc_kg.exporters import fhir_conceptmap, kgx, nanopub, owl, owlapi, sssom  # noqa: F401 - each registers its formats
from npc_kg.exporters.registry import EXPORTERS
from npc_kg.kg.load import load
from npc_kg.kg.packs import PackInput, resolve_packs, using_packs
from npc_kg.suggest import unknown

FOLDER_FORMATS = ("kgx", "nanopub")
"""Formats written as several files (a prefix or a folder), never to standard output."""

__all__ = ["FOLDER_FORMATS", "WITH_SHAPES", "export", "export_graph", "formats"]

WITH_SHAPES = ("ttl", "nt", "xml", "jsonld")
"""The formats whose export carries the loaded packs' shapes as well as their individuals."""


def export_graph(packs: Iterable[PackInput] | None = None) -> Graph:
    """The merged graph of the configuration of ``packs`` plus every loaded pack's shapes (a new graph)."""
    from npc_kg.rdfio import parse_file

    chosen = resolve_packs(packs)
    graph = Graph()
    for prefix, namespace in load(packs=chosen).namespaces():
        graph.bind(prefix, namespace, override=True)
    graph += load(packs=chosen)
    for pack in chosen:
        for path in pack.shape_files():
            parse_file(path, "turtle", graph=graph, limited=False)
    return graph


def export(
    fmt: str, path: str | os.PathLike[str], *, graph: Graph | None = None, sign: str | os.PathLike[str] | None = None,
    packs: Iterable[PackInput] | None = None,
) -> Path:
    """Write the merged graph (or ``graph``) to ``path`` in format ``fmt``; return the path.

    ``packs`` are criteria-pack folders loaded beside the package's (``docs/packs.md``); the
    formats of :data:`WITH_SHAPES` also carry the loaded packs' shapes. ``sign`` (format
    ``nanopub`` only) is the user's RSA private key file: the nanopublications are signed with
    it. They are never published.
    """
    if not isinstance(fmt, str):
        raise InputError(f"the export format is text (one of {', '.join(EXPORTERS)}), not {type(fmt).__name__}")
    if not isinstance(path, str | os.PathLike):
        raise OutputError(f"the export target is a file name or a path, not {type(path).__name__}")
    if graph is not None and not isinstance(graph, Graph):
        raise InputError(f"graph= is an rdflib Graph, not {type(graph).__name__}")
    try:
        exporter = EXPORTERS[fmt]
    except KeyError:
        raise InputError(unknown("export format", fmt, EXPORTERS)) from None
    if is_stdout(path) and fmt in FOLDER_FORMATS:
        raise OutputError(f"-: --format {fmt} writes several files; give a file prefix or a new or empty folder")
    if sign is not None and fmt != "nanopub":
        raise InputError(f"--sign (sign=) applies to --format nanopub only, not {fmt!r}")
    if fmt == "kgx" and str(path).endswith(("/", os.sep)) and not Path(path).is_dir():  # a prefix, or a folder that exists
        raise OutputError(f"{path}: no such folder; create it first, or give a file prefix such as out/npc-kg")
    target = Path(path)
    with using_packs(packs):  # the exporters refuse to overwrite any file of the configuration
        from npc_kg.atomic import check_not_input
        from npc_kg.kg.load import graph_files
        from npc_kg.resources import knowledge_files

        check_not_input(target, [*graph_files(), *(p for pack in resolve_packs(None) for p in pack.shape_files()),
                                 *knowledge_files()])
        if graph is None:
            graph = export_graph() if fmt in WITH_SHAPES else load()
        if sign is not None:
            exporter(graph, target, sign=sign)
        else:
            exporter(graph, target)
    return target


def formats() -> list[str]:
    """Return the available export format names."""
    return sorted(EXPORTERS)
