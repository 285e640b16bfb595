"""npc-kg export --format fhir-conceptmap: the code table as a FHIR R4 ConceptMap."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from npc_kg.cli import main
from npc_kg.errors import OutputError
from npc_kg.fhir import concept_map, load_code_table
from npc_kg.kg.export import export, formats
from npc_kg.resources import data_path
from tests.tools_venv import sssom_check

R4_EQUIVALENCE = {"relatedto", "equivalent", "equal", "wider", "subsumes", "narrower", "specializes", "inexact",
                  "unmatched", "disjoint"}


def test_registered_and_written_by_the_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert "fhir-conceptmap" in formats()
    target = tmp_path / "codes.json"
    assert main(["export", "--format", "fhir-conceptmap", "-o", str(target)]) == 0
    assert f"wrote {target}" in capsys.readouterr().err
    assert json.loads(target.read_text(encoding="utf-8")) == concept_map()


def test_r4_structure() -> None:
    cm = concept_map()
    assert cm["resourceType"] == "ConceptMap"
    assert cm["status"] in ("draft", "active", "retired", "unknown")
    assert cm["name"][0].isupper() and cm["name"].isalnum()
    assert cm["url"] == "https://w3id.org/npc-kg/mappings/fhir-codes.sssom.tsv"
    sources = [group["source"] for group in cm["group"]]
    assert sources == sorted(["http://hl7.org/fhir/sid/icd-10-cm", "http://human-phenotype-ontology.org",
                              "http://snomed.info/sct"])
    elements = [e for group in cm["group"] for e in group["element"]]
    assert len(elements) == len(load_code_table().codes) == 71
    for group in cm["group"]:
        assert group["target"] == "https://w3id.org/npc-kg/"
        for element in group["element"]:
            assert ":" not in element["code"] or element["code"].startswith("HP:"), "FHIR codes, not CURIEs"
            for target in element["target"]:
                assert target["equivalence"] in R4_EQUIVALENCE
                if target["equivalence"] in ("narrower", "inexact"):
                    assert target["comment"], "cmd-1: narrower and inexact maps need a comment"


def _targets() -> dict[tuple[str, str], tuple[str, str]]:
    return {(group["source"], element["code"]): (target["code"], target["equivalence"])
            for group in concept_map()["group"] for element in group["element"] for target in element["target"]}


def test_equivalences() -> None:
    targets = _targets()
    icd, sct, hpo = "http://hl7.org/fhir/sid/icd-10-cm", "http://snomed.info/sct", "http://human-phenotype-ontology.org"
    assert targets[(icd, "C79.51")] == ("DistantMetastasis", "wider")
    assert targets[(icd, "C77.0")] == ("DistantMetastasis", "disjoint")
    assert targets[(icd, "C11.9")] == ("NasopharyngealCarcinoma", "inexact")
    assert targets[(sct, "126680004")] == ("NasopharyngealCarcinoma", "narrower")
    assert targets[(hpo, "HP:0033675")] == ("Frailty", "equivalent")
    assert targets[(icd, "N18.9")] == ("RenalInsufficiency", "relatedto")


def test_same_mappings_as_sssom_py_except_negations() -> None:
    """sssom-py's writer (in the tools environment) gives the same (code, target, equivalence) triples,
    but ignores predicate_modifier."""
    table = load_code_table()
    system_of = {prefix: system for system, prefix in table.systems.items()}
    theirs = {}
    for element in sssom_check("fhir", data_path("mappings", "fhir-codes.sssom.tsv"))["group"][0]["element"]:
        prefix, _, local = element["code"].partition(":")
        code = element["code"] if prefix == "HP" else local
        [target] = element["target"]
        theirs[(system_of[prefix], code)] = (target["code"].split(":", 1)[1], target["equivalence"])
    ours = _targets()
    assert set(ours) == set(theirs)
    differ = {key for key in ours if ours[key] != theirs[key]}
    assert differ == {("http://hl7.org/fhir/sid/icd-10-cm", "C77.0")}
    assert ours[("http://hl7.org/fhir/sid/icd-10-cm", "C77.0")][1] == "disjoint"


def test_refuses_to_overwrite_the_code_table() -> None:
    with pytest.raises(OutputError):
        export("fhir-conceptmap", data_path("mappings", "fhir-codes.sssom.tsv"))


def test_site_codes_are_exported(tmp_path: Path) -> None:
    site = tmp_path / "site.yaml"
    site.write_text("format: npc-kg-fhir-mapping/1\ncodes:\n"
                    "  - {subject_id: 'SCTID:1000', subject_label: local, predicate_id: skos:exactMatch,"
                    " object_id: npc:Frailty, comment: a site's code}\n", encoding="utf-8")
    elements = {e["code"] for g in concept_map([site])["group"] for e in g["element"]}
    assert "1000" in elements
