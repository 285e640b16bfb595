"""The published JSON-LD context covers every npc property with the right @type."""

from __future__ import annotations

import json

from rdflib import Graph
from rdflib.namespace import OWL, RDF, RDFS, XSD

from npc_kg.kg.prefixes import prefix_map
from npc_kg.namespace import BASE
from npc_kg.resources import data_path

CONTEXT = json.loads(data_path("ontology", "context.jsonld").read_text(encoding="utf-8"))["@context"]
CLASS_VALUED_ANNOTATIONS = {
    "appliesToTreatment",
    "concernsFinding",
    "packTreatment",
    "intervention",
    "comparator",
    "condition",
    "prognosticFactor",
}


def _expand(value: str) -> str:
    prefix, _, local = value.partition(":")
    return CONTEXT[prefix] + local


def test_every_npc_property_has_a_term(kg: Graph) -> None:
    kinds = (OWL.ObjectProperty, OWL.DatatypeProperty, OWL.AnnotationProperty)
    properties = {p for kind in kinds for p in kg.subjects(RDF.type, kind) if str(p).startswith(BASE)}
    assert properties
    for prop in properties:
        name = str(prop)[len(BASE) :]
        assert name in CONTEXT, name
        assert _expand(CONTEXT[name]["@id"]) == str(prop)


def test_types(kg: Graph) -> None:
    for prop in kg.subjects(RDF.type, OWL.ObjectProperty):
        if str(prop).startswith(BASE):
            assert CONTEXT[str(prop)[len(BASE) :]].get("@type") == "@id", prop
    for prop in kg.subjects(RDF.type, OWL.DatatypeProperty):
        if not str(prop).startswith(BASE):
            continue
        ranges = list(kg.objects(prop, RDFS.range))
        expected = None if ranges in ([], [XSD.string]) else "xsd:" + str(ranges[0]).split("#")[1]
        assert CONTEXT[str(prop)[len(BASE) :]].get("@type") == expected, prop
    assert CONTEXT["value"]["@type"] == "xsd:decimal"
    for name in CLASS_VALUED_ANNOTATIONS:
        assert CONTEXT[name]["@type"] == "@id", name


def test_prefixes_agree_with_the_ontology() -> None:
    for prefix, iri in prefix_map().items():
        if prefix in CONTEXT and isinstance(CONTEXT[prefix], str):
            assert CONTEXT[prefix] == iri
    for prefix in ("npc", "kb", "MONDO", "NCIT", "MESH", "HP", "skos", "prov", "oa", "dcterms"):
        assert prefix in CONTEXT, prefix


def test_blank_node_valued_properties_are_not_coerced() -> None:
    # rdflib's JSON-LD serializer drops the description of a blank node reached through an
    # @type: @id term, so provenance (prov:wasDerivedFrom [ oa:hasSelector [ ... ] ]) must stay plain.
    assert "@type" not in CONTEXT["wasDerivedFrom"]
    assert "@type" not in CONTEXT["hasSelector"]
