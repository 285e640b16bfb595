"""Every real mCODE example file (tests/data/fhir/mcode/, copies of ../shared/fhir/examples/mcode/) is read and checked."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from npc_kg.fhir import read_bundle
from npc_kg.namespace import NPC, PATIENT

DATA = Path(__file__).resolve().parent.parent / "data" / "fhir" / "mcode"
SHARED = Path(__file__).resolve().parents[3] / "shared" / "fhir" / "examples" / "mcode"
FILES = sorted(DATA.glob("*.json"))


def test_copies_are_byte_for_byte() -> None:
    if not SHARED.is_dir():
        message = f"{SHARED} is missing (CI lays shared/ beside the repository)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    shared = sorted(SHARED.glob("*.json"))
    assert [p.name for p in shared] == [p.name for p in FILES]
    for ours, theirs in zip(FILES, shared, strict=True):
        assert hashlib.sha256(ours.read_bytes()).digest() == hashlib.sha256(theirs.read_bytes()).digest(), ours.name
    assert "CC0-1.0" in (DATA / "README.md").read_text(encoding="utf-8"), "the licence note is kept"


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_every_real_file_is_read(path: Path) -> None:
    patient = read_bundle(path)
    assert patient.source_id.startswith("cancer-patient-")
    assert not patient.in_scope, "none of the real examples is an NPC patient"
    assert patient.graph is None and patient.ntriples() == []


def test_breast_cancer_bundle_is_out_of_scope() -> None:
    patient = read_bundle(DATA / "Bundle-mcode-patient-bundle-jenny-m.json")
    assert patient.source_id == "cancer-patient-jenny-m"
    assert patient.iri == f"{PATIENT}cancer-patient-jenny-m"
    assert "no Condition coded as npc:NasopharyngealCarcinoma" in (patient.out_of_scope or "")
    assert patient.stats.resources == 40
    assert patient.stats.unused_types["MedicationRequest"] == 4
    # what it does hold is still read: cM0, ECOG 0, one completed radiotherapy course, the cN value
    assert (str(NPC.DistantMetastasis), "absent") in {(c, r.status) for r in patient.records for c in r.classes}
    assert patient.properties[str(NPC.ecogPerformanceStatus)][0] == 0
    assert patient.properties[str(NPC.radiotherapyCourses)][0] == 1


def test_comorbidities_give_explicit_present_and_absent() -> None:
    patient = read_bundle(DATA / "Observation-cancer-related-comorbidities-john-anyperson.json")
    present = [(s.state, s.reference) for s in patient.statements if s.rule == "comorbidity-present"]
    absent = sorted((s.state, s.code) for s in patient.statements if s.rule == "comorbidity-absent")
    assert present == [("present", "Condition/john-anyperson-chf")]
    assert absent == [("absent", "SCTID:19829001"), ("absent", "SCTID:414916001")]
    assert patient.stats.unmapped_codes == 2, "Obesity and Disorder of lung are not in the code table"


def test_comorbidity_absent_becomes_a_record_with_a_site_mapping(tmp_path: Path) -> None:
    from npc_kg.fhir import load_fhir_mapping

    site = tmp_path / "site.yaml"
    site.write_text(
        "format: npc-kg-fhir-mapping/1\n"
        "codes:\n"
        "  - {subject_id: 'SCTID:19829001', subject_label: Disorder of lung (disorder), predicate_id: skos:exactMatch,\n"
        "     object_id: npc:OtherContraindicationToSurgery, mapping_justification: semapv:ManualMappingCuration}\n",
        encoding="utf-8")
    patient = read_bundle(DATA / "Observation-cancer-related-comorbidities-john-anyperson.json",
                          mapping=load_fhir_mapping([site]))
    [record] = patient.records
    assert record.classes == (str(NPC.OtherContraindicationToSurgery),) and record.status == "absent"
    assert [ref.reference for ref in record.sources] == ["Observation/cancer-related-comorbidities-john-anyperson"]


def test_cn3_and_ecog_give_their_values() -> None:
    cn3 = read_bundle(DATA / "Observation-tnm-clinical-regional-nodes-category-cN3.json")
    [(value, source)] = cn3.context["cN-category"]
    assert value == "SCTID:1229984001"  # "American Joint Committee on Cancer cN3 (qualifier value)"
    assert source.reference == "Observation/tnm-clinical-regional-nodes-category-cN3"
    ecog = read_bundle(DATA / "Observation-ecog-performance-status-fully-active.json")
    value, datatype, sources = ecog.properties[str(NPC.ecogPerformanceStatus)]
    assert (value, datatype.rsplit("#", 1)[-1]) == (0, "integer")
    assert [s.reference for s in sources] == ["Observation/ecog-performance-status-fully-active"]


def test_brain_metastasis_is_a_narrower_distant_metastasis() -> None:
    patient = read_bundle(DATA / "Condition-secondary-cancer-condition-brain-mets.json")
    [record] = patient.records
    assert record.classes == ("http://snomed.info/id/94225005",) and record.status == "present"
    assert patient.bridges == (("http://snomed.info/id/94225005", str(NPC.DistantMetastasis)),)


def test_lung_cancer_condition_is_not_npc() -> None:
    patient = read_bundle(DATA / "Condition-primary-cancer-condition-nsclc.json")
    assert patient.records == () and patient.stats.unmapped_codes == 1


