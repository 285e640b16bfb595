"""assess-cohort on FHIR: Bulk Data exports (folders, NDJSON files) and bundle files, traceable rows, out of scope."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from npc_kg.cli import main
from npc_kg.cohort import assess_cohort
from npc_kg.core.rules import ERROR, OUT_OF_SCOPE

FHIR = Path(__file__).resolve().parent.parent / "data" / "fhir"
BULK = FHIR / "bulk"
SITE = FHIR / "site-mapping.yaml"
EXPECTED = yaml.safe_load((BULK / "expected.yaml").read_text(encoding="utf-8"))


@pytest.fixture(autouse=True)
def _fhir_extra() -> None:
    import importlib.util
    import os

    missing = [name for name in ("fhirpathpy", "orjson") if importlib.util.find_spec(name) is None]
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"{', '.join(missing)} missing: pip install -e '.[test]'")
        pytest.skip(f"{', '.join(missing)} missing")


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_bulk_folder_gives_one_row_per_record_with_source_ids(tmp_path: Path) -> None:
    summary = assess_cohort([BULK], tmp_path / "rows.csv", mapping=SITE, progress=False)
    rows = _rows(tmp_path / "rows.csv")
    assert summary.rows == len(rows) == len(EXPECTED)
    by_id = {row["source_id"]: row for row in rows}
    assert set(by_id) == set(EXPECTED)
    for pid, expected in EXPECTED.items():
        row = by_id[pid]
        if "error" in expected:
            assert row["verdict"] == ERROR and expected["error"] in row["error"]
            continue
        assert row["verdict"] == expected["verdict"]
        assert row["patient"] == f"https://w3id.org/npc-kg/patient/{pid}" and row["error"] == ""
    out = by_id["npc-bulk-out-of-scope"]
    assert out["verdict"] == OUT_OF_SCOPE and out["error"] == ""  # never an error
    assert all(out[c] == "" for c in out if c.startswith(("ind-", "ci-")))
    assert summary.attrition.out_of_scope == 1 and summary.attrition.errors == 4
    assert by_id["npc-bulk-ineligible"]["ci-3-distant-metastasis"] == "violated"  # C79.51, a narrower code


def test_attrition_text_lists_out_of_scope(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["assess-cohort", str(BULK), "--mapping", str(SITE), "--out", str(tmp_path / "r.csv"),
                 "--attrition", str(tmp_path / "a.csv")]) == 0
    text = capsys.readouterr().out
    [line] = [line for line in text.splitlines() if line.strip().startswith("2 ")]
    assert "out of scope (the treatment's disease not recorded)" in line and line.split()[-2:] == ["1", "2"]
    assert "out-of-scope: 1" in text
    table = _rows(tmp_path / "a.csv")
    assert table[2]["label"].startswith("out of scope") and table[2]["newly_excluded"] == "1"


def test_workers_give_the_same_rows(tmp_path: Path) -> None:
    assess_cohort([BULK], tmp_path / "one.csv", mapping=SITE, progress=False, batch_size=2)
    assess_cohort([BULK], tmp_path / "two.csv", mapping=SITE, progress=False, batch_size=2, workers=2)
    one = sorted(_rows(tmp_path / "one.csv"), key=lambda r: (r["source_id"], r["error"]))
    two = sorted(_rows(tmp_path / "two.csv"), key=lambda r: (r["source_id"], r["error"]))
    assert one == two


def test_files_bundles_and_rdf_in_one_run(tmp_path: Path) -> None:
    shutil.copy(FHIR / "valid" / "eligible.json", tmp_path / "eligible.json")
    nt = Path(__file__).resolve().parent / "data" / "valid" / "two-patients.nt"
    files = sorted(BULK.glob("*.ndjson"))
    summary = assess_cohort([*files, tmp_path / "eligible.json", nt], tmp_path / "rows.jsonl", mapping=SITE,
                            progress=False)
    rows = [json.loads(line) for line in (tmp_path / "rows.jsonl").read_text(encoding="utf-8").splitlines()]
    assert summary.rows == len(rows) == len(EXPECTED) + 1 + 2
    assert {"npc-eligible", "npc-bulk-eligible"} <= {r["source_id"] for r in rows}
    assert all("source_id" in row for row in rows)


def test_parquet_rows_have_source_ids(tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    assess_cohort([BULK], tmp_path / "rows.parquet", mapping=SITE, progress=False)
    table = pq.read_table(tmp_path / "rows.parquet")
    assert table.column_names[:3] == ["patient", "source_id", "verdict"]
    assert "npc-bulk-eligible" in table.column("source_id").to_pylist()


def test_bridges_are_evaluator_configuration(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The bone metastasis (ICD-10-CM C79.51, narrower than distant metastasis) is judged by the closures."""
    from npc_kg.shacl.engines import Engines

    def refuse(*_args: Any, **_kwargs: Any) -> Any:
        raise AssertionError("a FHIR batch fell back from the closure evaluator")

    monkeypatch.setattr(Engines, "sparql_hits", refuse)
    assess_cohort([BULK], tmp_path / "rows.csv", mapping=SITE, progress=False)
    by_id = {row["source_id"]: row for row in _rows(tmp_path / "rows.csv")}
    assert by_id["npc-bulk-ineligible"]["verdict"] == "ineligible"


def test_without_the_site_mapping_findings_without_public_codes_are_missing(tmp_path: Path) -> None:
    assess_cohort([BULK], tmp_path / "rows.csv", progress=False)
    by_id = {row["source_id"]: row for row in _rows(tmp_path / "rows.csv")}
    assert by_id["npc-bulk-eligible"]["verdict"] == "indeterminate"
    assert by_id["npc-bulk-eligible"]["ci-2-neck-lesion-adherent"] == "unknown"


def test_input_format_fhir_and_bad_inputs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    copy = tmp_path / "export.txt"
    copy.write_bytes((BULK / "Patient.ndjson").read_bytes())
    summary = assess_cohort([copy], tmp_path / "rows.csv", input_format="fhir", progress=False)
    assert summary.rows == 5  # each Patient without its other resources: out of scope
    assert {row["verdict"] for row in _rows(tmp_path / "rows.csv")} == {OUT_OF_SCOPE}
    code = main(["assess-cohort", str(tmp_path / "missing.ndjson"), "--out", str(tmp_path / "x.csv")])
    assert code == 2 and "no such file" in capsys.readouterr().err


def test_each_damaged_json_file_is_its_own_error_row(tmp_path: Path) -> None:
    """A .json cohort input is FHIR: a damaged one is an error row, never an abort, and error rows that
    name no patient are never merged as one patient's repeats."""
    (tmp_path / "cut.json").write_text('{"resourceType": "Bundle", "type": "collection", "entry": [', encoding="utf-8")
    (tmp_path / "ld.json").write_text('{"@context": {"x": "http://x.example/"}, "@id": "http://x.example/a"}', encoding="utf-8")
    (tmp_path / "empty.json").write_text("", encoding="utf-8")
    (tmp_path / "garbage.ndjson").write_text("not json\n" * 50, encoding="utf-8")
    inputs = [tmp_path / name for name in ("cut.json", "ld.json", "empty.json", "garbage.ndjson")]
    summary = assess_cohort([*inputs, BULK / "Patient.ndjson"], tmp_path / "rows.csv", progress=False)
    rows = _rows(tmp_path / "rows.csv")
    errors = [row for row in rows if row["verdict"] == ERROR]
    assert summary.rows == len(rows) == 3 + 50 + 5
    assert len(errors) == 53 and all(row["patient"] == "" for row in errors)
    assert not any("more than once" in row["error"] for row in errors)
    assert sum("garbage.ndjson:" in row["error"] for row in errors) == 50


def test_a_folder_without_ndjson_files_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "rdf").mkdir()
    (tmp_path / "rdf" / "cohort.nt").write_text("", encoding="utf-8")
    assert main(["assess-cohort", str(tmp_path / "rdf"), "--out", str(tmp_path / "x.csv")]) == 2
    assert "rdf: no .ndjson file in the folder" in capsys.readouterr().err
    assert not (tmp_path / "x.csv").exists()


def test_bundles_with_a_byte_order_mark_are_read(tmp_path: Path) -> None:
    eligible = (FHIR / "valid" / "eligible.json").read_text(encoding="utf-8")
    bone = (FHIR / "valid" / "ineligible-ci-3-bone-metastasis.json").read_text(encoding="utf-8")
    (tmp_path / "u8.json").write_bytes(b"\xef\xbb\xbf" + eligible.encode("utf-8"))
    (tmp_path / "u16.json").write_bytes(bone.encode("utf-16"))
    assess_cohort([tmp_path / "u8.json", tmp_path / "u16.json"], tmp_path / "rows.csv", mapping=SITE, progress=False)
    rows = _rows(tmp_path / "rows.csv")
    assert [row["verdict"] for row in rows] == ["eligible", "ineligible"], [row["error"] for row in rows]


def test_a_code_that_is_text_makes_an_error_row_not_out_of_scope(tmp_path: Path) -> None:
    """A Condition whose code is text matched no code, so the patient lost its NPC and was out of scope
    with no word; now it is an error row that names the file, line and element (and no value)."""
    export = tmp_path / "export"
    shutil.copytree(BULK, export)
    lines = (export / "Condition.ndjson").read_text(encoding="utf-8").splitlines()
    edited = 0
    for n, line in enumerate(lines):
        resource = json.loads(line)
        if resource["id"] == "npc-bulk-eligible-npc":
            resource["code"] = "C11.9"
            lines[n] = json.dumps(resource)
            edited = n + 1
    assert edited, "the eligible patient's NPC Condition is in the export"
    (export / "Condition.ndjson").write_text("\n".join(lines) + "\n", encoding="utf-8")
    summary = assess_cohort([export], tmp_path / "rows.csv", mapping=SITE, progress=False)
    rows = _rows(tmp_path / "rows.csv")
    assert summary.rows == len(rows) == len(EXPECTED)
    row = {r["source_id"]: r for r in rows}["npc-bulk-eligible"]
    assert row["verdict"] == ERROR
    assert f"Condition.ndjson:{edited}" in row["error"] and "Condition.code should be a JSON object" in row["error"]
    assert "C11.9" not in row["error"]


def test_a_site_mapping_no_input_reads_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A FHIR mapping with no FHIR input, or a CSV mapping with no CSV input, was ignored with no word."""
    from npc_kg.cohort.synth import synth

    cohort = tmp_path / "c.nt"
    synth(2, 1, cohort)
    registry = FHIR.parent / "registry" / "site-csv-mapping.yaml"
    for mapping, kind in ((SITE, "a FHIR mapping"), (registry, "a CSV mapping")):
        assert main(["assess-cohort", str(cohort), "--out", str(tmp_path / "o.csv"), "--mapping", str(mapping)]) == 2
        err = capsys.readouterr().err
        assert f"{mapping}: {kind}" in err and "it would not be read" in err
    assert not (tmp_path / "o.csv").exists()
    assert main(["assess-cohort", str(cohort), str(BULK), "--out", str(tmp_path / "o.csv"), "--mapping", str(SITE)]) == 0
    capsys.readouterr()
    assert main(["assess-cohort", str(tmp_path / "no-such-export") + "/", "--out", str(tmp_path / "o.csv"),
                 "--mapping", str(SITE)]) == 2
    assert "no-such-export/: no such file" in capsys.readouterr().err  # the first thing to say, not the mapping
