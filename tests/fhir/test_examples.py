"""The synthetic NPC bundles of tests/data/fhir: valid ones give their expected verdicts, invalid ones their errors."""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

import npc_kg
from npc_kg.core.rules import OUT_OF_SCOPE
from npc_kg.fhir import FhirInputError, FhirPatient, FhirRecordError, iter_bulk, load_fhir_mapping, read_bundle
from npc_kg.fhir import errors as fhir_errors

DATA = Path(__file__).resolve().parent.parent / "data" / "fhir"
VALID = yaml.safe_load((DATA / "valid" / "expected.yaml").read_text(encoding="utf-8"))
INVALID = yaml.safe_load((DATA / "invalid" / "expected.yaml").read_text(encoding="utf-8"))
BULK = yaml.safe_load((DATA / "bulk" / "expected.yaml").read_text(encoding="utf-8"))
_MAPPINGS: dict[str | None, Any] = {}


def _mapping(name: str | None) -> Any:
    if name not in _MAPPINGS:
        _MAPPINGS[name] = load_fhir_mapping([DATA / name]) if name else load_fhir_mapping()
    return _MAPPINGS[name]


def _curie(iri: str) -> str:
    return iri.replace("https://w3id.org/npc-kg/", "npc:").replace("http://purl.bioontology.org/ontology/ICD10CM/", "ICD10CM:")


def test_committed_examples_equal_the_builder(builder: Any) -> None:
    rendered = builder.render()
    for path, text in rendered.items():
        assert path.read_text(encoding="utf-8") == text, f"{path}: run python tests/fhir/build_examples.py"
    for folder in ("valid", "invalid", "bulk"):
        on_disk = set((DATA / folder).iterdir())
        assert on_disk == {p for p in rendered if p.parent == DATA / folder}, f"stray files in {folder}/"


def test_examples_cover_every_verdict_and_contraindication() -> None:
    verdicts = {entry["verdict"] for entry in VALID.values()}
    assert verdicts == {"eligible", "ineligible", "indeterminate", OUT_OF_SCOPE}
    violated = {c for entry in VALID.values() for c, s in entry.get("criteria", {}).items() if s == "violated"}
    assert {c for c in violated if c.startswith("ci-")} == {
        "ci-1-skull-base-or-cranial-nerve", "ci-2-neck-lesion-adherent", "ci-3-distant-metastasis",
        "ci-4-age-frailty-condition-organ", "ci-5-other-contraindication"}


@pytest.mark.parametrize("name", sorted(VALID))
def test_valid_bundle(name: str) -> None:
    expected = VALID[name]
    patient = read_bundle(DATA / "valid" / name, mapping=_mapping(expected.get("mapping")))
    assert patient.source_id == expected["patient"]
    [assessment] = npc_kg.assess(DATA / "valid" / name, mapping=_mapping(expected.get("mapping")))  # the public path
    assert assessment.verdict == expected["verdict"] and assessment.source_id == expected["patient"]
    if expected["verdict"] == OUT_OF_SCOPE:
        assert not patient.in_scope and patient.graph is None
        assert expected["reason"] in (patient.out_of_scope or "")
        assert assessment.out_of_scope == patient.out_of_scope and assessment.criteria == ()
        return
    assert patient.in_scope, patient.out_of_scope
    assert patient.graph is not None
    [with_bridges] = npc_kg.assess(patient.graph)  # the bridges as data: the same rows
    assert [r.status for r in with_bridges.criteria] == [r.status for r in assessment.criteria]
    assert assessment.verdict == expected["verdict"]
    got = {row.criterion.rsplit("/", 1)[-1]: row.status for row in assessment.criteria}
    assert got == expected["criteria"]
    assert sorted(_curie(m) for m in assessment.missing) == sorted(expected["missing"])
    for prop, value in (expected.get("properties") or {}).items():
        assert patient.properties[prop.replace("npc:", "https://w3id.org/npc-kg/")][0] == value
    for want in expected.get("records") or []:
        matches = [r for r in patient.records if want["class"] in map(_curie, r.classes) and r.status == want["status"]]
        assert matches, f"no {want['status']} record of {want['class']}"
        record = matches[0]
        props = {_curie(p): _curie(o) for p, o in record.properties}
        for key, category in (("rT", "npc:rTCategory"), ("rN", "npc:rNCategory")):
            if key in want:
                assert props.get(category) == want[key]
        if "sources" in want:
            assert sorted(ref.reference for ref in record.sources) == sorted(want["sources"])


@pytest.mark.parametrize("name", sorted(INVALID))
def test_invalid_file(name: str) -> None:
    expected = INVALID[name]
    assert expected["breaks"], "each invalid file says which rule it breaks"
    path = DATA / "invalid" / name
    with pytest.raises(FhirInputError) as info:
        read_bundle(path, mapping=_mapping("site-mapping.yaml"))
    error = info.value
    assert type(error).__name__ == expected["error"]
    assert isinstance(error, getattr(fhir_errors, expected["error"]))
    assert error.exit_code == 2
    message = str(error)
    assert message.startswith(str(path)), "the message names the file"
    assert expected["fragment"] in message
    if "pointer" in expected:
        assert error.pointer == expected["pointer"]
    for secret in ("npc-invalid", "someone-else", "urn:uuid", "C11.9", "2024-0", "HP:0"):
        assert secret not in message, "no patient value in an error message"


def _bulk_results(folder: Path) -> dict[str, FhirPatient | FhirRecordError]:
    results: dict[str, FhirPatient | FhirRecordError] = {}
    for item in iter_bulk([folder], mapping=_mapping("site-mapping.yaml")):
        key = item.source_id
        assert key not in results or key == "", "one record per patient"
        results[key] = item
    return results


def test_bulk_export() -> None:
    results = _bulk_results(DATA / "bulk")
    assert set(results) == set(BULK)
    for pid, expected in BULK.items():
        item = results[pid]
        if "error" in expected:
            assert isinstance(item, FhirRecordError), pid
            assert expected["error"] in item.message
            if expected.get("file"):
                assert item.path is not None and item.path.endswith(expected["file"]) and item.line
            for secret in ("npc-bulk", "C79", "HP:0"):
                assert secret not in item.message.replace(str(DATA), "")
            continue
        assert isinstance(item, FhirPatient), (pid, getattr(item, "message", ""))
        if expected["verdict"] == OUT_OF_SCOPE:
            assert not item.in_scope
        else:
            [assessment] = npc_kg.assess(item.graph)
            assert assessment.verdict == expected["verdict"]


def test_bulk_reads_resources_in_any_order(tmp_path: Path) -> None:
    rng = random.Random(7)
    for path in (DATA / "bulk").glob("*.ndjson"):
        lines = path.read_text(encoding="utf-8").splitlines()
        rng.shuffle(lines)
        (tmp_path / path.name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    original, shuffled = _bulk_results(DATA / "bulk"), _bulk_results(tmp_path)
    assert set(original) == set(shuffled)
    for pid, item in original.items():
        if isinstance(item, FhirPatient):
            other = shuffled[pid]
            assert isinstance(other, FhirPatient)
            assert sorted(item.ntriples()) == sorted(other.ntriples())
        else:
            assert isinstance(shuffled[pid], FhirRecordError)


def test_bulk_patient_equals_its_bundle(builder: Any, tmp_path: Path) -> None:
    """The same resources give the same triples from NDJSON files and from a bundle."""
    resources = builder.base("same")
    files: dict[str, list[str]] = {}
    for resource in resources.values():
        files.setdefault(resource["resourceType"], []).append(json.dumps(resource))
    for kind, lines in files.items():
        (tmp_path / f"{kind}.ndjson").write_text("\n".join(lines[::-1]) + "\n", encoding="utf-8")
    [from_bulk] = list(iter_bulk([tmp_path], mapping=_mapping("site-mapping.yaml")))
    from_bundle = read_bundle(builder.bundle(resources), mapping=_mapping("site-mapping.yaml"))
    assert isinstance(from_bulk, FhirPatient)
    assert sorted(from_bulk.ntriples()) == sorted(from_bundle.ntriples())


def test_bulk_accepts_files_and_bundle_files(tmp_path: Path) -> None:
    shutil.copy(DATA / "valid" / "eligible.json", tmp_path / "eligible.json")
    files = sorted((DATA / "bulk").glob("*.ndjson"))
    items = list(iter_bulk([*files, tmp_path / "eligible.json"], mapping=_mapping("site-mapping.yaml")))
    assert [i.source_id for i in items][-1] == "npc-eligible"
    assert len(items) == len(BULK) + 1


def test_bulk_duplicate_across_patients(builder: Any, tmp_path: Path) -> None:
    one, two = builder.base("one"), builder.base("two")
    two["frailty"]["id"] = one["frailty"]["id"]
    lines = [json.dumps(r) for r in (*one.values(), *two.values())]
    (tmp_path / "all.ndjson").write_text("\n".join(lines) + "\n", encoding="utf-8")
    items = {i.source_id: i for i in iter_bulk([tmp_path], mapping=_mapping("site-mapping.yaml"))}
    assert isinstance(items["one"], FhirRecordError) and isinstance(items["two"], FhirRecordError)
    assert "same id" in items["two"].message


def test_bulk_shards_together_give_every_record() -> None:
    from npc_kg.fhir import BulkExport

    export = BulkExport([DATA / "bulk"], mapping=_mapping("site-mapping.yaml"))
    whole = [item.source_id for item in export.records()]
    assert len(export) == len(whole) == len(BULK)
    shards = [[item.source_id for item in export.records(shard=k, shards=3)] for k in range(3)]
    assert sorted(pid for shard in shards for pid in shard) == sorted(whole)
    assert all(shards)
    with pytest.raises(ValueError):
        list(export.records(shard=3, shards=3))


def test_bulk_unknown_resource_type_breaks_its_patient(builder: Any, tmp_path: Path) -> None:
    good, bad = builder.base("good"), builder.base("bad")
    lines = [json.dumps(r) for r in (*good.values(), *bad.values())]
    lines.append(json.dumps({"resourceType": "Recurrence", "id": "r1", "subject": {"reference": "Patient/bad"}}))
    (tmp_path / "export.ndjson").write_text("\n".join(lines) + "\n", encoding="utf-8")
    items = {i.source_id: i for i in iter_bulk([tmp_path], mapping=_mapping("site-mapping.yaml"))}
    assert isinstance(items["good"], FhirPatient)
    error = items["bad"]
    assert isinstance(error, FhirRecordError)
    assert "not a FHIR R4 resource type" in error.message and error.line == len(lines)
    assert error.message.startswith(f"{tmp_path / 'export.ndjson'}:{len(lines)}: ")
