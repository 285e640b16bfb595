"""assess-cohort: same answers as the pySHACL reference, error rows, streaming, formats, attrition."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from npc_kg.cli import main
from npc_kg.cohort import assess_batch, assess_cohort
from npc_kg.cohort.progress import Progress
from npc_kg.cohort.reader import iter_batches
from npc_kg.cohort.synth import generate, synth
from npc_kg.errors import InputError, OutputError

HERE = Path(__file__).parent
DATA = HERE / "data"
PATIENT_TYPE = "<http://www.w3.org/1999/02/22-rdf-syntax-ns#type> <https://w3id.org/npc-kg/Patient>"


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


ENGINES = ("local", "sparql")
"""Both fast engines: local (the default) and the SPARQL-compiled one."""


def _compare_with_reference(path: Path, *engines: str) -> int:
    [batch] = list(iter_batches(path, batch_size=10**9))
    reference = {r.patient: (r.verdict, r.statuses) for r in assess_batch(batch, "reference")}
    for engine in engines:
        fast = {r.patient: (r.verdict, r.statuses) for r in assess_batch(batch, engine)}
        assert fast.keys() == reference.keys()
        differences = [p for p in reference if fast[p] != reference[p]]
        example = differences[0] if differences else ""
        assert not differences, (f"{engine}: {len(differences)} patients differ, e.g. {example}: "
                                 f"{fast[example]} vs {reference[example]}")
    return len(reference)


def test_fast_engines_equal_reference_on_a_small_cohort(tmp_path: Path) -> None:
    synth(40, 21, tmp_path / "c.nt", error_rate=0.15, syntax_errors=False)
    assert _compare_with_reference(tmp_path / "c.nt", *ENGINES) == 40


@pytest.mark.slow
def test_fast_engines_equal_reference_on_300_patients(tmp_path: Path) -> None:
    """The CI-sized differential (pySHACL runs about 10 patients/s here); larger sizes: benchmarks/cohort_differential.py."""
    synth(300, 7, tmp_path / "c.nt", error_rate=0.05, syntax_errors=False)
    assert _compare_with_reference(tmp_path / "c.nt", *ENGINES) == 300


def test_row_count_equals_patient_count_with_unreadable_records(cohort_dir: Path, tmp_path: Path) -> None:
    source = cohort_dir / "defects.nt"
    patients = sum(PATIENT_TYPE in line for line in source.read_text().splitlines())
    summary = assess_cohort(source, tmp_path / "out.csv", batch_size=37)
    rows = _rows(tmp_path / "out.csv")
    assert len(rows) == summary.rows == patients == 400
    errors = [r for r in rows if r["verdict"] == "error"]
    assert any("cannot parse nt line" in r["error"] for r in errors)
    assert any("patient model" in r["error"] for r in errors)
    assert all(r["error"] for r in errors) and not any(r["error"] for r in rows if r["verdict"] != "error")
    for value in ('"abc"', "58.5", "unknown", "n/a"):
        assert not any(value in r["error"] for r in errors), "no patient value in an error reason"


@pytest.mark.parametrize("engine", ["local", "sparql", "reference"])
def test_every_engine_keeps_the_error_rows_of_unreadable_records(engine: str, tmp_path: Path) -> None:
    # a seed whose 30 patients include an unparseable record (the draws follow the loaded criteria)
    seed = next(s for s in range(1, 200) if any(p.defect == "syntax" for p in generate(30, s, error_rate=0.3)))
    synth(30, seed, tmp_path / "c.nt", error_rate=0.3)  # syntax errors included
    source = tmp_path / "c.nt"
    assert "cannot parse" not in source.read_text()  # the defects are in the data, not in this test
    summary = assess_cohort(source, tmp_path / "out.csv", engine=engine, batch_size=7)
    rows = _rows(tmp_path / "out.csv")
    assert len(rows) == summary.rows == 30
    assert any("cannot parse nt line" in r["error"] for r in rows if r["verdict"] == "error")


def test_csv_bad_cells_become_error_rows(cohort_dir: Path, tmp_path: Path) -> None:
    assess_cohort(cohort_dir / "defects.csv", tmp_path / "out.csv")
    rows = _rows(tmp_path / "out.csv")
    assert len(rows) == 400
    reasons = [r["error"] for r in rows if r["verdict"] == "error"]
    assert any("column" in reason and "defects.csv:" in reason for reason in reasons)


def test_batch_size_does_not_change_answers(cohort_dir: Path, tmp_path: Path) -> None:
    assess_cohort(cohort_dir / "defects.nt", tmp_path / "a.csv", batch_size=1)
    assess_cohort(cohort_dir / "defects.nt", tmp_path / "b.csv", batch_size=100000)
    assert sorted(map(str, _rows(tmp_path / "a.csv"))) == sorted(map(str, _rows(tmp_path / "b.csv")))


def test_ntriples_turtle_nquads_and_csv_give_the_same_rows(cohort_dir: Path, tmp_path: Path) -> None:
    nq = tmp_path / "clean.nq"
    nq.write_text("".join(line[:-2] + " <https://example.org/g1> .\n" if line.strip() else line
                          for line in (cohort_dir / "clean.nt").read_text().splitlines(keepends=True)))
    results = {}
    for path in (cohort_dir / "clean.nt", cohort_dir / "clean.ttl", cohort_dir / "clean.csv", nq):
        assess_cohort(path, tmp_path / f"{path.suffix[1:]}.csv", batch_size=50)
        results[path.suffix] = sorted(map(str, _rows(tmp_path / f"{path.suffix[1:]}.csv")))
    assert results[".nt"] == results[".ttl"] == results[".csv"] == results[".nq"]
    assert len(results[".nt"]) == 300


def test_two_workers_give_the_same_rows(cohort_dir: Path, tmp_path: Path) -> None:
    assess_cohort(cohort_dir / "defects.nt", tmp_path / "a.csv", batch_size=50)
    assess_cohort(cohort_dir / "defects.nt", tmp_path / "b.csv", batch_size=50, workers=2)
    assert _rows(tmp_path / "a.csv") == _rows(tmp_path / "b.csv")


@pytest.mark.parametrize("path", sorted((DATA / "invalid").iterdir()), ids=lambda p: p.name)
def test_invalid_examples_give_error_rows(path: Path, tmp_path: Path) -> None:
    assert path.read_text().startswith("#"), "each invalid file says which rule it breaks"
    assess_cohort(path, tmp_path / "out.csv")
    rows = _rows(tmp_path / "out.csv")
    assert rows and any(r["verdict"] == "error" and r["error"] for r in rows)


@pytest.mark.parametrize("path", sorted((DATA / "valid").iterdir()), ids=lambda p: p.name)
def test_valid_examples_have_no_error_rows(path: Path, tmp_path: Path) -> None:
    assess_cohort(path, tmp_path / "out.csv")
    rows = _rows(tmp_path / "out.csv")
    assert rows and all(r["verdict"] in ("eligible", "ineligible", "indeterminate") for r in rows)


def test_bad_line_keeps_the_rest_of_the_record_stream(tmp_path: Path) -> None:
    assess_cohort(DATA / "invalid" / "bad-line.nt", tmp_path / "out.csv")
    rows = {r["patient"].rsplit("/", 1)[-1]: r for r in _rows(tmp_path / "out.csv")}
    assert rows["I-1"]["verdict"] == "error" and "bad-line.nt:4" in rows["I-1"]["error"]
    assert rows["I-2"]["verdict"] != "error"


def test_columns_come_from_the_kb_in_kind_then_ordinal_order(cohort_dir: Path, tmp_path: Path) -> None:
    from npc_kg.shacl.engines import package_engines

    assess_cohort(cohort_dir / "clean.nt", tmp_path / "out.csv")
    header = (tmp_path / "out.csv").read_text().splitlines()[0].split(",")
    expected = [str(c.iri).rsplit("/", 1)[-1] for c in package_engines().criteria()]
    assert header == ["patient", "source_id", "verdict", *expected, "error"]
    assert expected[0].startswith("ind-") and expected[-1].startswith("ci-")


def test_output_formats_agree(cohort_dir: Path, tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    assess_cohort(cohort_dir / "defects.nt", tmp_path / "o.csv")
    assess_cohort(cohort_dir / "defects.nt", tmp_path / "o.jsonl")
    assess_cohort(cohort_dir / "defects.nt", tmp_path / "o.parquet")
    as_csv = _rows(tmp_path / "o.csv")
    as_jsonl = [json.loads(line) for line in (tmp_path / "o.jsonl").read_text().splitlines()]
    as_parquet = pq.read_table(tmp_path / "o.parquet").to_pylist()
    assert as_csv == as_jsonl == as_parquet


def test_attrition_table(cohort_dir: Path, tmp_path: Path) -> None:
    summary = assess_cohort(cohort_dir / "defects.nt", tmp_path / "o.csv", attrition=tmp_path / "attrition.csv")
    rows = _rows(tmp_path / "o.csv")
    table = _rows(tmp_path / "attrition.csv")
    assert int(table[0]["remaining"]) == len(rows)
    assert int(table[1]["remaining"]) == sum(r["verdict"] != "error" for r in rows)
    assert table[2]["label"].startswith("out of scope")  # its own line, never an error
    assert int(table[2]["newly_excluded"]) == sum(r["verdict"] == "out-of-scope" for r in rows)
    assert int(table[2]["remaining"]) == sum(r["verdict"] not in ("error", "out-of-scope") for r in rows)
    assert int(table[-1]["remaining"]) == sum(r["verdict"] == "eligible" for r in rows)
    for step in table[3:]:
        column = step["criterion"]
        assert int(step["violated"]) == sum(r[column] == "violated" for r in rows)
        assert int(step["unknown"]) == sum(r[column] == "unknown" for r in rows)
    remaining = [int(t["remaining"]) for t in table]
    assert remaining == sorted(remaining, reverse=True)
    assert "verdicts:" in summary.attrition.text()


def test_attrition_counted_per_batch_in_workers_equals_one_count(cohort_dir: Path, tmp_path: Path) -> None:
    """Workers count their own batches; the merged table equals one count over every row."""
    whole = assess_cohort(cohort_dir / "defects.nt", tmp_path / "a.csv", batch_size=100000).attrition
    merged = assess_cohort(cohort_dir / "defects.nt", tmp_path / "b.jsonl", batch_size=7, workers=2).attrition
    assert merged.table() == whole.table()
    assert merged.verdicts == whole.verdicts and sum(whole.verdicts.values()) == 400


def test_refuses_to_overwrite_an_input(cohort_dir: Path, tmp_path: Path) -> None:
    copy = tmp_path / "in.nt"
    copy.write_bytes((cohort_dir / "clean.nt").read_bytes())
    before = copy.read_bytes()
    with pytest.raises(OutputError):
        assess_cohort(copy, copy)
    with pytest.raises(OutputError):
        assess_cohort(copy, tmp_path / "o.csv", attrition=copy)
    assert copy.read_bytes() == before


def test_turtle_syntax_error_is_an_input_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.ttl"
    bad.write_text("@prefix npc: <https://w3id.org/npc-kg/> .\n<urn:p> a npc:Patient ;\n  npc:age 5 5 .\n")
    with pytest.raises(InputError) as info:
        assess_cohort(bad, tmp_path / "o.csv")
    assert "bad.ttl:3" in str(info.value)
    assert not (tmp_path / "o.csv").exists()


def test_cli_exit_codes_and_attrition_on_stdout(cohort_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["assess-cohort", str(cohort_dir / "clean.nt"), "--out", str(tmp_path / "o.jsonl"),
                 "--attrition", str(tmp_path / "a.csv"), "--batch-size", "64"])
    captured = capsys.readouterr()
    assert code == 0 and "remaining" in captured.out and "ind-1-uncontrolled-or-recurrent-disease" in captured.out
    assert captured.err == "", "no progress output when stderr is not a terminal"
    assert main(["assess-cohort", str(tmp_path / "missing.nt"), "--out", str(tmp_path / "x.csv")]) == 2
    assert main(["assess-cohort", str(cohort_dir / "clean.nt"), "--out", str(cohort_dir / "clean.nt")]) == 2


def test_progress_only_on_a_terminal() -> None:
    quiet = io.StringIO()
    bar = Progress(1000, stream=quiet)
    bar.update(10, 500)
    bar.close()
    assert quiet.getvalue() == ""
    loud = io.StringIO()
    bar = Progress(1000, stream=loud, enabled=True)
    bar.update(10, 500)
    bar.close()
    assert "patients" in loud.getvalue() and "ETA" in loud.getvalue() and "/s" in loud.getvalue()


def test_subclass_declared_in_the_data_counts_like_the_reference(tmp_path: Path) -> None:
    data = tmp_path / "local-class.nt"
    npc, patient = "https://w3id.org/npc-kg/", "https://w3id.org/npc-kg/patient/"
    rdf, rdfs = "http://www.w3.org/1999/02/22-rdf-syntax-ns#", "http://www.w3.org/2000/01/rdf-schema#"
    data.write_text(
        f"<{patient}L-1> <{rdf}type> <{npc}Patient> .\n"
        f"<{patient}L-1> <{npc}hasFinding> <{patient}L-1/f> .\n"
        f"<{patient}L-1/f> <{rdf}type> <https://example.org/local/SixthNervePalsy> .\n"
        f"<{patient}L-1/f> <{npc}findingStatus> <{npc}Present> .\n"
        f"<https://example.org/local/SixthNervePalsy> <{rdfs}subClassOf> <{npc}CranialNervePalsy> .\n"
    )
    [batch] = list(iter_batches(data))
    [fast] = assess_batch(batch, "local")  # the local engine hands this batch to the SPARQL engine
    [reference] = assess_batch(batch, "reference")
    assert (fast.verdict, fast.statuses) == (reference.verdict, reference.statuses)
    assert fast.statuses[npc + "kb/ci-1-skull-base-or-cranial-nerve"] == "violated"
