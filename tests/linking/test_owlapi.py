"""OWL functional syntax (``ofn``) and OWL/XML (``owx``) written by the OWL API, through the CLI.

Round trip: each export is read back by the OWL API itself, written as Turtle and compared with
``npc_kg.load()``. OWL/XML goes ``owx -> ofn -> ttl``: OWL API 5.1.20 writes an anonymous
individual read from OWL/XML as one blank node per occurrence (its OWL/XML parser makes a new
object per occurrence, its RDF writers key blank nodes by object identity), so ``OwlConvert``
refuses ``owx -> ttl``. Literals come back unchanged (no ``xsd:string`` or ``xsd:decimal``
rewrites, unlike owlready2) and every blank-node provenance triple survives. Two normalisations
are needed, both without meaning in OWL:

1. Declarations the OWL API adds for entities the source uses without declaring them
   (``rdf:type`` triples, currently 80): ``owl:NamedIndividual`` for knowledge-base individuals
   typed only by their class, ``owl:Class`` for ``oa:SpecificResource`` and
   ``oa:TextQuoteSelector`` (the types of the blank provenance nodes), and ``rdfs:Datatype`` for
   ``xsd:date`` and ``xsd:gYearMonth`` (outside the OWL 2 datatype map). Only such a triple whose
   subject the source uses in that role (typed subject, class, literal datatype) is removed.
2. ``owl:oneOf`` is a set: the OWL API writes its members in its own order, so the RDF list comes
   back in another order. Every ``owl:oneOf`` list is rewritten with its members sorted.
"""

from __future__ import annotations

import socket
import threading
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from contextlib import suppress
from pathlib import Path

import pytest
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.compare import isomorphic
from rdflib.namespace import OWL, RDF, RDFS
from rdflib.term import Node

import npc_kg
from npc_kg.errors import ExternalToolError
from npc_kg.exporters.owlapi import CLASSPATH_ENV, owlapi_convert
from npc_kg.namespace import OA, ONTOLOGY_IRI
from npc_kg.rdfio import parse_text
from tests.linking.conftest import need_owlapi, run_cli

pytestmark = pytest.mark.java

FORMATS = ("ofn", "owx")


@pytest.fixture(scope="module")
def exports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """``npc-kg export --format ofn|owx -o npc-kg.ofn|owx`` run once each, in one folder."""
    need_owlapi()
    folder = tmp_path_factory.mktemp("owlapi")
    for fmt in FORMATS:
        result = run_cli(folder, "export", "--format", fmt, "-o", f"npc-kg.{fmt}")
        assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in folder.iterdir()) == ["npc-kg.ofn", "npc-kg.owx"]  # no temporary file left
    return {fmt: folder / f"npc-kg.{fmt}" for fmt in FORMATS}


def _is_added_declaration(triple: tuple[Node, Node, Node], source: Graph) -> bool:
    """A declaration the OWL API adds for an entity that ``source`` uses in that role undeclared."""
    subject, predicate, kind = triple
    if predicate != RDF.type or triple in source:
        return False
    if kind == OWL.NamedIndividual:
        return (subject, RDF.type, None) in source
    if kind == OWL.Class:
        return (None, RDF.type, subject) in source
    if kind == RDFS.Datatype:
        return any(isinstance(o, Literal) and o.datatype == subject for o in source.objects())
    return False


def _normalised(back: Graph, source: Graph) -> Graph:
    """``back`` without the declarations the OWL API adds, with ``owl:oneOf`` members sorted and
    ``owl:equivalentClass`` between two named classes written one way (it is symmetric; the OWL API
    orders the operands of EquivalentClasses its own way)."""
    out = Graph()
    for triple in back:
        if not _is_added_declaration(triple, source):
            subject, predicate, obj = triple
            if predicate == OWL.equivalentClass and isinstance(subject, URIRef) and isinstance(obj, URIRef) and obj < subject:
                triple = (obj, predicate, subject)
            out.add(triple)
    for head in list(out.objects(None, OWL.oneOf)):
        cells = []
        node = head
        while node != RDF.nil:
            cells.append(node)
            node = out.value(node, RDF.rest)
        members = sorted(out.value(cell, RDF.first) for cell in cells)
        for cell, member in zip(cells, members, strict=True):
            out.set((cell, RDF.first, member))
    return out


def _sorted_one_of(graph: Graph) -> Graph:
    return _normalised(graph, graph)  # the source declares what it uses, so only the lists change


def _as_exported(kg: Graph) -> Graph:
    """The merged graph as the OWL exports write it: no owl:imports, and only npc-kg's own header
    typed owl:Ontology (the MONDO import is merged in; its header keeps its annotations)."""
    merged = {o for o in kg.subjects(RDF.type, OWL.Ontology) if o != ONTOLOGY_IRI}
    out = Graph()
    for triple in kg:
        if triple[1] == OWL.imports or (triple[0] in merged and triple[1] in (RDF.type, OWL.versionIRI)):
            continue
        out.add(triple)
    return out


def test_ofn_export_is_functional_syntax(exports: dict[str, Path]) -> None:
    text = exports["ofn"].read_text(encoding="utf-8")
    assert text.startswith("Prefix(")
    assert "Prefix(npc:=<https://w3id.org/npc-kg/>)" in text
    assert f"\nOntology(<{ONTOLOGY_IRI}>\n<{ONTOLOGY_IRI}/{npc_kg.__version__}>\n" in text
    assert text.rstrip().endswith(")")


def test_owx_export_is_owl_xml(exports: dict[str, Path]) -> None:
    root = ET.parse(exports["owx"]).getroot()
    assert root.tag == "{http://www.w3.org/2002/07/owl#}Ontology"
    assert root.get("ontologyIRI") == "https://w3id.org/npc-kg/ontology"
    assert root.get("versionIRI") == f"{ONTOLOGY_IRI}/{npc_kg.__version__}"


@pytest.mark.parametrize("fmt", FORMATS)
def test_owlapi_export_round_trips(exports: dict[str, Path], kg: Graph, fmt: str) -> None:
    kg = _as_exported(kg)
    functional = exports[fmt].read_bytes() if fmt == "ofn" else owlapi_convert(exports[fmt].read_bytes(), fmt, "ofn")
    back = parse_text(owlapi_convert(functional, "ofn", "ttl").decode("utf-8"), "turtle")
    normalised = _normalised(back, kg)
    assert len(back) > len(normalised) == len(kg)
    # split anonymous individuals fail here at once; isomorphic() can run for many minutes on them
    assert len(_blank_nodes(normalised)) == len(_blank_nodes(kg))
    assert isomorphic(normalised, _sorted_one_of(kg))
    # the provenance: blank oa:TextQuoteSelector nodes with their quotes, as in the source
    for graph in (back, normalised):
        assert _quotes(graph) == _quotes(kg)
        assert len(set(graph.subjects(RDF.type, OA.TextQuoteSelector))) == len(set(kg.subjects(RDF.type, OA.TextQuoteSelector)))


def _blank_nodes(graph: Graph) -> set[Node]:
    return {term for triple in graph for term in triple if isinstance(term, BNode)}


def _quotes(graph: Graph) -> list[Node]:
    return sorted(quote for selector, quote in graph.subject_objects(OA.exact) if isinstance(selector, BNode))


def test_normalisation_removes_only_added_declarations(kg: Graph) -> None:
    """The normalisation cannot hide a declaration the OWL API would not add, nor drop a source triple."""
    assert len(_normalised(kg, kg)) == len(kg)
    assert (OA.TextQuoteSelector, RDF.type, OWL.Class) in kg, "the source declares the classes it uses"
    source = Graph()
    used = URIRef("https://example.org/UndeclaredClass")  # a class used in the source, undeclared
    for triple in [*kg, (URIRef("https://example.org/thing"), RDF.type, used)]:
        source.add(triple)
    individual = URIRef("https://w3id.org/npc-kg/Contraindication")  # an individual, never used as a class
    extra = [
        (used, RDF.type, OWL.Class),  # added by the OWL API: removed
        (individual, RDF.type, OWL.Class),  # an individual made a class: not an added declaration, kept
        (used, RDF.type, OWL.ObjectProperty),  # not a declaration it adds: kept
    ]
    changed = Graph()
    for triple in [*source, *extra]:
        changed.add(triple)
    normalised = _normalised(changed, source)
    assert extra[0] not in normalised
    assert extra[1] in normalised and extra[2] in normalised
    assert len(normalised) == len(source) + 2


def test_owx_to_turtle_is_refused() -> None:
    need_owlapi()
    with pytest.raises(ExternalToolError, match="convert owx -> ofn -> ttl"):
        owlapi_convert(b"", "owx", "ttl")


@pytest.mark.parametrize("fmt", FORMATS)
def test_horned_owl_parses_the_export(exports: dict[str, Path], kg: Graph, fmt: str) -> None:
    # py-horned-owl (an independent Rust OWL 2 library) reads the file as an ontology.
    import pyhornedowl

    ontology = pyhornedowl.open_ontology_from_string(exports[fmt].read_text(encoding="utf-8"), fmt)
    assert "https://w3id.org/npc-kg/NasopharyngealCarcinoma" in ontology.get_superclasses(
        "https://w3id.org/npc-kg/RecurrentNasopharyngealCarcinoma"
    )
    assert "https://w3id.org/npc-kg/Contraindication" in ontology.get_named_individuals()
    quotes = [a for a in ontology.get_axioms() if str(a).startswith(f"AnnotationAssertion(<{OA.exact}> _:")]
    assert len(quotes) == len(list(kg.subject_objects(OA.exact)))


@pytest.fixture()
def listener() -> Iterator[tuple[int, list[bytes]]]:
    """A loopback TCP port that records what connects to it."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(5)
    received: list[bytes] = []

    def accept() -> None:
        while True:
            try:
                connection, _ = server.accept()
            except OSError:
                return
            with connection:
                received.append(connection.recv(200))

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1], received
    finally:
        with suppress(OSError):
            server.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept()
        server.close()
        thread.join(timeout=5)


def test_owlapi_never_fetches_an_import(listener: tuple[int, list[bytes]]) -> None:
    # npc-kg strips owl:imports first; this checks the Java side on its own (the OWL API's
    # SILENT import handling alone still makes the request; the refused URL protocols stop it).
    need_owlapi()
    port, received = listener
    document = (
        f"<urn:x:o> a <{OWL.Ontology}> ; <{OWL.imports}> <http://127.0.0.1:{port}/never-fetched.owl> .\n"
        f"<urn:x:C> a <{OWL.Class}> .\n"
    )
    text = owlapi_convert(document.encode("utf-8"), "ttl", "ofn").decode("utf-8")
    assert f"Import(<http://127.0.0.1:{port}/never-fetched.owl>)" in text
    assert "Declaration(Class(<urn:x:C>))" in text
    assert received == []


def test_unparsable_input_is_an_external_tool_error() -> None:
    need_owlapi()
    with pytest.raises(ExternalToolError, match=r"OwlConvert\.java ofn -> ttl failed: .*Unparsable"):
        owlapi_convert(b"Ontology(<urn:x:o> SubClassOf(", "ofn", "ttl")


def test_missing_owlapi_is_a_one_line_error(tmp_path: Path) -> None:
    result = run_cli(tmp_path, "export", "--format", "ofn", "-o", "out.ofn", env={CLASSPATH_ENV: str(tmp_path / "no-owlapi.jar")})
    assert result.returncode == 1
    assert result.stderr.startswith("npc-kg: error: ")
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "no-owlapi.jar" in result.stderr and "libowlapi-java" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_classpath_without_the_owlapi_names_the_package(tmp_path: Path) -> None:
    need_owlapi()  # Java compiles OwlConvert.java and fails on the missing OWL API packages
    result = run_cli(tmp_path, "export", "--format", "owx", "-o", "out.owx", env={CLASSPATH_ENV: str(tmp_path)})
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "org.semanticweb.owlapi" in result.stderr and "libowlapi-java" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_missing_java_is_a_one_line_error(tmp_path: Path) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    result = run_cli(tmp_path, "export", "--format", "owx", "-o", "out.owx", env={"PATH": str(empty)})
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "npc-kg: error: java is not on PATH: install the Debian packages default-jre-headless and libowlapi-java"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bin"]


# ---------------------------------------------------------------------------------------------
# Turtle written by npc-kg (export ttl, reason -o, the MONDO import) opens in the OWL API (issue 14)
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def turtle_export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    need_owlapi()
    folder = tmp_path_factory.mktemp("owlapi-ttl")
    result = run_cli(folder, "export", "--format", "ttl", "-o", "npc-kg.ttl")
    assert result.returncode == 0, result.stderr
    return folder / "npc-kg.ttl"


def test_turtle_export_loads_in_the_owl_api(turtle_export: Path) -> None:
    ofn = owlapi_convert(turtle_export.read_bytes(), "ttl", "ofn").decode("utf-8")
    assert "Declaration(Class(<https://w3id.org/npc-kg/NasopharyngealCarcinoma>))" in ofn or (
        "Declaration(Class(npc:NasopharyngealCarcinoma))" in ofn
    )
    assert "MONDO_0015459" in ofn  # the equivalence to MONDO and the imported classes came through
    assert "EquivalentClasses(" in ofn


def test_sparql_style_prefix_lines_are_what_the_owl_api_refuses(turtle_export: Path) -> None:
    """The control: the same file with SPARQL-style PREFIX lines (rdflib's longturtle) does not load."""
    text = turtle_export.read_text(encoding="utf-8")
    sparql_style = "\n".join(
        f"PREFIX {line[len('@prefix '):].rstrip(' .')}" if line.startswith("@prefix ") else line for line in text.splitlines()
    )
    with pytest.raises(ExternalToolError):
        owlapi_convert(sparql_style.encode("utf-8"), "ttl", "ofn")


def test_reason_output_and_mondo_import_load_in_the_owl_api(tmp_path: Path) -> None:
    need_owlapi()
    from npc_kg.kg.reason import ReasoningReport
    from npc_kg.resources import data_path

    report = ReasoningReport(consistent=True, reasoner="test", classes=1, inferred=(),
                             hierarchy={"https://w3id.org/npc-kg/Frailty": ("https://w3id.org/npc-kg/Finding",)})  # fmt: skip
    ofn = owlapi_convert(report.to_turtle().encode("utf-8"), "ttl", "ofn").decode("utf-8")
    assert "SubClassOf(" in ofn and "Frailty" in ofn
    imported = owlapi_convert(data_path("ontology", "imports", "mondo_import.ttl").read_bytes(), "ttl", "ofn").decode("utf-8")
    assert "MONDO_0015459" in imported and "SubClassOf(" in imported
