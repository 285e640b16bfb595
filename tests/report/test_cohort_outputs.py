"""Cohort outputs: provenance beside or inside every file, the HTML cohort view, DataFrames in and out."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

import npc_kg
from npc_kg.cli import main
from npc_kg.cohort.outputs import PARQUET_KEY, sidecar_path

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def cohort(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("cohort")
    npc_kg.synth(120, 5, folder / "c.nt")
    npc_kg.synth(40, 6, folder / "c.csv", fmt="csv")
    return {"nt": folder / "c.nt", "csv": folder / "c.csv"}


def test_csv_jsonl_attrition_have_provenance_sidecars(cohort, tmp_path: Path, capsys) -> None:
    for fmt in ("csv", "jsonl"):
        out = tmp_path / f"v.{fmt}"
        args = ["assess-cohort", str(cohort["nt"]), "--out", str(out), "--attrition", str(tmp_path / "a.csv"),
                "--at", "2030-01-02T03:04:05Z"]
        assert main(args) == 0
        prov = json.loads(sidecar_path(out).read_text(encoding="utf-8"))
        assert prov["generated_at"] == "2030-01-02T03:04:05Z" and prov["rows"] == 120 and prov["format"] == fmt
        assert prov["kb_version"] == npc_kg.__version__ and prov["engine"] == "local"
        assert prov["ontology_version"].startswith("https://w3id.org/npc-kg/ontology/")
        assert json.loads(sidecar_path(tmp_path / "a.csv").read_text(encoding="utf-8"))["treatment"] == prov["treatment"]
    rows = (tmp_path / "v.csv").read_text(encoding="utf-8").splitlines()
    assert rows[0].startswith("patient,source_id,verdict") and len(rows) == 121, "no header line added: rows out = patients in"
    capsys.readouterr()


def test_parquet_schema_metadata(cohort, tmp_path: Path) -> None:
    out = tmp_path / "v.parquet"
    npc_kg.assess_cohort(cohort["nt"], out, at="2030-01-02T03:04:05Z")
    prov = json.loads(pq.read_schema(out).metadata[PARQUET_KEY])
    assert prov["generated_at"] == "2030-01-02T03:04:05Z" and prov["kb_version"] == npc_kg.__version__


def test_cohort_report_shows_attrition_chart_table_and_verdict_counts(cohort, tmp_path: Path) -> None:
    report = tmp_path / "cohort.html"
    summary = npc_kg.assess_cohort(cohort["nt"], tmp_path / "v.csv", report=report)
    html = report.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") and "<script" not in html
    assert '<figure class="chart"><svg' in html.replace("\n", "")
    table = html.split('<table class="attrition">', 1)[1].split("</table>", 1)[0]
    assert table.count("<tr>") == len(summary.attrition.table()) + 1
    for verdict in ("eligible", "ineligible", "indeterminate"):
        assert f"<tr><td>{verdict}</td><td>{summary.attrition.verdicts.get(verdict, 0)}</td>" in html
    assert npc_kg.__version__ in html.split('<footer class="provenance">', 1)[1]


def test_dataframe_in_and_out_match_the_csv_file(cohort, tmp_path: Path) -> None:
    frame = pd.read_csv(cohort["csv"])  # numbers with gaps arrive as floats, as from any registry export
    rows = npc_kg.assess_cohort(frame)
    from_file = npc_kg.assess_cohort(cohort["csv"], tmp_path / "v.csv", as_dataframe=True)
    assert isinstance(rows, pd.DataFrame) and len(rows) == len(frame) == 40
    assert rows["verdict"].tolist() == from_file["verdict"].tolist()
    assert rows.attrs["provenance"]["engine"] == "local" and rows.attrs["attrition"][0]["remaining"] == 40
    assert not list(tmp_path.glob(".*")), "nothing left behind"


def test_dataframe_bad_cell_is_an_error_row_naming_the_column(cohort) -> None:
    frame = pd.read_csv(cohort["csv"], dtype=str)
    frame.loc[0, "age"] = "old"
    rows = npc_kg.assess_cohort(frame)
    assert len(rows) == 40
    [error] = rows[rows["verdict"] == "error"]["error"].tolist()
    assert "column age" in error and "old" not in error


def test_query_dataframe_has_numeric_columns() -> None:
    frame = npc_kg.query("evidence-figures", as_dataframe=True)
    assert str(frame["value"].dtype) == "float64"
    assert str(frame["populationSize"].dtype) in ("Int64", "int64")
    assert not any(type(v).__name__ == "Decimal" for column in frame.columns for v in frame[column].tolist())
