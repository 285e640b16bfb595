"""ODK-style QC queries: each returns zero rows on the merged graph and catches a planted defect."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from rdflib import OWL, RDF, RDFS, BNode, Graph, Literal
from rdflib.namespace import PROV, SKOS

import npc_kg
from npc_kg.kg.quality import qc_queries, run_qc
from npc_kg.namespace import KB, NPC, OA

QUERY_NAMES = [query.name for query in qc_queries()]


def test_the_requested_queries_exist() -> None:
    assert {
        "missing-label",
        "duplicate-label",
        "missing-definition",
        "missing-quote",
        "undeclared-npc-term",
    } <= set(QUERY_NAMES)


@pytest.mark.parametrize("query", qc_queries(), ids=lambda q: q.name)
def test_query_is_odk_style(query: object) -> None:
    text = query.text  # type: ignore[attr-defined]
    assert query.description, f"{query.name}: needs a '# description:' header"  # type: ignore[attr-defined]
    assert "SELECT DISTINCT ?term ?property ?value" in text or "SELECT ?term ?property ?value" in text


@pytest.mark.slow
def test_merged_graph_has_no_qc_rows(kg: Graph) -> None:
    results = run_qc(kg)
    assert set(results) == set(QUERY_NAMES)
    assert all(rows == [] for rows in results.values()), {name: rows for name, rows in results.items() if rows}


def _plant_missing_label(graph: Graph) -> str:
    graph.remove((KB["fig-001-os-5y"], RDFS.label, None))
    return str(KB["fig-001-os-5y"])


def _plant_duplicate_label(graph: Graph) -> str:
    graph.add((KB["pop-001-rt-group"], RDFS.label, Literal("LUO 2026 cohort: recurrent NPC (rM0) after radiotherapy", lang="en")))
    return str(KB["pop-001-rt-group"])


def _plant_missing_definition(graph: Graph) -> str:
    graph.remove((NPC.Frailty, SKOS.definition, None))
    return str(NPC.Frailty)


def _plant_missing_quote(graph: Graph) -> str:
    item = KB["stmt-000-third-course-ineffective"]
    for resource in list(graph.objects(item, PROV.wasDerivedFrom)):
        graph.remove((item, PROV.wasDerivedFrom, resource))
    return str(item)


def _plant_empty_quote(graph: Graph) -> str:
    item = KB["ci-3-distant-metastasis"]
    resource = BNode()
    selector = BNode()
    for old in list(graph.objects(item, PROV.wasDerivedFrom)):
        graph.remove((item, PROV.wasDerivedFrom, old))
    graph.add((item, PROV.wasDerivedFrom, resource))
    graph.add((resource, OA.hasSource, KB["source-000"]))
    graph.add((resource, OA.hasSelector, selector))
    graph.add((selector, OA.exact, Literal("")))
    return str(item)


def _plant_undeclared_term(graph: Graph) -> str:
    typo = NPC._NS["OveralSurvival"]  # not NPC.OveralSurvival: the namespace refuses unknown terms
    graph.add((KB["fig-001-os-3y"], NPC.outcome, typo))
    return str(typo)


def _plant_undeclared_property(graph: Graph) -> str:
    typo = NPC._NS["timeHorizonMonth"]
    graph.add((KB["fig-001-os-3y"], typo, Literal(36)))
    return str(typo)


def _plant_undefined_kb_reference(graph: Graph) -> str:
    graph.add((KB["fig-001-os-3y"], NPC.population, KB["pop-001-cohrot"]))
    return str(KB["pop-001-cohrot"])


def _plant_unlabelled_class(graph: Graph) -> str:
    graph.add((NPC._NS["NewFinding"], RDF.type, OWL.Class))
    return str(NPC._NS["NewFinding"])


PLANTS: list[tuple[str, Callable[[Graph], str]]] = [
    ("missing-label", _plant_missing_label),
    ("missing-label", _plant_unlabelled_class),
    ("duplicate-label", _plant_duplicate_label),
    ("missing-definition", _plant_missing_definition),
    ("missing-quote", _plant_missing_quote),
    ("missing-quote", _plant_empty_quote),
    ("undeclared-npc-term", _plant_undeclared_term),
    ("undeclared-npc-term", _plant_undeclared_property),
    ("undefined-kb-reference", _plant_undefined_kb_reference),
]


@pytest.mark.parametrize(("query", "plant"), PLANTS, ids=[f"{q}-{p.__name__[7:]}" for q, p in PLANTS])
def test_query_catches_planted_defect(query: str, plant: Callable[[Graph], str]) -> None:
    graph = npc_kg.load(fresh=True)
    term = plant(graph)
    rows = run_qc(graph, names=[query])[query]
    assert term in {row["term"] for row in rows}, rows


def test_every_query_has_a_planted_defect() -> None:
    assert set(QUERY_NAMES) <= {query for query, _ in PLANTS}
