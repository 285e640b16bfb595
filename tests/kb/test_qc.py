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


def _plant_external_definition(graph: Graph) -> str:
    from rdflib import URIRef

    hp = URIRef("http://purl.obolibrary.org/obo/HP_0006824")
    graph.add((hp, SKOS.definition, Literal("npc-kg's own wording on an HPO class", lang="en")))
    return str(hp)


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
    ("external-term-definition", _plant_external_definition),
]


@pytest.mark.parametrize(("query", "plant"), PLANTS, ids=[f"{q}-{p.__name__[7:]}" for q, p in PLANTS])
def test_query_catches_planted_defect(query: str, plant: Callable[[Graph], str]) -> None:
    graph = npc_kg.load(fresh=True)
    term = plant(graph)
    rows = run_qc(graph, names=[query])[query]
    assert term in {row["term"] for row in rows}, rows


def test_every_query_has_a_planted_defect() -> None:
    assert set(QUERY_NAMES) <= {query for query, _ in PLANTS}


# ---------------------------------------------------------------------------------------------
# npc-kg qc: the ROBOT-report-like TSV
# ---------------------------------------------------------------------------------------------


def test_qc_report_of_the_merged_graph_is_clean() -> None:
    from npc_kg.kg.quality import qc_report, qc_tsv

    rows = qc_report()
    assert rows == []
    assert qc_tsv(rows) == "Level\tRule Name\tSubject\tProperty\tValue\n"


def test_qc_report_rows_for_planted_defects() -> None:
    """A QC query defect and a KB-shape defect each give an ERROR row naming the rule and the subject."""
    from npc_kg.kg.quality import qc_report, qc_tsv

    graph = npc_kg.load(fresh=True)
    _plant_missing_definition(graph)
    graph.add((KB["fig-001-os-3y"], NPC.statistic, NPC.Count))  # breaks kbsh:FigureStatisticShape (two statistics)
    rows = qc_report(graph)
    found = {(r.level, r.rule, r.subject, r.property) for r in rows}
    assert ("ERROR", "missing-definition", "npc:Frailty", "skos:definition") in found
    shape_rows = [r for r in rows if r.rule.startswith("kbsh:")]
    assert "kbsh:FigureStatisticShape" in {r.rule for r in shape_rows}
    assert shape_rows and {r.subject for r in shape_rows} == {"kb:fig-001-os-3y"}
    assert {r.level for r in shape_rows} == {"ERROR"}
    header, *lines = qc_tsv(rows).splitlines()
    assert header.split("\t") == ["Level", "Rule Name", "Subject", "Property", "Value"]
    assert all(len(line.split("\t")) == 5 for line in lines) and len(lines) == len(rows)


def test_cli_qc_exit_codes(tmp_path, monkeypatch) -> None:
    from npc_kg.cli import main
    from npc_kg.kg.quality import QcRow

    assert main(["qc", "-o", str(tmp_path / "report.tsv")]) == 0
    assert (tmp_path / "report.tsv").read_text(encoding="utf-8").startswith("Level\tRule Name")
    monkeypatch.setattr("npc_kg.cli.qc.qc_report", lambda: [QcRow("WARN", "r", "npc:X", "rdfs:label", "")])
    assert main(["qc"]) == 0
    assert main(["qc", "--fail-on", "WARN"]) == 6  # a check found errors (ChecksFailedError), not an internal error
    monkeypatch.setattr("npc_kg.cli.qc.qc_report", lambda: [QcRow("ERROR", "r", "npc:X", "rdfs:label", "")])
    assert main(["qc"]) == 6
    assert main(["qc", "--fail-on", "none"]) == 0
