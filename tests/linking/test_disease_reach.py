"""Knowledge reachable from MONDO (issue 14): the Turtle export plus the MONDO import, queried by SPARQL.

A Monarch user who loads npc-kg's Turtle export beside MONDO asks "what is known about
MONDO:0015459 or any subtype of it": ``queries/evidence-for-disease.rq`` walks rdfs:subClassOf,
owl:equivalentClass and skos:exactMatch from the disease to the population's condition, the
item's condition, or the class a criterion's treatment treats (biolink:treats). Every figure,
association, statement and criterion of the knowledge base must be reached; the counts come
from the data, not from this file.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pyoxigraph as ox
import pytest

from npc_kg.kg.prefixes import expand
from npc_kg.resources import data_path
from npc_kg.sparql.catalog import named_query
from tests.linking.conftest import run_cli
from tests.packdata import TEST_PACK, criteria_count, pack_criteria

NPC = "https://w3id.org/npc-kg/"
KINDS = ("EvidenceFigure", "PrognosticAssociation", "Statement", "EligibilityCriterion")
UNRELATED = Path(__file__).resolve().parent / "data" / "packs" / "unrelated-disease"


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> ox.Store:
    """``npc-kg export --format ttl`` loaded into pyoxigraph with ontology/imports/mondo_import.ttl."""
    folder = tmp_path_factory.mktemp("reach")
    result = run_cli(folder, "export", "--format", "ttl", "-o", "npc-kg.ttl")
    assert result.returncode == 0, result.stderr
    store = ox.Store()
    store.bulk_load(path=str(folder / "npc-kg.ttl"), format=ox.RdfFormat.TURTLE)
    store.bulk_load(path=str(data_path("ontology", "imports", "mondo_import.ttl")), format=ox.RdfFormat.TURTLE)
    return store


def _reached(store: ox.Store, disease: str) -> dict[str, set[str]]:
    text = named_query("evidence-for-disease").text
    solutions = store.query(text, substitutions={ox.Variable("disease"): ox.NamedNode(expand(disease))})
    found: dict[str, set[str]] = {kind: set() for kind in KINDS}
    for row in solutions:  # type: ignore[union-attr]
        found[row["kind"].value[len(NPC) :]].add(row["item"].value)
    return found


def _all(store: ox.Store, kind: str) -> set[str]:
    return {row["x"].value for row in store.query(f"SELECT ?x WHERE {{ ?x a <{NPC}{kind}> }}")}  # type: ignore[union-attr]


def test_every_item_is_reached_from_mondo_0015459(store: ox.Store) -> None:
    reached = _reached(store, "MONDO:0015459")
    for kind in KINDS:
        everything = _all(store, kind)
        assert everything, kind
        assert reached[kind] == everything, (kind, sorted(everything - reached[kind]))
    # the figures: all 33 evidence figures and all 8 criteria of the knowledge base
    assert (len(reached["EvidenceFigure"]), len(reached["EligibilityCriterion"])) == (33, criteria_count())


def test_criteria_of_treatments_for_diseases_under_head_and_neck_carcinoma(store: ox.Store) -> None:
    """MONDO:0002038 is a MONDO ancestor of MONDO:0015459 (from the import), so its query reaches the criteria."""
    assert _reached(store, "MONDO:0002038")["EligibilityCriterion"] == _all(store, "EligibilityCriterion")


def test_a_sibling_disease_reaches_nothing(store: ox.Store) -> None:
    # carcinoma in situ of nasopharynx is a MONDO subtype npc-kg says nothing about
    assert not any(_reached(store, "MONDO:0021297").values())


def test_the_subclass_and_exact_match_path_is_what_reaches(store: ox.Store) -> None:
    """Through the MONDO hierarchy: the import's subClassOf edges carry MONDO:0015459 under MONDO:0002038."""
    mondo = expand("MONDO:0015459")
    assert store.query(f"ASK {{ <{mondo}> <http://www.w3.org/2000/01/rdf-schema#subClassOf> <{expand('MONDO:0002038')}> }}")
    equivalent = "<http://www.w3.org/2002/07/owl#equivalentClass>"
    assert store.query(f"ASK {{ <{NPC}NasopharyngealCarcinoma> {equivalent} <{mondo}> }}")
    sub = "<http://www.w3.org/2000/01/rdf-schema#subClassOf>"
    assert store.query(f"ASK {{ <{NPC}RecurrenceAfterRadiotherapy> {sub} <{NPC}RecurrentNasopharyngealCarcinoma> }}")


def test_a_loaded_criteria_pack_is_reached_through_the_disease_it_states(tmp_path: Path) -> None:
    """``npc-kg export --pack``: the test pack's criteria are reached through the disease its manifest
    states; a pack whose treatment treats 'neoplasm' (an ancestor of MONDO:0015459) is not."""
    result = run_cli(tmp_path, "export", "--format", "ttl", "-o", "packs.ttl", "--pack", str(TEST_PACK),
                     "--pack", str(UNRELATED))
    assert result.returncode == 0, result.stderr
    pack = ox.Store()
    pack.bulk_load(path=str(tmp_path / "packs.ttl"), format=ox.RdfFormat.TURTLE)
    pack.bulk_load(path=str(data_path("ontology", "imports", "mondo_import.ttl")), format=ox.RdfFormat.TURTLE)
    criteria = _reached(pack, "MONDO:0015459")["EligibilityCriterion"]
    assert set(pack_criteria(TEST_PACK)) <= criteria and len(pack_criteria(TEST_PACK)) >= 4
    assert set(pack_criteria()) <= criteria  # the package's own pack, beside it
    assert not set(pack_criteria(UNRELATED)) & criteria  # it treats 'neoplasm', an ancestor


def test_named_query_runs_through_the_api() -> None:
    import npc_kg

    rows = npc_kg.query("evidence-for-disease", disease="mondo:0015459", backend="oxigraph")
    kinds = Counter(row["kind"][len(NPC) :] for row in {row["item"]: row for row in rows}.values())
    assert set(kinds) == set(KINDS)
