"""The SSSOM mapping set agrees with the ontology both ways and passes the SSSOM schema.

sssom-py runs in the tools virtual environment (``tests/tools_venv.py``): it pins
antlr4-python3-runtime<4.10 through linkml, which fhirpathpy in the test extra excludes.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import yaml
from rdflib import Graph, URIRef
from rdflib.namespace import SKOS

from npc_kg.exporters.sssom import render_sssom
from npc_kg.kg.xrefs import MAPPING_PREDICATES, to_curie, to_iri
from npc_kg.namespace import BASE
from npc_kg.resources import data_path
from tests.tools_venv import sssom_check

MAIN = data_path("mappings", "npc-kg.sssom.tsv")
REJECTED = data_path("mappings", "rejected.sssom.tsv")
INVALID = sorted((Path(__file__).parent / "data" / "sssom" / "invalid").glob("*.sssom.tsv"))

# Labels of the design brief's table of checked identifiers (section 3) and section 2.
BRIEF_LABELS = {
    "MONDO:0015459": "nasopharyngeal carcinoma",
    "NCIT:C3871": "nasopharyngeal carcinoma",
    "DOID:9261": "nasopharynx carcinoma",
    "MESH:D000077274": "Nasopharyngeal Carcinoma",
    "NCIT:C9240": "recurrent nasopharynx carcinoma",
    "MESH:D009303": "Nasopharyngeal Neoplasms",
    "MESH:D009362": "Neoplasm Metastasis",
    "MESH:D006470": "Hemorrhage",
    "MESH:D003643": "Death",
    "HP:0006824": "cranial nerve paralysis",
    "NCIT:C15313": "radiation therapy",
    "OBI:0000789": "survival rate",
    "OBI:0000175": "p-value",
    "STATO:0000088": "study group population size",
    "STATO:0000203": "cohort",
    "SEPIO:0000173": "study finding",
    "SEPIO:0000067": "clinical study",
    "SEPIO:0000070": "observational clinical study",
    "ECO:0000180": "clinical study evidence",
}
VERIFIED = {"MONDO:0015459", "NCIT:C3871", "DOID:9261", "ICD10:C11", "NCIT:C9240", "HP:0006824", "NCIT:C15313"}
SECONDARY = {"MESH:D000077274", "MESH:D009303", "MESH:D009362", "MESH:D006470", "MESH:D003643"}


def _rows(path: Path) -> list[dict[str, str]]:
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if not line.startswith("#")]
    return list(csv.DictReader(lines, delimiter="\t"))


def _header(path: Path) -> dict:
    text = "\n".join(line[1:] for line in path.read_text(encoding="utf-8").splitlines() if line.startswith("#"))
    return yaml.safe_load(text)


def _graph_mappings(kg: Graph) -> set[tuple[str, str, str]]:
    """npc-kg's own mappings: SKOS triples whose subject is an npc-kg term (the MONDO import's
    own mappings, on MONDO subjects, are MONDO's and not part of npc-kg's mapping set)."""
    return {
        (to_curie(s), to_curie(p), to_curie(o))
        for p in MAPPING_PREDICATES
        for s, o in kg.subject_objects(p)
        if str(s).startswith(BASE)
    }


def test_every_ontology_mapping_is_a_row_and_every_row_is_in_the_ontology(kg: Graph) -> None:
    rows = {(row["subject_id"], row["predicate_id"], row["object_id"]) for row in _rows(MAIN)}
    in_graph = _graph_mappings(kg)
    assert in_graph, "the ontology asserts no skos:*Match at all"
    assert in_graph - rows == set(), "mappings in the ontology missing from mappings/npc-kg.sssom.tsv"
    assert rows - in_graph == set(), "rows of mappings/npc-kg.sssom.tsv the ontology does not assert"
    assert len(rows) == len(_rows(MAIN)), "duplicate rows"


def test_mapping_subjects_are_npc_terms_or_imported_classes(kg: Graph) -> None:
    from npc_kg.kg.load import ontology_files
    from npc_kg.rdfio import parse_file

    imported = Graph()
    for path in ontology_files():
        if path.parent.name == "imports":
            parse_file(path, "turtle", graph=imported)
    for predicate in MAPPING_PREDICATES:
        for subject, obj in kg.subject_objects(predicate):
            if not str(subject).startswith(BASE):
                assert (subject, predicate, obj) in imported, (subject, predicate, obj)


def test_committed_file_equals_fresh_export(kg: Graph) -> None:
    assert render_sssom(kg) == MAIN.read_text(encoding="utf-8"), (
        "regenerate: npc-kg export --format sssom -o mappings/npc-kg.sssom.tsv"
    )


REQUIRED_COLUMNS = ("subject_id", "predicate_id", "object_id", "mapping_justification")


def problems(path: Path) -> list[str]:
    """Everything wrong with an SSSOM/TSV file: sssom-py's schema checks (JSON schema, prefix map
    completeness, strict CURIEs), plus what sssom-py lets through silently (a missing required
    column, rows it drops as not well-formed)."""
    found: list[str] = []
    raw = _rows(path)
    missing = [column for column in REQUIRED_COLUMNS if raw and column not in raw[0]]
    found += [f"missing required column {column}" for column in missing]
    checked = sssom_check("validate", path)[str(path)]
    if checked["rows"] is not None and checked["rows"] != len(raw):
        found.append(f"sssom-py kept {checked['rows']} of {len(raw)} rows")
    return found + checked["problems"]


@pytest.mark.parametrize("path", [MAIN, REJECTED], ids=lambda p: p.name)
def test_sssom_py_parses_and_validates(path: Path) -> None:
    assert problems(path) == []
    assert sssom_check("validate", path)[str(path)]["rows"] == len(_rows(path)) > 0


@pytest.mark.parametrize("path", [MAIN, REJECTED], ids=lambda p: p.name)
def test_required_header_slots(path: Path) -> None:
    header = _header(path)
    for slot in ("curie_map", "mapping_set_id", "mapping_set_version", "license", "mapping_date"):
        assert header.get(slot), slot
    assert header["mapping_set_id"] == BASE + "mappings/" + path.name
    assert {row["mapping_justification"] for row in _rows(path)} == {"semapv:ManualMappingCuration"}


@pytest.mark.parametrize("path", INVALID, ids=lambda p: p.name)
def test_invalid_examples_are_rejected(path: Path) -> None:
    assert str(_header(path).get("comment", "")).startswith("breaks:"), "each invalid file says which rule it breaks"
    assert problems(path), f"{path.name} passed validation"


def test_invalid_examples_exist() -> None:
    assert len(INVALID) >= 3


def test_confidence_follows_check_status() -> None:
    for row in _rows(MAIN):
        confidence = float(row["confidence"])
        assert 0 < confidence <= 1
        if row["object_id"] in VERIFIED:
            assert confidence >= 0.9, row
            assert "status V" in row["comment"]
        elif row["object_id"] in SECONDARY:
            assert 0.6 <= confidence <= 0.7, row
            assert "status S" in row["comment"]
        else:
            assert confidence < 0.9, row


def test_external_labels_are_the_briefs() -> None:
    for row in _rows(MAIN):
        if row["object_id"] in BRIEF_LABELS:
            assert row["object_label"] == BRIEF_LABELS[row["object_id"]]
        assert row["subject_label"], row


def test_nodal_disease_to_mesh_disease_is_rejected_not_mapped(kg: Graph) -> None:
    mesh_disease = to_iri("MESH:D004194")
    # no npc-kg term maps to it (MONDO:0000001 'disease' does, in the MONDO import: that is MONDO's)
    assert not [s for p in MAPPING_PREDICATES for s in kg.subjects(p, mesh_disease) if str(s).startswith(BASE)]
    assert all(row["object_id"] != "MESH:D004194" for row in _rows(MAIN))
    [rejected] = [row for row in _rows(REJECTED) if row["object_id"] == "MESH:D004194"]
    assert rejected["predicate_modifier"] == "Not"
    assert float(rejected["confidence"]) <= 0.1
    assert (to_iri(rejected["subject_id"]), None, None) in kg


def test_hp_bridge_is_logical_not_a_mapping_row(kg: Graph) -> None:
    from rdflib.namespace import RDFS

    hp = URIRef(to_iri("HP:0006824"))
    cnp = URIRef(to_iri("npc:CranialNervePalsy"))
    assert (hp, RDFS.subClassOf, cnp) in kg
    assert (cnp, SKOS.exactMatch, hp) in kg
    rows = [row for row in _rows(MAIN) if row["object_id"] == "HP:0006824"]
    assert [(row["subject_id"], row["predicate_id"]) for row in rows] == [("npc:CranialNervePalsy", "skos:exactMatch")]
