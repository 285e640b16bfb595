"""npc-kg synth: deterministic, streamed, atomic, and the formats describe the same patients."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from npc_kg.cli import main
from npc_kg.cohort.synth import generate, synth
from npc_kg.errors import InputError
from npc_kg.rdfio import parse_file


def test_same_seed_same_bytes_other_seed_differs(tmp_path: Path) -> None:
    synth(50, 3, tmp_path / "a.nt", error_rate=0.2)
    synth(50, 3, tmp_path / "b.nt", error_rate=0.2)
    synth(50, 4, tmp_path / "c.nt", error_rate=0.2)
    assert (tmp_path / "a.nt").read_bytes() == (tmp_path / "b.nt").read_bytes()
    assert (tmp_path / "a.nt").read_bytes() != (tmp_path / "c.nt").read_bytes()


def test_patient_count_and_type_triple_first(tmp_path: Path) -> None:
    assert synth(120, 1, tmp_path / "c.nt") == 120
    lines = (tmp_path / "c.nt").read_text().splitlines()
    firsts = [line for line in lines if "SYN-" in line.split(" ", 1)[0] and "/" not in line.split(" ", 1)[0].rsplit("SYN-", 1)[1]]
    assert sum("22-rdf-syntax-ns#type> <https://w3id.org/npc-kg/Patient>" in line for line in firsts) == 120


def test_turtle_and_ntriples_are_the_same_graph(tmp_path: Path) -> None:
    synth(40, 5, tmp_path / "c.nt", error_rate=0.3, syntax_errors=False)
    synth(40, 5, tmp_path / "c.ttl", error_rate=0.3, syntax_errors=False)
    assert parse_file(tmp_path / "c.nt").isomorphic(parse_file(tmp_path / "c.ttl"))


def test_cohort_has_the_features_the_engine_must_handle() -> None:
    patients = list(generate(3000, 7, error_rate=0.05))
    classes = {c for p in patients for f in p.findings for c in f.classes}
    assert any(c.endswith("HP_0006824") for c in classes), "HP-coded palsy"
    assert any(c.endswith("LocoregionalRecurrence") for c in classes), "narrower recurrence class"
    assert any(sum(f.key.startswith("recurrence-") for f in p.findings) >= 2 for p in patients), "several recurrences"
    assert {p.defect for p in patients} >= {"ill-typed-age", "two-statuses", "syntax", "finding-without-status"}
    statuses = {s for p in patients for f in p.findings for s in f.statuses}
    assert any(s.endswith("Absent") for s in statuses) and any(s.endswith("Present") for s in statuses)


def test_csv_has_the_mapping_columns(tmp_path: Path) -> None:
    synth(10, 1, tmp_path / "c.csv")
    with open(tmp_path / "c.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 10
    assert "patient_id" in rows[0] and "cranial_nerve_palsy_code" in rows[0]


def test_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(InputError):
        synth(5, 1, tmp_path / "c.xyz")
    with pytest.raises(InputError):
        synth(5, 1, tmp_path / "c.nt", error_rate=2)
    assert not list(tmp_path.iterdir()), "nothing written on error"


def test_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["synth", "--n", "7", "--seed", "2", "-o", str(tmp_path / "c.ttl")]) == 0
    assert "7 synthetic patients" in capsys.readouterr().out
    assert len(parse_file(tmp_path / "c.ttl")) > 7 * 5
    assert [p.name for p in tmp_path.iterdir()] == ["c.ttl"], "no temporary file left behind"


def test_patient_i_does_not_depend_on_n() -> None:
    small = [p.ntriples() for p in generate(20, 9, error_rate=0.1)]
    large = [p.ntriples() for p in generate(200, 9, error_rate=0.1)][:20]
    assert small == large
