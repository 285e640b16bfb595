"""Read SHACL test manifests (the W3C SHACL test-suite format) into :class:`Entry` objects.

A manifest (``mf:Manifest``) lists ``mf:entries`` and may ``mf:include`` other manifests. Each
``sht:Validate`` entry names a data graph and a shapes graph (``mf:action``) and the expected
``sh:ValidationReport`` (``mf:result``). Every file is parsed once, with its own file IRI as
base, so that ``<>`` names the file itself and a blank node of a file keeps its label in every
graph that file is: the data graph, the shapes graph and the expected report.

Format: https://w3c.github.io/data-shapes/data-shapes-test-suite/ (the suite's own index page).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import rdflib
from rdflib import RDF, Graph, Literal, Namespace, URIRef
from rdflib.collection import Collection
from rdflib.term import Node

from npc_kg.namespace import SH
from tests.shacl.evaluators import Key, Result, path_key, term_key

__all__ = ["Entry", "Expected", "entries", "suite_root"]

MF = Namespace("http://www.w3.org/2001/sw/DataAccess/tests/test-manifest#")
SHT = Namespace("http://www.w3.org/ns/shacl-test#")

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent


@dataclass(frozen=True)
class Expected:
    """The expected report: conformance, the core triples, and per result the details pySHACL can match."""

    conforms: bool
    results: frozenset[Result]
    details: tuple[tuple[Key, Key, Key, Key | None, object, Key | None], ...]


@dataclass(frozen=True)
class Entry:
    """One ``sht:Validate`` entry: id (``folder/name``), label, graphs and the expected report."""

    id: str
    label: str
    data_file: Path
    shapes_file: Path
    expected: Expected

    @property
    def data(self) -> Graph:
        return _parse(self.data_file)

    @property
    def shapes(self) -> Graph:
        return _parse(self.shapes_file)


def suite_root() -> Path | None:
    """The folder of the W3C SHACL Core tests (``tests/shacl/w3c/core``, see ``w3c/README.md``), or None if missing."""
    root = HERE / "w3c" / "core"
    return root if (root / "manifest.ttl").is_file() else None


@cache
def _parse(path: Path) -> Graph:
    """The graph of one file, parsed once (treat as read-only), every literal as written.

    rdflib normalises lexical forms by default (``"none"^^xsd:boolean`` becomes ``"false"``,
    ``"05"^^xsd:integer`` becomes ``"5"``), which would change what the tests test.
    """
    saved, rdflib.NORMALIZE_LITERALS = rdflib.NORMALIZE_LITERALS, False
    try:
        graph = Graph()
        graph.parse(path, format="turtle", publicID=path.as_uri())
    finally:
        rdflib.NORMALIZE_LITERALS = saved
    return graph


def _file(iri: Node, fallback: Path) -> Path:
    text = str(iri)
    return Path(text.removeprefix("file://")) if text.startswith("file://") else fallback


def entries(manifest: Path, root: Path | None = None) -> list[Entry]:
    """Every ``sht:Validate`` entry of ``manifest`` and the manifests it includes, ids relative to ``root``."""
    manifest = manifest.resolve()
    root = (root or manifest.parent).resolve()
    graph = _parse(manifest)
    found: list[Entry] = []
    me = URIRef(manifest.as_uri())
    for include in sorted(graph.objects(me, MF.include), key=str):
        found += entries(_file(include, manifest), root)
    for listed in graph.objects(me, MF.entries):
        for entry in Collection(graph, listed):
            if (entry, RDF.type, SHT.Validate) in graph:
                found.append(_entry(graph, entry, manifest, root))
    return found


def _entry(graph: Graph, entry: Node, manifest: Path, root: Path) -> Entry:
    action = graph.value(entry, MF.action)
    data_file = _file(graph.value(action, SHT.dataGraph), manifest)
    shapes_file = _file(graph.value(action, SHT.shapesGraph), manifest)
    report = graph.value(entry, MF.result)
    conforms = graph.value(report, SH.conforms)
    details = []
    for result in graph.objects(report, SH.result):
        severity = graph.value(result, SH.resultSeverity)
        component = graph.value(result, SH.sourceConstraintComponent)
        value = graph.value(result, SH.value)
        details.append((
            term_key(graph.value(result, SH.focusNode)), term_key(graph.value(result, SH.sourceShape)),
            term_key(severity if severity is not None else SH.Violation),
            term_key(component) if component is not None else None,
            path_key(graph, graph.value(result, SH.resultPath)),
            term_key(value) if value is not None else None,
        ))
    expected = Expected(
        conforms=bool(conforms.toPython()) if isinstance(conforms, Literal) else not details,
        results=frozenset((f, s, v) for f, s, v, *_rest in details),
        details=tuple(sorted(details, key=repr)),
    )
    name = str(entry).rsplit("/", 1)[-1]
    folder = manifest.parent.relative_to(root).as_posix()
    label = graph.value(entry, URIRef("http://www.w3.org/2000/01/rdf-schema#label"))
    return Entry(f"{folder}/{name}" if folder != "." else name, str(label or name), data_file, shapes_file, expected)
