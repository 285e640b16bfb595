"""Registry CSVs: a site's layout through --mapping, source_id on every row, extra columns noticed or refused."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import yaml

from npc_kg.cli import main
from npc_kg.cohort import assess_cohort
from npc_kg.cohort.csv_mapping import load_mapping
from npc_kg.errors import InputError

REGISTRY = Path(__file__).resolve().parent.parent / "data" / "registry"
SITE = REGISTRY / "site-csv-mapping.yaml"
VALID = yaml.safe_load((REGISTRY / "valid" / "expected.yaml").read_text(encoding="utf-8"))
INVALID = yaml.safe_load((REGISTRY / "invalid" / "expected.yaml").read_text(encoding="utf-8"))
COHORT = Path(__file__).resolve().parent / "data"


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_site_layout_with_extra_columns(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["assess-cohort", str(REGISTRY / "valid" / "registry.csv"), "--mapping", str(SITE),
                 "--out", str(tmp_path / "rows.csv")])
    err = capsys.readouterr().err
    assert code == 0
    notices = [line for line in err.splitlines() if "notice" in line]
    assert len(notices) == 1, "one notice per file"
    assert "ward" in notices[0] and "notes" in notices[0] and "2 CSV column(s)" in notices[0]
    assert "not in the header, so not recorded for any patient: radiotherapy_courses, ecog" in notices[0]
    for value in ("East 4", "seen in clinic", "frailty not assessed"):
        assert value not in err, "never a value"
    rows = {row["source_id"]: row for row in _rows(tmp_path / "rows.csv")}
    assert set(rows) == set(VALID["rows"])
    for mrn, expected in VALID["rows"].items():
        row = rows[mrn]
        assert row["patient"] == f"https://w3id.org/npc-kg/patient/{mrn}"  # patient stays the IRI
        for key, value in expected.items():
            assert row[key] == value, (mrn, key)


def test_strict_refuses_extra_columns(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["assess-cohort", str(REGISTRY / "valid" / "registry.csv"), "--mapping", str(SITE), "--strict",
                 "--out", str(tmp_path / "rows.csv")])
    err = capsys.readouterr().err
    assert code == 2 and "ward, notes" in err and "--strict" in err and "Traceback" not in err
    assert not (tmp_path / "rows.csv").exists()


@pytest.mark.parametrize("name", sorted(INVALID))
def test_bad_cells_are_error_rows_with_the_registry_id(name: str, tmp_path: Path) -> None:
    path = REGISTRY / "invalid" / name
    assert path.read_text(encoding="utf-8").startswith("# Breaks"), "each invalid file says which rule it breaks"
    summary = assess_cohort([path], tmp_path / "rows.csv", mapping=SITE, progress=False)
    rows = {row["source_id"]: row for row in _rows(tmp_path / "rows.csv")}
    assert summary.rows == len(rows) == len(INVALID[name])
    for mrn, expected in INVALID[name].items():
        assert rows[mrn]["verdict"] == expected["verdict"]
        if "error" in expected:
            assert expected["error"] in rows[mrn]["error"]
            assert "sixty" not in rows[mrn]["error"] and "perhaps" not in rows[mrn]["error"]


def test_shipped_layout_keeps_working_and_source_id_is_the_id_cell(tmp_path: Path) -> None:
    assess_cohort([COHORT / "valid" / "one-row.csv"], tmp_path / "rows.jsonl", progress=False)
    [row] = [json.loads(line) for line in (tmp_path / "rows.jsonl").read_text(encoding="utf-8").splitlines()]
    assert row["source_id"] == "V-3" and row["patient"].endswith("/patient/V-3")


def test_rdf_source_id_is_the_dcterms_identifier(tmp_path: Path) -> None:
    """RDF input: source_id is the patient's dcterms:identifier; empty when it has none (every engine)."""
    nt = COHORT / "valid" / "two-patients.nt"  # V-1 has dcterms:identifier "V-1", V-2 none
    expected = {"https://w3id.org/npc-kg/patient/V-1": "V-1", "https://w3id.org/npc-kg/patient/V-2": ""}
    for engine in ("local", "sparql", "reference"):
        assess_cohort([nt], tmp_path / f"{engine}.csv", engine=engine, progress=False)
        assert {row["patient"]: row["source_id"] for row in _rows(tmp_path / f"{engine}.csv")} == expected, engine


def test_dataframe_with_a_site_mapping() -> None:
    import pandas as pd

    frame = pd.read_csv(REGISTRY / "valid" / "registry.csv", dtype=str, keep_default_na=False)
    out = assess_cohort(frame, mapping=SITE, progress=False)
    assert list(out.columns[:3]) == ["patient", "source_id", "verdict"]
    assert dict(zip(out["source_id"], out["verdict"], strict=True)) == {k: v["verdict"] for k, v in VALID["rows"].items()}


def test_mapping_merge_rules(tmp_path: Path) -> None:
    merged = load_mapping(extra=[SITE])
    assert merged.id_column == "mrn"
    assert "age_years" in merged.columns() and "age" not in merged.columns()
    assert "mets" in merged.columns() and "distant_metastasis" not in merged.columns()
    assert "other_contraindication" not in merged.columns()
    [distant] = [f for f in merged.findings if f.key == "distant-metastasis"]
    assert distant.cls == "https://w3id.org/npc-kg/DistantMetastasis"  # the shipped class, kept
    bad = tmp_path / "bad.yaml"
    bad.write_text("format: npc-kg-cohort-csv/1\nfindings:\n  - {status_column: x}\n", encoding="utf-8")
    with pytest.raises(InputError, match="needs a 'key'"):
        load_mapping(extra=[bad])


def test_mapping_files_must_say_their_format(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    anonymous = tmp_path / "site.yaml"
    anonymous.write_text("id_column: mrn\n", encoding="utf-8")
    code = main(["assess-cohort", str(COHORT / "valid" / "one-row.csv"), "--mapping", str(anonymous),
                 "--out", str(tmp_path / "rows.csv")])
    err = capsys.readouterr().err
    assert code == 2 and "format: npc-kg-cohort-csv/1" in err and "npc-kg-fhir-mapping/1" in err


def test_an_unusual_header_name_is_named_by_its_position(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A damaged header may hold data: a name that is not a plain column name is never printed."""
    source = tmp_path / "registry.csv"
    source.write_text('patient_id,age,"frail""ZQXMARK7431 ty",ward\nP-1,61,x,East\n', encoding="utf-8")
    code = main(["assess-cohort", str(source), "--out", str(tmp_path / "rows.csv")])
    err = capsys.readouterr().err
    assert code == 0
    assert "ZQXMARK7431" not in err
    assert "column 3 (name not shown)" in err and "ward" in err
    with pytest.raises(InputError, match="column 3 \\(name not shown\\)") as refused:
        assess_cohort([source], tmp_path / "strict.csv", strict=True)
    assert "ZQXMARK7431" not in str(refused.value)
