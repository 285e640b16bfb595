"""Every RDF export, written through the CLI, parses back into a graph isomorphic to the source."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from rdflib import Graph, Literal
from rdflib.compare import isomorphic
from rdflib.namespace import OWL, RDF, XSD

from npc_kg.exporters.owl import owl_rdfxml
from npc_kg.kg.export import export_graph
from npc_kg.namespace import ONTOLOGY_IRI, OWLREADY
from npc_kg.rdfio import parse_file, parse_text
from npc_kg.resources import data_path

FORMATS = {"ttl": "turtle", "nt": "nt", "xml": "xml", "jsonld": "json-ld", "owl": "xml"}


def _canonical(graph: Graph) -> Graph:
    """Normalise the two things owlready2 rewrites without changing the value.

    RDF 1.1: "x" and "x"^^xsd:string are one term (rdflib keeps them apart; owlready2 writes the
    latter). xsd:decimal is written in canonical form ("0.70" becomes "0.7", the same value).
    """
    out = Graph()
    for s, p, o in graph:
        if isinstance(o, Literal) and o.datatype == XSD.string:
            o = Literal(str(o))
        elif isinstance(o, Literal) and o.datatype == XSD.decimal:
            o = Literal(str(Decimal(str(o)).normalize()), datatype=XSD.decimal)
        out.add((s, p, o))
    return out


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_export_round_trips(cli, tmp_path: Path, kg: Graph, fmt: str) -> None:
    target = tmp_path / f"npc-kg.{fmt}"
    result = cli("export", "--format", fmt, "-o", target.name)
    assert result.returncode == 0, result.stderr
    back = parse_file(target, FORMATS[fmt])
    if fmt == "owl":  # the OWL export drops owl:imports (nothing to fetch); the MONDO import is merged in
        merged = {o for o in kg.subjects(RDF.type, OWL.Ontology) if o != ONTOLOGY_IRI}
        expected = Graph()
        for triple in kg.triples((None, None, None)):
            if triple[1] != OWL.imports and not (triple[0] in merged and triple[1] in (RDF.type, OWL.versionIRI)):
                expected.add(triple)
        assert len(back) == len(expected)
        assert isomorphic(_canonical(back), _canonical(expected))
    else:  # issue 11: the RDF serialisations also carry the loaded criteria packs' shapes
        whole = export_graph()
        assert len(back) == len(whole) > len(kg)
        assert isomorphic(back, whole)


def test_export_refuses_to_overwrite_an_input(cli) -> None:
    source = data_path("ontology", "npc-kg.ttl")
    before = source.read_bytes()
    try:
        result = cli("export", "--format", "ttl", "-o", str(source))
        assert result.returncode == 2
        assert "refusing to overwrite an input" in result.stderr
        assert source.read_bytes() == before
    finally:  # if the refusal ever breaks, do not leave the ontology overwritten
        if source.read_bytes() != before:
            source.write_bytes(before)


def test_jsonld_inlines_the_published_context(cli, tmp_path: Path) -> None:
    cli("export", "--format", "jsonld", "-o", "out.jsonld", check=True)
    document = json.loads((tmp_path / "out.jsonld").read_text(encoding="utf-8"))
    published = json.loads(data_path("ontology", "context.jsonld").read_text(encoding="utf-8"))["@context"]
    assert document["@context"] == published


def test_jsonld_by_reference_to_the_published_context_parses_offline(kg: Graph) -> None:
    # A document that refers to https://w3id.org/npc-kg/context.jsonld is resolved from the local copy.
    text = kg.serialize(format="json-ld", context=json.loads(data_path("ontology", "context.jsonld").read_text())["@context"])
    document = json.loads(text)
    document["@context"] = "https://w3id.org/npc-kg/context.jsonld"
    assert isomorphic(parse_text(json.dumps(document), "json-ld"), kg)


def test_owl_export_drops_imports_and_owlready_annotations() -> None:
    graph = Graph()
    graph.parse(data_path("ontology", "npc-kg.ttl"), format="turtle")
    ontology = next(graph.subjects(None, OWL.Ontology))
    imports = len(list(graph.triples((None, OWL.imports, None))))  # the MONDO import's owl:imports
    graph.add((ontology, OWL.imports, ontology.__class__("http://127.0.0.1:9/never-fetched.owl")))
    graph.add((ontology, OWLREADY.python_module, Literal("os")))
    back = parse_text(owl_rdfxml(graph).decode("utf-8"), "xml")
    assert (None, OWL.imports, None) not in back
    assert not any(str(p).startswith(str(OWLREADY)) for p in back.predicates())
    assert len(back) == len(graph) - 2 - imports


def test_sssom_export_via_cli_equals_committed_mapping_set(cli, tmp_path: Path) -> None:
    cli("export", "--format", "sssom", "-o", "mappings.sssom.tsv", check=True)
    committed = data_path("mappings", "npc-kg.sssom.tsv").read_text(encoding="utf-8")
    assert (tmp_path / "mappings.sssom.tsv").read_text(encoding="utf-8") == committed


def test_kgx_into_an_existing_folder(cli, tmp_path: Path) -> None:
    (tmp_path / "kgx").mkdir()
    cli("export", "--format", "kgx", "-o", "kgx", check=True)
    assert sorted(p.name for p in (tmp_path / "kgx").iterdir()) == ["npc-kg_edges.tsv", "npc-kg_nodes.tsv"]


def test_owl_export_loads_in_an_independent_owl_parser(kg: Graph) -> None:
    # py-horned-owl (Rust OWL 2 library) reads the RDF/XML as an ontology, as Protégé would,
    # and pyoxigraph's strict RDF/XML parser reads every triple.
    import pyhornedowl
    import pyoxigraph

    text = owl_rdfxml(kg).decode("utf-8")
    ontology = pyhornedowl.open_ontology_from_string(text, "rdf")
    assert "https://w3id.org/npc-kg/NasopharyngealCarcinoma" in ontology.get_classes()
    assert "https://w3id.org/npc-kg/NasopharyngealCarcinoma" in ontology.get_superclasses(
        "https://w3id.org/npc-kg/RecurrentNasopharyngealCarcinoma"
    )
    assert "https://w3id.org/npc-kg/Contraindication" in ontology.get_named_individuals()
    merged = [o for o in kg.subjects(RDF.type, OWL.Ontology) if o != ONTOLOGY_IRI]
    dropped = sum(1 for o in merged for _ in kg.triples((o, OWL.versionIRI, None))) + len(merged)
    without_imports = len(kg) - len(list(kg.triples((None, OWL.imports, None)))) - dropped
    assert len(list(pyoxigraph.parse(text.encode("utf-8"), format=pyoxigraph.RdfFormat.RDF_XML))) == without_imports


def test_turtle_export_uses_at_prefix(cli, tmp_path: Path) -> None:
    """The OWL API (Protégé) refuses SPARQL-style PREFIX lines; the Turtle export writes @prefix."""
    cli("export", "--format", "ttl", "-o", "out.ttl", check=True)
    text = (tmp_path / "out.ttl").read_text(encoding="utf-8")
    assert "@prefix npc: <https://w3id.org/npc-kg/> ." in text
    assert not [line for line in text.splitlines() if line.startswith("PREFIX ")]
