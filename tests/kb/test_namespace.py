"""``npc_kg.namespace.NPC`` lists exactly the terms of the ontology, and refuses unknown ones."""

from __future__ import annotations

import pytest
from rdflib import Graph, URIRef

from npc_kg.namespace import BASE, NPC
from npc_kg.rdfio import parse_file
from npc_kg.resources import data_path


def _ontology_terms() -> set[str]:
    graph: Graph = parse_file(data_path("ontology", "npc-kg.ttl"), "turtle")
    return {
        str(s)[len(BASE) :]
        for s in graph.subjects()
        if isinstance(s, URIRef) and str(s).startswith(BASE) and "/" not in str(s)[len(BASE) :]
    }


def _namespace_terms() -> set[str]:
    return {name for name in NPC.__annotations__ if not name.startswith("_")}


def test_every_ontology_term_is_in_the_namespace() -> None:
    missing = _ontology_terms() - _namespace_terms()
    assert not missing, f"add to npc_kg/namespace.py (python -m npc_kg.namespace): {sorted(missing)}"


def test_every_namespace_term_is_in_the_ontology() -> None:
    extra = _namespace_terms() - _ontology_terms()
    assert not extra, f"terms in npc_kg/namespace.py that the ontology does not declare: {sorted(extra)}"


def test_known_term_resolves() -> None:
    assert NPC.SalvageSurgery == URIRef(BASE + "SalvageSurgery")


def test_mistyped_term_raises() -> None:
    with pytest.raises(AttributeError):
        _ = NPC.SalvageSurgry
    with pytest.raises(AttributeError):
        _ = NPC.Foo
