"""The merged graph loads and the namespace module agrees with the ontology."""

from __future__ import annotations

from rdflib import Graph

from npc_kg.namespace import NPC, ONTOLOGY_IRI


def test_ontology_header_loads(kg: Graph) -> None:
    assert (ONTOLOGY_IRI, None, None) in kg
    assert (NPC.NasopharyngealCarcinoma, None, None) in kg
