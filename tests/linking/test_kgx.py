"""KGX export: structure, Biolink validity (offline, with bmt and the biolink-model package), content."""

from __future__ import annotations

import csv
from importlib.resources import files
from pathlib import Path

import bmt
import pytest
from rdflib import Graph
from rdflib.namespace import PROV, RDF

from npc_kg.exporters.kgx import kgx_paths, kgx_tables, profile
from npc_kg.kg.prefixes import to_curie
from npc_kg.namespace import NPC, OA

REQUIRED_NODE_COLUMNS = ("id", "category", "name")
REQUIRED_EDGE_COLUMNS = ("subject", "predicate", "object", "knowledge_level", "agent_type", "primary_knowledge_source")
SURVIVAL = {NPC.OverallSurvival, NPC.ProgressionFreeSurvival, NPC.DiseaseSpecificSurvival, NPC.UnspecifiedSurvival}


@pytest.fixture(scope="module")
def toolkit() -> bmt.Toolkit:
    # The schema shipped by the biolink-model package; an empty predicate map keeps bmt offline.
    schema = str(files("biolink_model") / "schema" / "biolink_model.yaml")
    return bmt.Toolkit(schema=schema, predicate_map={"predicate mappings": []})


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    import subprocess
    import sys

    folder = tmp_path_factory.mktemp("kgx")
    result = subprocess.run(
        [sys.executable, "-c", "from npc_kg.cli import run; run()", "export", "--format", "kgx", "-o", "npc-kg"],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    nodes_path, edges_path = folder / "npc-kg_nodes.tsv", folder / "npc-kg_edges.tsv"

    def read(path: Path) -> list[dict[str, str]]:
        with path.open(encoding="utf-8", newline="") as handle:
            return list(csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))

    return read(nodes_path), read(edges_path)


def test_required_columns_and_values(exported) -> None:
    nodes, edges = exported
    assert nodes and edges
    for column in REQUIRED_NODE_COLUMNS:
        assert all(row[column] for row in nodes), column
    for column in REQUIRED_EDGE_COLUMNS:
        assert all(row[column] for row in edges), column
    assert {row["primary_knowledge_source"] for row in edges} == {"infores:npc-kg"}
    assert {row["agent_type"] for row in edges} == {"manual_agent", "automated_agent"}
    # automated only for the edges entailed through the MONDO equivalence (treats -> MONDO class)
    assert {row["knowledge_level"] for row in edges if row["agent_type"] == "automated_agent"} == {"logical_entailment"}


def test_ids_unique_and_edges_closed(exported) -> None:
    nodes, edges = exported
    ids = [row["id"] for row in nodes]
    assert len(ids) == len(set(ids))
    assert len({row["id"] for row in edges}) == len(edges)
    for edge in edges:
        assert edge["subject"] in ids and edge["object"] in ids, edge


def test_categories_are_concrete_biolink_classes(exported, toolkit: bmt.Toolkit) -> None:
    nodes, _ = exported
    for category in {row["category"] for row in nodes} | {rule["category"] for rule in profile()["categories"]}:
        element = toolkit.get_element(category)
        assert toolkit.is_category(category), category
        assert element is not None and not element.abstract and not element.mixin, category


def test_predicates_and_enums_are_biolink(exported, toolkit: bmt.Toolkit) -> None:
    _, edges = exported
    levels = set(toolkit.view.get_enum("KnowledgeLevelEnum").permissible_values)
    agents = set(toolkit.view.get_enum("AgentTypeEnum").permissible_values)
    for edge in edges:
        assert toolkit.is_predicate(edge["predicate"]), edge["predicate"]
        assert edge["knowledge_level"] in levels
        assert edge["agent_type"] in agents
    for column in ("id", "category", "name", "description", "xref", "synonym", "provided_by", "publications"):
        assert toolkit.get_element(column) is not None, column
    for column in ("knowledge_level", "agent_type", "primary_knowledge_source", "publications", "supporting_text"):
        assert toolkit.get_element(column) is not None, column


def _fits(toolkit: bmt.Toolkit, category: str, constraint: str | None) -> bool:
    if constraint is None:
        return True
    allowed = set(toolkit.get_descendants(constraint, formatted=True, mixin=True))
    return category in allowed


def test_instance_level_predicates_respect_domain_and_range(exported, toolkit: bmt.Toolkit) -> None:
    nodes, edges = exported
    category = {row["id"]: row["category"] for row in nodes}
    checked = 0
    for edge in edges:
        if edge["predicate"] in ("biolink:subclass_of",) or edge["predicate"].endswith("_match"):
            continue  # concept-level predicates between ontology classes
        element = toolkit.get_element(edge["predicate"])
        assert _fits(toolkit, category[edge["subject"]], element.domain), (edge, element.domain)
        assert _fits(toolkit, category[edge["object"]], element.range), (edge, element.range)
        checked += 1
    assert checked > 0


def test_contraindications_become_contraindicated_in_edges_with_quote(exported, kg: Graph) -> None:
    _, edges = exported
    criteria = [c for c in kg.subjects(NPC.criterionKind, NPC.Contraindication)]
    assert criteria
    for criterion in criteria:
        [quote] = [
            q
            for r in kg.objects(criterion, PROV.wasDerivedFrom)
            for s in kg.objects(r, OA.hasSelector)
            for q in kg.objects(s, OA.exact)
        ]
        treatment = next(kg.objects(criterion, NPC.appliesToTreatment))
        for finding in kg.objects(criterion, NPC.concernsFinding):
            matching = [
                e
                for e in edges
                if (e["subject"], e["predicate"], e["object"])
                == (to_curie(treatment), "biolink:contraindicated_in", to_curie(finding))
                and e["npc_kb_item"] == to_curie(criterion)
            ]
            assert len(matching) == 1, (criterion, finding)
            assert matching[0]["supporting_text"] == " ".join(str(quote).split())
            assert matching[0]["knowledge_level"] == "knowledge_assertion"
            assert matching[0]["publications"]


def test_indications_are_not_contraindications(exported, kg: Graph) -> None:
    _, edges = exported
    indications = {to_curie(c) for c in kg.subjects(NPC.criterionKind, NPC.Indication)}
    assert indications
    assert not [e for e in edges if e["predicate"] == "biolink:contraindicated_in" and e["npc_kb_item"] in indications]


def test_prognostic_associations_are_statistical_with_direction(exported, kg: Graph) -> None:
    _, edges = exported
    associations = list(kg.subjects(RDF.type, NPC.PrognosticAssociation))
    assert associations
    for item in associations:
        # the profile's direction -> correlation rule is only right for survival outcomes
        assert set(kg.objects(item, NPC.outcome)) <= SURVIVAL, item
        [direction] = list(kg.objects(item, NPC.direction))
        expected = {
            NPC.BetterOutcome: "biolink:positively_correlated_with",
            NPC.WorseOutcome: "biolink:negatively_correlated_with",
        }[direction]
        rows = [e for e in edges if e["npc_kb_item"] == to_curie(item)]
        assert rows and {e["predicate"] for e in rows} == {expected}
        assert {e["knowledge_level"] for e in rows} == {"statistical_association"}


def test_mappings_and_hp_bridge(exported) -> None:
    nodes, edges = exported
    by_id = {row["id"]: row for row in nodes}
    triples = {(e["subject"], e["predicate"], e["object"]) for e in edges}
    assert ("npc:NasopharyngealCarcinoma", "biolink:exact_match", "MONDO:0015459") in triples
    assert ("npc:NasopharyngealCarcinoma", "biolink:broad_match", "ICD10:C11") in triples
    assert ("HP:0006824", "biolink:subclass_of", "npc:CranialNervePalsy") in triples
    assert by_id["MONDO:0015459"]["name"] == "nasopharyngeal carcinoma"
    assert by_id["MONDO:0015459"]["category"] == "biolink:Disease"
    assert "MONDO:0015459" in by_id["npc:NasopharyngealCarcinoma"]["xref"].split("|")
    assert by_id["npc:SalvageSurgery"]["category"] == "biolink:Treatment"
    assert by_id["npc:DistantMetastasis"]["category"] == "biolink:PhenotypicFeature"


def test_figures_are_evidence_nodes_with_their_numbers(exported, kg: Graph) -> None:
    nodes, _ = exported
    by_id = {row["id"]: row for row in nodes}
    figures = list(kg.subjects(RDF.type, NPC.EvidenceFigure))
    assert figures
    for figure in figures:
        row = by_id[to_curie(figure)]
        assert row["category"] == "biolink:Evidence"
        for prop, column in ((NPC.value, "value"), (NPC.timeHorizonMonths, "time_horizon_months"), (NPC.pValue, "p_value")):
            assert row[column] == "|".join(str(v) for v in kg.objects(figure, prop)), (figure, column)


def test_sources_by_type(exported) -> None:
    nodes, _ = exported
    by_id = {row["id"]: row for row in nodes}
    assert by_id["kb:source-001"]["category"] == "biolink:Article"
    assert by_id["kb:source-000"]["category"] == "biolink:WebPage"


def test_same_projection_as_api(exported, kg: Graph) -> None:
    nodes, edges = exported
    tables = kgx_tables(kg)
    assert [row["id"] for row in tables.nodes] == [row["id"] for row in nodes]
    assert len(tables.edges) == len(edges)


def test_output_paths(tmp_path: Path) -> None:
    assert kgx_paths(tmp_path / "out") == (tmp_path / "out_nodes.tsv", tmp_path / "out_edges.tsv")
    assert kgx_paths(tmp_path) == (tmp_path / "npc-kg_nodes.tsv", tmp_path / "npc-kg_edges.tsv")


def test_treatments_treat_mondo_nodes(exported, kg: Graph) -> None:
    """Each treatment that states what it treats has a biolink:treats edge to MONDO:0015459 (through the equivalence)."""
    from rdflib import URIRef

    treats = URIRef("https://w3id.org/biolink/vocab/treats")
    nodes, edges = exported
    by_id = {row["id"]: row for row in nodes}
    treating = {to_curie(s) for s in kg.subjects(treats, None)}
    assert "npc:SalvageSurgery" in treating
    for treatment in treating:
        rows = [e for e in edges if e["subject"] == treatment and e["predicate"] == "biolink:treats"]
        assert "MONDO:0015459" in {e["object"] for e in rows}, treatment
        assert by_id[treatment]["category"] == "biolink:Treatment"
    assert by_id["MONDO:0015459"]["category"] == "biolink:Disease"
    triples = {(e["subject"], e["predicate"], e["object"]) for e in edges}
    assert ("MONDO:0015459", "biolink:subclass_of", "MONDO:0002038") in triples


def test_a_new_folder_with_a_trailing_slash_is_refused_not_taken_for_a_prefix(tmp_path: Path) -> None:
    import npc_kg
    from npc_kg.errors import OutputError

    with pytest.raises(OutputError, match="no such folder; create it first"):
        npc_kg.export("kgx", f"{tmp_path}/kgxdir/")
    assert list(tmp_path.iterdir()) == [], "nothing written beside the folder"
