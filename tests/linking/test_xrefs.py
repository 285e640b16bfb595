"""npc_kg.xrefs and ``npc-kg xrefs``: both directions, CURIE handling, errors and exit codes."""

from __future__ import annotations

import json

import pytest
from rdflib.namespace import SKOS

import npc_kg
from npc_kg.errors import InputError
from npc_kg.kg.prefixes import UnknownPrefixError, to_curie
from npc_kg.kg.xrefs import Xref, mapping_rows, to_iri, xrefs
from npc_kg.namespace import NPC


def test_public_api_answers_like_the_module_function() -> None:
    assert npc_kg.xrefs("MONDO:0015459") == xrefs("MONDO:0015459") != []


def _direct(found: list[Xref]) -> list[Xref]:
    return [x for x in found if x.direction in ("asserted", "inverse")]


def test_npc_term_to_external_mappings() -> None:
    found = {(x.predicate, x.object) for x in _direct(xrefs("npc:NasopharyngealCarcinoma"))}
    assert found == {
        ("skos:exactMatch", "MONDO:0015459"),
        ("skos:exactMatch", "NCIT:C3871"),
        ("skos:exactMatch", "DOID:9261"),
        ("skos:exactMatch", "MESH:D000077274"),
        ("skos:broadMatch", "ICD10:C11"),
        ("skos:broadMatch", "MESH:D009303"),
    }
    assert {x.direction for x in _direct(xrefs("npc:NasopharyngealCarcinoma"))} == {"asserted"}


def test_external_curie_to_npc_term() -> None:
    [found] = _direct(xrefs("MONDO:0015459"))
    assert isinstance(found, Xref)
    assert (found.subject, found.predicate, found.object) == ("MONDO:0015459", "skos:exactMatch", "npc:NasopharyngealCarcinoma")
    assert found.direction == "inverse"
    assert found.labels == ("nasopharyngeal carcinoma", "nasopharyngeal carcinoma")
    assert found.confidence == pytest.approx(0.95)


def test_mondo_crosswalk_via_the_npc_term(kg) -> None:
    """MONDO:0015459 -> npc:NasopharyngealCarcinoma (exact) -> its other mappings, marked via."""
    via = {(x.predicate, x.object) for x in xrefs("MONDO:0015459") if x.direction == "via"}
    expected = {
        (to_curie(p), to_curie(o))
        for p in (SKOS.exactMatch, SKOS.closeMatch, SKOS.broadMatch, SKOS.narrowMatch)
        for o in kg.objects(NPC.NasopharyngealCarcinoma, p)
        if to_curie(o) != "MONDO:0015459"
    }
    assert via == expected
    assert {"NCIT:C3871", "DOID:9261", "MESH:D000077274", "ICD10:C11"} <= {o for _, o in via}
    assert all(x.via == "npc:NasopharyngealCarcinoma" for x in xrefs("MONDO:0015459") if x.direction == "via")


def test_mondo_crosswalk_lists_the_imports_own_cross_references(kg) -> None:
    rows = [x for x in xrefs("MONDO:0015459") if x.direction == "import"]
    objects = {x.object for x in rows}
    for expected in ("Orphanet:150", "UMLS:C2931822", "SCTID:363398003", "MEDGEN:419909", "icd11.foundation:1883313543"):
        assert expected in objects, expected
    assert all(x.source and x.source.startswith("MONDO import") for x in rows)
    assert all(x.subject == "MONDO:0015459" for x in rows)
    # ICD-10-CM C11 sits on the MONDO parent 'malignant tumor of nasopharynx', not on MONDO:0015459
    assert "ICD10CM:C11" not in objects
    assert "ICD10CM:C11" in {x.object for x in xrefs("MONDO:0021315")}


def test_icd10_who_and_icd10cm_are_different_systems() -> None:
    who, cm = to_iri("ICD10:C11"), to_iri("ICD10CM:C11")
    assert who != cm
    assert to_curie(who) == "ICD10:C11" and to_curie(cm) == "ICD10CM:C11"
    assert [x.object for x in _direct(xrefs("ICD10:C11"))] == ["npc:NasopharyngealCarcinoma"]
    assert _direct(xrefs("ICD10CM:C11")) == []


@pytest.mark.parametrize("spelling", ["mondo:0015459", "Mondo:0015459", "MONDO:0015459"])
def test_prefix_case_variants_are_accepted(spelling: str) -> None:
    assert _direct(xrefs(spelling))[0].object == "npc:NasopharyngealCarcinoma"


@pytest.mark.parametrize(("curie", "standard"), [("ORPHA:150", "Orphanet:150"), ("orphanet:150", "Orphanet:150"),
                                                 ("SNOMEDCT:363398003", "SCTID:363398003"), ("ICD10CM:C11", "ICD10CM:C11"),
                                                 ("UMLS:C2931822", "UMLS:C2931822")])  # fmt: skip
def test_mondo_prefixes_are_known(curie: str, standard: str) -> None:
    assert to_curie(to_iri(curie)) == standard


def test_unknown_prefix_suggests_a_known_one() -> None:
    with pytest.raises(UnknownPrefixError, match="did you mean 'MONDO'"):
        xrefs("MODNO:0015459")


def test_inverse_of_broad_match_is_narrow_match() -> None:
    found = {(x.predicate, x.object) for x in xrefs("MESH:D009362")}
    assert found == {("skos:narrowMatch", "npc:DistantMetastasis"), ("skos:narrowMatch", "npc:DistantMetastasisOutcome")}


def test_full_iri_is_accepted() -> None:
    assert [x.object for x in xrefs("http://purl.obolibrary.org/obo/HP_0006824")] == ["npc:CranialNervePalsy"]
    assert [x.object for x in xrefs("https://w3id.org/npc-kg/Radiotherapy")] == ["NCIT:C15313"]


def test_known_prefix_without_mapping_is_empty() -> None:
    assert xrefs("UBERON:0001728") == []
    assert xrefs("npc:SalvageSurgery") == []
    assert xrefs("Orphanet:150") == []  # a known system; no npc-kg term maps to it


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
    lines = result.stdout.splitlines()
    assert any("NCIT:C3871" in line and "via" in line for line in lines)
    assert any("Orphanet:150" in line and "MONDO import" in line for line in lines)


def test_cli_lower_case_mondo_prefix(cli) -> None:
    result = cli("xrefs", "mondo:0015459", check=True)
    assert "npc:NasopharyngealCarcinoma" in result.stdout


def test_cli_json(cli) -> None:
    result = cli("xrefs", "npc:CranialNervePalsy", "--format", "json", check=True)
    data = json.loads(result.stdout)
    assert [(row["predicate"], row["object"], row["direction"]) for row in data] == [
        ("skos:exactMatch", "HP:0006824", "asserted")
    ]
    assert data[0]["source"].startswith("npc-kg mappings")


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
    near = cli("xrefs", "MODNO:0015459")
    assert near.returncode == 2 and "did you mean 'MONDO'" in near.stderr


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


@pytest.mark.parametrize("term", [None, 5, ["MONDO:0015459"]])
def test_a_term_of_the_wrong_type_is_an_input_error(term: object) -> None:
    with pytest.raises(InputError, match="xrefs takes a CURIE or an IRI as text"):
        npc_kg.xrefs(term)  # type: ignore[arg-type]
