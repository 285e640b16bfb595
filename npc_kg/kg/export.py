"""Export the merged graph in the formats other tools read, always written atomically.

Each format is one entry of :data:`npc_kg.exporters.registry.EXPORTERS`; the modules of
:mod:`npc_kg.exporters` register ``owl`` (RDF/XML by owlready2, for Protégé), ``ofn`` and ``owx`` (the OWL API: Java and
libowlapi-java), ``sssom``, ``kgx`` (Biolink TSV), ``nanopub`` (a folder of TriG nanopublications) and
``fhir-conceptmap`` (the FHIR code table as a FHIR R4 ConceptMap).
"""

from __future__ import annotations

import os
from pathlib import Path

from rdflib import Graph

from npc_kg.atomic import is_stdout
from npc_kg.errors import InputError, OutputError
from npc_kg.exporters import fhir_conceptmap, kgx, nanopub, owl, owlapi, sssom  # noqa: F401 - each registers its formats
from npc_kg.exporters.registry import EXPORTERS
from npc_kg.kg.load import load
from npc_kg.suggest import unknown

FOLDER_FORMATS = ("kgx", "nanopub")
"""Formats written as several files (a prefix or a folder), never to standard output."""

__all__ = ["FOLDER_FORMATS", "export", "formats"]


def export(
    fmt: str, path: str | os.PathLike[str], *, graph: Graph | None = None, sign: str | os.PathLike[str] | None = None
) -> Path:
    """Write the merged graph (or ``graph``) to ``path`` in format ``fmt``; return the path.

    ``sign`` (format ``nanopub`` only) is the user's RSA private key file: the nanopublications
    are signed with it. They are never published.
    """
    try:
        exporter = EXPORTERS[fmt]
    except KeyError:
        raise InputError(unknown("export format", fmt, EXPORTERS)) from None
    if is_stdout(path) and fmt in FOLDER_FORMATS:
        raise OutputError(f"-: --format {fmt} writes several files; give a file prefix or a new or empty folder")
    if sign is not None and fmt != "nanopub":
        raise InputError(f"--sign applies to --format nanopub only, not {fmt!r}")
    target = Path(path)
    if sign is not None:
        exporter(graph if graph is not None else load(), target, sign=sign)
    else:
        exporter(graph if graph is not None else load(), target)
    return target


def formats() -> list[str]:
    """Return the available export format names."""
    return sorted(EXPORTERS)
