"""npc_kg.xrefs and ``npc-kg xrefs``: both directions, CURIE handling, errors and exit codes."""

from __future__ import annotations

import json

import pytest

import npc_kg
from npc_kg.errors import InputError
from npc_kg.kg.xrefs import Xref, mapping_rows, to_curie, to_iri, xrefs


def test_public_api_answers_like_the_module_function() -> None:
    assert npc_kg.xrefs("MONDO:0015459") == xrefs("MONDO:0015459") != []


def test_npc_term_to_external_mappings() -> None:
    found = {(x.predicate, x.object) for x in xrefs("npc:NasopharyngealCarcinoma")}
    assert found == {
        ("skos:exactMatch", "MONDO:0015459"),
        ("skos:exactMatch", "NCIT:C3871"),
        ("skos:exactMatch", "DOID:9261"),
        ("skos:exactMatch", "MESH:D000077274"),
        ("skos:broadMatch", "ICD10:C11"),
        ("skos:broadMatch", "MESH:D009303"),
    }
    assert {x.direction for x in xrefs("npc:NasopharyngealCarcinoma")} == {"asserted"}


def test_external_curie_to_npc_term() -> None:
    [found] = xrefs("MONDO:0015459")
    assert isinstance(found, Xref)
    assert (found.subject, found.predicate, found.object) == ("MONDO:0015459", "skos:exactMatch", "npc:NasopharyngealCarcinoma")
    assert found.direction == "inverse"
    assert found.labels == ("nasopharyngeal carcinoma", "nasopharyngeal carcinoma")
    assert found.confidence == pytest.approx(0.95)


def test_inverse_of_broad_match_is_narrow_match() -> None:
    found = {(x.predicate, x.object) for x in xrefs("MESH:D009362")}
    assert found == {("skos:narrowMatch", "npc:DistantMetastasis"), ("skos:narrowMatch", "npc:DistantMetastasisOutcome")}


def test_full_iri_is_accepted() -> None:
    assert [x.object for x in xrefs("http://purl.obolibrary.org/obo/HP_0006824")] == ["npc:CranialNervePalsy"]
    assert [x.object for x in xrefs("https://w3id.org/npc-kg/Radiotherapy")] == ["NCIT:C15313"]


def test_known_prefix_without_mapping_is_empty() -> None:
    assert xrefs("UBERON:0001728") == []
    assert xrefs("npc:SalvageSurgery") == []


@pytest.mark.parametrize("bad", ["FOO:123", "not a curie", "http://example.org/x", "MONDO:"])
def test_unknown_prefix_or_malformed_input_raises_input_error(bad: str) -> None:
    with pytest.raises(InputError):
        xrefs(bad)


def test_curie_round_trip_for_every_mapping() -> None:
    for row in mapping_rows():
        for curie in (row.subject_id, row.predicate_id, row.object_id):
            assert to_curie(to_iri(curie)) == curie


def test_cli_table(cli) -> None:
    result = cli("xrefs", "MONDO:0015459", check=True)
    assert "npc:NasopharyngealCarcinoma" in result.stdout
    assert "skos:exactMatch" in result.stdout


def test_cli_json(cli) -> None:
    result = cli("xrefs", "npc:CranialNervePalsy", "--format", "json", check=True)
    data = json.loads(result.stdout)
    assert [(row["predicate"], row["object"], row["direction"]) for row in data] == [
        ("skos:exactMatch", "HP:0006824", "asserted")
    ]


def test_cli_tsv(cli) -> None:
    result = cli("xrefs", "MESH:D009303", "-f", "tsv", check=True)
    header, *lines = result.stdout.splitlines()
    assert header.split("\t")[:4] == ["subject", "subject_label", "predicate", "object"]
    assert [line.split("\t")[2:4] for line in lines] == [["skos:narrowMatch", "npc:NasopharyngealCarcinoma"]]


def test_cli_unknown_prefix_exits_2(cli) -> None:
    result = cli("xrefs", "FOO:1")
    assert result.returncode == 2
    assert "unknown prefix 'FOO'" in result.stderr
    assert "Traceback" not in result.stderr


def test_cli_no_mapping_exits_0_with_note(cli) -> None:
    result = cli("xrefs", "UBERON:0001728")
    assert result.returncode == 0
    assert result.stdout == ""
    assert "no mapping" in result.stderr


def test_bridges_are_reported_separately_from_mappings() -> None:
    from npc_kg.kg.xrefs import bridges

    expected = [("HP:0006824", "rdfs:subClassOf", "npc:CranialNervePalsy")]
    assert bridges("HP:0006824") == expected
    assert bridges("npc:CranialNervePalsy") == expected
    assert bridges("npc:NasopharyngealCarcinoma") == []  # internal subclasses are not bridges


def test_cli_notes_the_hp_bridge(cli) -> None:
    result = cli("xrefs", "HP:0006824", check=True)
    assert "npc:CranialNervePalsy" in result.stdout
    assert "HP:0006824 rdfs:subClassOf npc:CranialNervePalsy is a logical bridge" in result.stderr
