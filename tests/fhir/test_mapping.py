"""The mapping files: the shipped YAML and SSSOM code table, their checks, and how a site's file merges in."""

from __future__ import annotations

import csv
import os
import re
from pathlib import Path

import pytest
import yaml

from npc_kg.fhir import FhirMappingError, load_code_table, load_fhir_mapping, read_bundle
from npc_kg.namespace import NPC
from npc_kg.resources import data_path
from tests.tools_venv import sssom_check

TABLE = data_path("mappings", "fhir-codes.sssom.tsv")
MAPPING = data_path("mappings", "fhir-mcode.yaml")
CODES_MD = Path(__file__).resolve().parents[3] / "shared" / "fhir" / "codes.md"


def _rows() -> list[dict[str, str]]:
    lines = [line for line in TABLE.read_text(encoding="utf-8").splitlines() if not line.startswith("#")]
    return list(csv.DictReader(lines, delimiter="\t"))


def test_code_table_validates_with_sssom_py() -> None:
    """sssom-py (in the tools environment, tests/tools_venv.py) parses every row and finds no problem."""
    checked = sssom_check("validate", TABLE)[str(TABLE)]
    assert checked["rows"] == len(_rows()) == 71
    assert checked["problems"] == []


def test_every_row_cites_its_source() -> None:
    for row in _rows():
        comment = row["comment"]
        assert re.search(r"(Seen with (this|the) display|HPO release 2025-01-16)", comment), row["subject_id"]
        assert row["mapping_justification"] == "semapv:ManualMappingCuration"
        assert row["object_id"].startswith("npc:")
        assert 0 < float(row["confidence"]) <= 1


def test_only_codes_listed_in_codes_md() -> None:
    """Every code of the table is one ../shared/fhir/codes.md lists (C78.x and C79.x as families)."""
    if not CODES_MD.is_file():
        message = f"{CODES_MD} is missing (CI lays shared/ beside the repository)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    text = CODES_MD.read_text(encoding="utf-8")
    for row in _rows():
        code = row["subject_id"].split(":", 1)[1] if not row["subject_id"].startswith("HP:") else row["subject_id"]
        family = re.match(r"(C7[89])", code)
        assert code in text or (family and f"{family.group(1)}.x" in text), row["subject_id"]


def test_predicates_decide_granularity() -> None:
    rows = {row["subject_id"]: row for row in _rows()}
    assert rows["ICD10CM:C79.51"]["predicate_id"] == "skos:broadMatch"  # narrower: typed with the code
    assert rows["SCTID:94225005"]["predicate_id"] == "skos:broadMatch"
    assert rows["SCTID:399409002"]["predicate_id"] == "skos:exactMatch"
    assert rows["SCTID:126680004"]["predicate_id"] == "skos:narrowMatch"  # broader than NPC
    assert rows["ICD10CM:C77.0"]["predicate_modifier"] == "Not"
    assert all(rows[f"ICD10CM:C11.{n}"]["predicate_id"] == "skos:closeMatch" for n in (0, 1, 2, 3, 8, 9))
    mapping = load_fhir_mapping()
    assert ("http://purl.bioontology.org/ontology/ICD10CM/C79.51", str(NPC.DistantMetastasis)) in mapping.bridges()
    assert not any(code.endswith("C77.0") for code, _cls in mapping.bridges())


def test_python_holds_no_clinical_code() -> None:
    package = Path(__file__).resolve().parents[2] / "npc_kg" / "fhir"
    for path in package.glob("*.py"):
        text = path.read_text(encoding="utf-8")
        for code in ("C11", "C79", "C77", "399387003", "1229901006", "89247-1", "21911-3", "1217123003", "refuted",
                     "entered-in-error", "remission", "relapse", "snomed", "loinc", "icd-10", "Nasopharyn",
                     "DistantMetastasis", "hl7.org"):
            assert code not in text, f"{path.name} names {code}: it belongs in the mapping"


def _site(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "site.yaml"
    path.write_text("format: npc-kg-fhir-mapping/1\n" + text, encoding="utf-8")
    return path


def test_site_rule_added_replaced_and_removed(tmp_path: Path) -> None:
    shipped = load_fhir_mapping()
    keys = [rule.key for rule in shipped.findings]
    assert "history-of-metastatic-cancer" in keys
    site = _site(tmp_path, (
        "findings:\n"
        "  - {key: history-of-metastatic-cancer, remove: true}\n"
        "  - key: m-category\n"
        "    resource: Observation\n"
        "    codes: ['LOINC:21907-1']\n"
        "    finding: npc:DistantMetastasis\n"
        "    value: valueCodeableConcept.coding\n"
        "    values: {'SCTID:1229901006': absent}\n"
        "    states: observation\n"
        "  - key: site-rule\n"
        "    resource: Condition\n"
        "    code: code\n"
        "    states: condition\n"))
    merged = load_fhir_mapping([site])
    by_key = {rule.key: rule for rule in merged.findings}
    assert "history-of-metastatic-cancer" not in by_key and "site-rule" in by_key
    assert by_key["m-category"].codes == frozenset({"LOINC:21907-1"}) and by_key["m-category"].pick == "all"
    assert merged.files == (str(MAPPING), str(site))


def test_site_codes_replace_shipped_rows(tmp_path: Path, builder) -> None:  # type: ignore[no-untyped-def]
    site = _site(tmp_path, (
        "codes:\n"
        "  - {subject_id: 'ICD10CM:N18.9', predicate_id: skos:broadMatch, object_id: npc:RenalInsufficiency}\n"))
    shipped, merged = load_code_table(), load_code_table([site])
    assert [row.predicate for row in shipped.codes["ICD10CM:N18.9"]] == ["skos:relatedMatch"]
    assert [row.predicate for row in merged.codes["ICD10CM:N18.9"]] == ["skos:broadMatch"]
    resources = builder.base("ckd")
    builder._present("renal", builder.ICD, "N18.9", "Chronic kidney disease, unspecified")("ckd", resources)
    without = read_bundle(builder.bundle(resources))
    with_site = read_bundle(builder.bundle(resources), mapping=load_fhir_mapping([site]))
    assert not any(r.code == "ICD10CM:N18.9" for r in without.records), "related, not renal insufficiency"
    assert [r.status for r in with_site.records if r.code == "ICD10CM:N18.9"] == ["present"]


def test_site_code_table_file(tmp_path: Path) -> None:
    table = tmp_path / "local.sssom.tsv"
    table.write_text("#curie_map:\n#  npc: https://w3id.org/npc-kg/\n"
                     "subject_id\tpredicate_id\tobject_id\nSCTID:1000\tskos:exactMatch\tnpc:Frailty\n", encoding="utf-8")
    site = _site(tmp_path, "code_tables: [local.sssom.tsv]\n")
    assert load_code_table([site]).codes["SCTID:1000"][0].target == str(NPC.Frailty)


@pytest.mark.parametrize(("text", "fragment"), [
    ("bogus: 1\n", "unknown key(s) bogus"),
    ("states:\n  condition:\n    - {path: status, values: {final: maybe}}\n", "is not one of present"),
    ("findings:\n  - {key: x, resource: Condition, code: code, states: nowhere}\n", "unknown state table 'nowhere'"),
    ("findings:\n  - {key: x, resource: Condition, code: code, codes: ['SCTID:1'], states: condition}\n", "exactly one of"),
    ("findings:\n  - {key: x, resource: Condition, codes: ['NOPE:1'], finding: npc:Frailty, value: valueBoolean,"
     " values: {'true': present}, states: condition}\n", "not a CURIE with a prefix"),
    ("findings:\n  - {key: x, resource: Observation, codes: ['LOINC:1'], finding: npc:Frailty, value: 'where(',"
     " values: {'true': present}, states: observation}\n", "is not valid"),
    ("codes:\n  - {subject_id: 'ZZZ:1', predicate_id: skos:exactMatch, object_id: npc:Frailty}\n", "has no FHIR system"),
    ("codes:\n  - {subject_id: 'SCTID:1', predicate_id: skos:mappingRelation, object_id: npc:Frailty}\n",
     "not in `granularity`"),
    ("granularity:\n  skos:exactMatch: {present: class, absent: sometimes}\n", "granularity skos:exactMatch"),
    ("systems:\n  http://example.org/cs: NOPE\n", "is not in `prefixes`"),
    ("format: something-else\n", "format must be"),
    ("findings: {key: x}\n", "findings must be a list"),
])
def test_malformed_site_file(tmp_path: Path, text: str, fragment: str) -> None:
    path = tmp_path / "site.yaml"
    path.write_text(text if text.startswith("format") else "format: npc-kg-fhir-mapping/1\n" + text, encoding="utf-8")
    with pytest.raises(FhirMappingError) as info:
        load_fhir_mapping([path])
    assert fragment in str(info.value)
    assert str(path) in str(info.value) or str(MAPPING) in str(info.value)
    assert info.value.exit_code == 2


def test_missing_and_invalid_yaml(tmp_path: Path) -> None:
    with pytest.raises(FhirMappingError, match="no such FHIR mapping file"):
        load_fhir_mapping([tmp_path / "absent.yaml"])
    bad = tmp_path / "bad.yaml"
    bad.write_text("findings: [\n", encoding="utf-8")
    with pytest.raises(FhirMappingError, match="invalid YAML") as info:
        load_fhir_mapping([bad])
    assert info.value.line is not None


def test_shipped_yaml_names_only_known_state_tables() -> None:
    doc = yaml.safe_load(MAPPING.read_text(encoding="utf-8"))
    tables = set(doc["states"])
    used = {rule["states"] for section in ("findings", "properties", "context") for rule in doc[section] if "states" in rule}
    used |= {doc["scope"]["states"]} | {c["states"] for c in doc["recurrence"]["categories"]}
    assert used == tables


def test_a_resource_type_that_fhir_r4_lacks_is_refused(tmp_path: Path) -> None:
    site = _site(tmp_path, (
        "findings:\n"
        "  - key: m-category\n"
        "    resource: Observaton\n"
        "    codes: ['LOINC:21907-1']\n"
        "    finding: npc:DistantMetastasis\n"
        "    value: valueCodeableConcept.coding\n"
        "    values: {'SCTID:1229901006': absent}\n"
        "    states: observation\n"))
    with pytest.raises(FhirMappingError, match=r"'Observaton' is not a FHIR R4 resource type; did you mean 'Observation'"):
        load_fhir_mapping([site])
    with pytest.raises(FhirMappingError, match=str(site)):
        load_fhir_mapping([site])


def test_a_rule_without_states_says_so(tmp_path: Path) -> None:
    site = _site(tmp_path, (
        "findings:\n"
        "  - key: site-rule\n"
        "    resource: Condition\n"
        "    code: code\n"))
    with pytest.raises(FhirMappingError, match=r"site-rule.*needs states: one of the state tables \(.*condition"):
        load_fhir_mapping([site])


def test_one_site_file_may_be_given_alone() -> None:
    """A path given alone is one file (a str was read as a sequence of one-character paths: "/")."""
    site = Path(__file__).resolve().parents[1] / "data" / "fhir" / "site-mapping.yaml"
    expected = load_fhir_mapping([site]).files
    assert load_fhir_mapping(site).files == load_fhir_mapping(str(site)).files == expected
    assert str(site) in expected[-1]
