"""Hostile cohort input (issue #15): a bad record is error rows and the run goes on; one row per patient.

The reproducers of ``tests/cohort/data/reliability/`` (see its README), CSV read strictly, bounded
work on a badly damaged file at any batch size, patients that come back later in the input,
error rows that never quote the input, and Ctrl-C with worker processes.
"""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pyoxigraph as ox
import pytest

from npc_kg.cli import main
from npc_kg.cohort import assess_cohort
from npc_kg.cohort.reader import iter_batches
from npc_kg.cohort.screen import REPEATED
from npc_kg.cohort.synth import synth
from npc_kg.errors import InputError
from npc_kg.notices import NpcKgNotice
from tests.cohort.corrupt import corrupt

DATA = Path(__file__).parent / "data" / "reliability"
P = "https://w3id.org/npc-kg/patient/"
TYPE = "<http://www.w3.org/1999/02/22-rdf-syntax-ns#type>"
PATIENT = "<https://w3id.org/npc-kg/Patient>"

EXPECTED: dict[str, list[tuple[str, str, str]]] = {
    # file: [(patient, verdict or "assessed", a part of the error reason)], in output order
    "cohort-crash-missing-dot.nt": [("https://example.org/p/2", "assessed", ""),
                                    ("https://example.org/p/1", "error", "cohort-crash-missing-dot.nt:1: cannot parse nt line")],
    "cohort-crash-missing-dot-2.nt": [("line:1", "error", "cohort-crash-missing-dot-2.nt:1: cannot parse nt line")],
    "cohort-crash-truncated.nt": [(P + "SYN-1-0000028", "assessed", ""),
                                  ("line:1", "error", "cohort-crash-truncated.nt:1: cannot parse nt line")],
    "cohort-uchar-subject.nt": [(P + "SYN-1-0009838", "assessed", "")],
    "fuzz-cohort-0cf9d396.nt": [(P + "SYN-9-0000013", "error", "fuzz-cohort-0cf9d396.nt:1: a line that cannot be read")],
    "fuzz-cohort-496859b2.nt": [(P + "SYN-9-0000001", "error", "fuzz-cohort-496859b2.nt:2: a line that cannot be read")],
    "fuzz-cohort-4c12438e.nt": [("line:2", "error", "fuzz-cohort-4c12438e.nt:1: a line that cannot be read")],
    "fuzz-cohort-575e012a.nt": [("line:1", "error", "fuzz-cohort-575e012a.nt:1: cannot parse nt line (also lines 2)")],
    "fuzz-cohort-88e447d3.nt": [("line:2", "error", "fuzz-cohort-88e447d3.nt:1: a line that cannot be read")],
    "csv-dup-conflict-short.csv": [(P + "SYN-2-0000001", "error", "csv-dup-conflict-short.csv:5: the same patient_id as line 2"),
                                   (P + "SYN-2-0000002", "assessed", ""),
                                   (P + "SYN-2-0000003", "error", "csv-dup-conflict-short.csv:7: the row has 1 cells"),
                                   (P + "SYN-SHORT", "error",
                                    "csv-dup-conflict-short.csv:6: the row has 2 cells, the header 27")],
}


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _outcome(rows: list[dict[str, str]]) -> list[tuple[str, str, str]]:
    return [(r["patient"], "error" if r["verdict"] == "error" else "assessed", r["error"]) for r in rows]


def test_every_reproducer_is_a_regression_test() -> None:
    assert sorted(p.name for p in DATA.iterdir() if p.name != "README.md") == sorted(EXPECTED)
    readme = (DATA / "README.md").read_text()
    assert all(f"`{name}`" in readme for name in EXPECTED)


@pytest.mark.parametrize("native", [True, False], ids=["C", "python"])
@pytest.mark.parametrize("batch_size", [1, 1000])
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_reproducer_gives_its_rows(name: str, batch_size: int, native: bool, tmp_path: Path,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    if not native:
        monkeypatch.setenv("NPC_KG_NO_NATIVE", "1")
    summary = assess_cohort(DATA / name, tmp_path / "out.csv", batch_size=batch_size)
    got = _outcome(_rows(tmp_path / "out.csv"))
    expected = EXPECTED[name]
    assert summary.rows == len(got) == len(expected)
    assert sorted((p, v) for p, v, _e in got) == sorted((p, v) for p, v, _e in expected)
    reasons = {p: e for p, _v, e in got}
    for patient, _verdict, part in expected:
        assert part in reasons[patient]


@pytest.mark.parametrize("engine", ["local", "sparql", "reference"])
def test_the_two_line_reproducer_gives_two_rows_on_every_engine(engine: str, tmp_path: Path) -> None:
    summary = assess_cohort(DATA / "cohort-crash-missing-dot.nt", tmp_path / "out.csv", engine=engine)
    assert summary.rows == 2
    assert sorted(_outcome(_rows(tmp_path / "out.csv"))) == sorted(EXPECTED["cohort-crash-missing-dot.nt"])


def test_cli_keeps_going_with_exit_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["assess-cohort", str(DATA / "cohort-crash-truncated.nt"), "--out", str(tmp_path / "o.csv")]) == 0
    assert "Traceback" not in capsys.readouterr().err
    assert len(_rows(tmp_path / "o.csv")) == 2


def test_a_subject_written_with_escapes_is_the_same_record_at_every_batch_size(tmp_path: Path) -> None:
    source = DATA / "cohort-uchar-subject.nt"
    assert b"\\u002D" in source.read_bytes()
    lines = source.read_bytes().splitlines(keepends=True)
    other = [line.replace(b"SYN-1-0009838", b"SYN-1-0009839").replace(b"npc\\u002Dkg", b"npc-kg") for line in lines]
    cohort = tmp_path / "c.nt"
    cohort.write_bytes(b"".join(other + lines + other[:3]))  # the escaped patient between two others
    answers = set()
    for batch_size in (1, 2, 3, 1000):
        assess_cohort(cohort, tmp_path / f"o{batch_size}.csv", batch_size=batch_size)
        rows = _rows(tmp_path / f"o{batch_size}.csv")
        answers.add(tuple(sorted(tuple(r.items()) for r in rows)))
        assert sorted(r["patient"] for r in rows) == [P + "SYN-1-0009838", P + "SYN-1-0009839"]
        assert all(r["verdict"] != "error" for r in rows if r["patient"].endswith("9838"))
    assert len(answers) == 1


def test_an_error_row_never_quotes_the_input(tmp_path: Path) -> None:
    """The patient of an error row is a parsed IRI or ``line:N``: never the raw line (NUL bytes, values)."""
    cohort = tmp_path / "c.nt"
    cohort.write_bytes(
        b'<https://x.org/p\x00ZQXMARK7431> <https://x.org/age> "ZQXMARK7431" .\n'  # NUL in the subject: unreadable
        b'<https://x.org/p2> ' + TYPE.encode() + b" " + PATIENT.encode() + b" .\n"
        b'<https://x.org/p2> <https://x.org/note> "ZQXMARK7431\x00 .\n"'  # a literal left open
        b"ZQXMARK7431 garbage\n")
    assess_cohort(cohort, tmp_path / "o.csv")
    text = (tmp_path / "o.csv").read_text(encoding="utf-8")
    assert "ZQXMARK7431" not in text and "\x00" not in text
    [row] = _rows(tmp_path / "o.csv")
    assert row["patient"] == "https://x.org/p2" and row["verdict"] == "error"
    assert "c.nt:1:" in row["error"] or "c.nt:3" in row["error"]


# -- CSV read strictly ---------------------------------------------------------------------------------

def _csv_cohort(tmp_path: Path, n: int = 200) -> tuple[Path, list[str]]:
    synth(n, 17, tmp_path / "clean.csv")
    return tmp_path / "clean.csv", (tmp_path / "clean.csv").read_text(encoding="utf-8").splitlines(keepends=True)


def test_csv_quote_left_open_is_one_error_row_not_the_rest_of_the_file(tmp_path: Path) -> None:
    _clean, lines = _csv_cohort(tmp_path)
    broken = lines[:]
    broken[21] = broken[21].replace(",", ',"', 3)  # row 21 (line 22): a quote left open
    (tmp_path / "bad.csv").write_text("".join(broken), encoding="utf-8")
    summary = assess_cohort(tmp_path / "bad.csv", tmp_path / "o.csv")
    rows = _rows(tmp_path / "o.csv")
    assert summary.rows == len(rows) == 200
    errors = [r for r in rows if r["verdict"] == "error"]
    assert [r["error"] for r in errors] == ["bad.csv:22: cannot read the row (a quote left open, text after a closing "
                                            "quote, or a line break in a cell)"]
    assert errors[0]["patient"].endswith("SYN-17-0000021")


def test_csv_short_long_repeated_and_empty_rows_are_error_rows(tmp_path: Path) -> None:
    _clean, lines = _csv_cohort(tmp_path, 10)
    bad = [*lines[:2],
           lines[2].rstrip("\n").rsplit(",", 3)[0] + "\n",  # short
           lines[3].rstrip("\n") + ",extra\n",  # long
           lines[1],  # the id of line 2 again
           "," * (lines[0].count(",")) + "\n",  # no patient_id
           *lines[6:]]
    (tmp_path / "bad.csv").write_text("".join(bad), encoding="utf-8")
    assess_cohort(tmp_path / "bad.csv", tmp_path / "o.csv")
    rows = {r["patient"]: r for r in _rows(tmp_path / "o.csv")}
    cells = lines[0].count(",") + 1
    assert f"bad.csv:3: the row has {cells - 3} cells, the header {cells}" in rows[P + "SYN-17-0000002"]["error"]
    assert f"bad.csv:4: the row has {cells + 1} cells" in rows[P + "SYN-17-0000003"]["error"]
    assert REPEATED in rows[P + "SYN-17-0000001"]["error"]
    assert "bad.csv:5: the same patient_id as line 2" in rows[P + "SYN-17-0000001"]["error"]
    assert rows["line:6"]["verdict"] == "error" and "patient_id: empty" in rows["line:6"]["error"]
    assert len(rows) == 9  # patients 1, 2, 3, line 6 (no id), 6-10; patients 4 and 5 were overwritten


def test_csv_with_a_byte_order_mark_is_read(tmp_path: Path) -> None:
    clean, lines = _csv_cohort(tmp_path, 20)
    (tmp_path / "bom.csv").write_bytes(b"\xef\xbb\xbf" + clean.read_bytes())
    assess_cohort(clean, tmp_path / "a.csv")
    assess_cohort(tmp_path / "bom.csv", tmp_path / "b.csv")
    assert _rows(tmp_path / "a.csv") == _rows(tmp_path / "b.csv") and len(lines) == 21


def test_csv_bytes_not_in_the_encoding_are_an_error_row_and_encoding_reads_them(tmp_path: Path,
                                                                               capsys: pytest.CaptureFixture[str]) -> None:
    _clean, lines = _csv_cohort(tmp_path, 20)
    text = "".join(lines).replace("SYN-17-0000007", "SYN-17-000000\u00e9")
    (tmp_path / "latin.csv").write_bytes(text.encode("latin-1"))
    assess_cohort(tmp_path / "latin.csv", tmp_path / "o.csv")
    rows = _rows(tmp_path / "o.csv")
    assert len(rows) == 20
    [bad] = [r for r in rows if r["verdict"] == "error"]
    assert bad["patient"] == "line:8"
    assert bad["error"] == "latin.csv:8: not valid utf-8 (give the file's encoding with --encoding)"
    assert main(["assess-cohort", str(tmp_path / "latin.csv"), "--out", str(tmp_path / "l.csv"), "--encoding", "latin-1"]) == 0
    assert P + "SYN-17-000000%C3%A9" in [r["patient"] for r in _rows(tmp_path / "l.csv")]
    assert all(r["verdict"] != "error" for r in _rows(tmp_path / "l.csv"))
    assert main(["assess-cohort", str(tmp_path / "latin.csv"), "--out", str(tmp_path / "x.csv"), "--encoding", "klingon"]) == 2
    assert main(["assess-cohort", str(tmp_path / "latin.csv"), "--out", str(tmp_path / "x.csv"), "--encoding", "utf-16"]) == 2
    assert main(["assess-cohort", str(tmp_path / "latin.csv"), "--out", str(tmp_path / "x.csv"), "--encoding", "rot13"]) == 2
    err = capsys.readouterr().err
    assert "unknown encoding 'klingon'" in err and "not ASCII-compatible" in err
    assert "'rot13' is not a text encoding" in err and "internal error" not in err
    for codec in ("punycode", "unicode_escape"):  # the first raised a bare UnicodeError; the second rewrites backslashes
        with pytest.raises(InputError, match="not ASCII-compatible"):
            assess_cohort(tmp_path / "latin.csv", tmp_path / "x.csv", encoding=codec)
    assert main(["assess-cohort", str(tmp_path / "latin.csv"), "--out", str(tmp_path / "s.csv"), "--encoding", "utf-8-sig"]) == 0
    (tmp_path / "bom.csv").write_bytes(b"\xef\xbb\xbf" + "".join(lines).encode("utf-8"))
    with pytest.raises(InputError, match="starts with a UTF-8 byte order mark: it is UTF-8, so leave out --encoding"):
        assess_cohort(tmp_path / "bom.csv", tmp_path / "b.csv", encoding="latin-1")
    (tmp_path / "h.csv").write_bytes(b"patient_id,\xe9ge\n")
    with pytest.raises(InputError, match=r"h\.csv:1: the header is not valid utf-8"):
        list(iter_batches(tmp_path / "h.csv"))


# -- patients that come back -----------------------------------------------------------------------------

def _patient(i: int, extra: str = "") -> str:
    s = f"<{P}X-{i}>"
    return (f"{s} {TYPE} {PATIENT} .\n{s} <https://w3id.org/npc-kg/hasFinding> <{P}X-{i}/f> .\n"
            f"<{P}X-{i}/f> {TYPE} <https://w3id.org/npc-kg/DistantMetastasis> .\n"
            f"<{P}X-{i}/f> <https://w3id.org/npc-kg/findingStatus> <https://w3id.org/npc-kg/Absent> .\n{extra}")


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet"])
def test_a_patient_split_across_the_input_is_one_error_row(fmt: str, tmp_path: Path) -> None:
    later = f'<{P}X-1> <https://w3id.org/npc-kg/age> "70"^^<http://www.w3.org/2001/XMLSchema#integer> .\n'
    (tmp_path / "c.nt").write_text("".join(_patient(i) for i in range(1, 9)) + later + _patient(9), encoding="utf-8")
    for batch_size, workers in ((1, 1), (3, 2), (1000, 1)):
        out = tmp_path / f"o-{batch_size}.{fmt}"
        summary = assess_cohort(tmp_path / "c.nt", out, batch_size=batch_size, workers=workers, attrition=tmp_path / "a.csv")
        frame = assess_cohort(tmp_path / "c.nt", batch_size=batch_size)  # and as a DataFrame
        rows = _read(out, fmt)
        assert [r["patient"] for r in rows] == [f"{P}X-{i}" for i in range(1, 10)] == list(frame["patient"])
        assert rows[0]["verdict"] == "error" and rows[0]["error"] == REPEATED
        assert all(r["verdict"] != "error" for r in rows[1:])
        assert summary.rows == 9 and summary.attrition.total == 9 and summary.attrition.errors == 1
        assert int(_rows(tmp_path / "a.csv")[1]["newly_excluded"]) == 1


def _read(path: Path, fmt: str) -> list[dict[str, str]]:
    import json

    if fmt == "csv":
        return _rows(path)
    if fmt == "jsonl":
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    import pyarrow.parquet as pq

    assert pq.read_schema(path).metadata[b"npc_kg.provenance"]
    return pq.read_table(path).to_pylist()


def test_records_that_name_no_patient_are_left_out_with_a_note(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    vocabulary = "<https://example.org/Thing> <http://www.w3.org/2000/01/rdf-schema#label> \"thing\" .\n"
    (tmp_path / "c.nt").write_text(vocabulary + _patient(1) + vocabulary.replace("Thing", "Other") + _patient(2))
    for batch_size in (1, 1000):
        with pytest.warns(NpcKgNotice, match=r"2 record\(s\) name no patient .* the first at c.nt:1"):
            summary = assess_cohort(tmp_path / "c.nt", tmp_path / "o.csv", batch_size=batch_size)
        assert summary.rows == 2
    assert main(["assess-cohort", str(tmp_path / "c.nt"), "--out", str(tmp_path / "o.csv")]) == 0
    assert "npc-kg: note: 2 record(s) name no patient" in capsys.readouterr().err  # the CLI prints it


# -- bounded work -----------------------------------------------------------------------------------------

def test_a_damaged_cohort_costs_linear_work_at_any_batch_size(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The old repair parsed the rest of a batch again after each bad record (quadratic in one huge batch).
    Now each record is parsed at most once more, and each line of a damaged one once alone."""
    synth(400, 3, tmp_path / "c.nt")
    damaged = corrupt((tmp_path / "c.nt").read_bytes(), 0.05, 2)
    (tmp_path / "bad.nt").write_bytes(damaged.data)
    calls = []
    real = ox.parse

    def counting(*args: object, **kwargs: object) -> object:
        calls.append(1)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(ox, "parse", counting)
    summary = assess_cohort(tmp_path / "bad.nt", tmp_path / "o.csv", batch_size=100000)
    lines = len(damaged.data.splitlines())
    assert summary.rows == 400
    assert len(calls) <= 2 * 400 + lines + 10, "no more than about two parses per record and one per line"


# -- Ctrl-C ------------------------------------------------------------------------------------------------

def _children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs Linux /proc")
@pytest.mark.parametrize("when", ["start-up", "workers running"])
def test_ctrl_c_with_workers_is_exit_130_one_line_no_traceback_no_leftovers(when: str, tmp_path: Path) -> None:
    synth(3000, 5, tmp_path / "c.nt")
    out = tmp_path / "out" / "o.csv"
    out.parent.mkdir()
    command = [sys.executable, "-c", "import sys; from npc_kg.cli import main; sys.exit(main())", "assess-cohort",
               str(tmp_path / "c.nt"), "--out", str(out), "--workers", "2", "--batch-size", "20", "--engine", "sparql"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # as in a terminal
    try:
        if when == "start-up":
            time.sleep(0.3)
        else:
            deadline = time.monotonic() + 60
            while len(_children(process.pid)) < 2 and time.monotonic() < deadline:
                time.sleep(0.02)
            assert len(_children(process.pid)) >= 2, "the workers did not start"
            time.sleep(0.3)
        os.killpg(process.pid, signal.SIGINT)  # Ctrl-C reaches the whole foreground process group
        _out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    assert process.returncode == 130, err
    lines = err.decode().strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("npc-kg: interrupted"), "one line, no traceback"
    assert list(out.parent.iterdir()) == [], "no output, no partial or temporary file"
    for _ in range(100):  # the workers are gone too
        try:
            os.killpg(process.pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    else:
        pytest.fail("worker processes are left after Ctrl-C")


def test_encoding_without_a_csv_input_is_refused(tmp_path: Path) -> None:
    cohort = tmp_path / "c.nt"
    cohort.write_text("", encoding="utf-8")
    with pytest.raises(InputError, match="--encoding latin-1 applies to CSV inputs, and none is given"):
        assess_cohort(cohort, tmp_path / "o.csv", encoding="latin-1")
    assert not (tmp_path / "o.csv").exists()


def test_unreadable_rows_of_two_files_on_the_same_line_are_two_rows(tmp_path: Path) -> None:
    for name in ("a.csv", "b.csv"):
        (tmp_path / name).write_text("patient_id,age\n,55\n", encoding="utf-8")
    summary = assess_cohort([tmp_path / "a.csv", tmp_path / "b.csv"], tmp_path / "o.csv")
    rows = _rows(tmp_path / "o.csv")
    assert summary.rows == len(rows) == 2
    assert [r["patient"] for r in rows] == ["line:2", "line:2"]
    assert not any("more than once" in r["error"] for r in rows)


@pytest.mark.parametrize(("inputs", "options", "message"), [
    (5, {}, "not a int"),
    ("<https://example.org/p/SECRET-4242> a <https://w3id.org/npc-kg/Patient> .\n", {}, "looks like RDF or JSON text"),
    ({"id": "SECRET-4242"}, {}, "not a dict"),
    ([None], {}, "not a NoneType"),
    ([Path("x.nt")], {"workers": 0}, "workers must be a whole number of 1 or more"),
    ([Path("x.nt")], {"batch_size": 2.5}, "batch_size must be a whole number of 1 or more"),
    ([Path("x.nt")], {"encoding": None}, "encoding= is the name of a text encoding"),
    ([Path("x.nt")], {"timeout": "abc"}, r"timeout= \(CLI --timeout\) is a number of seconds above 0"),
])
def test_api_inputs_of_the_wrong_kind_are_input_errors(inputs: Any, options: dict[str, Any], message: str,
                                                       tmp_path: Path) -> None:
    with pytest.raises(InputError, match=message) as caught:
        assess_cohort(inputs, tmp_path / "o.csv", progress=False, **options)
    assert "SECRET-4242" not in str(caught.value)
    assert not (tmp_path / "o.csv").exists()


@pytest.mark.parametrize("engine", ["local", "sparql", "reference"])
def test_a_subject_with_findings_but_no_patient_type_is_an_error_row(engine: str, tmp_path: Path) -> None:
    """The evaluators assess typed patients only; an untyped one was dropped with no row and no word."""
    synth(3, 2, tmp_path / "c.nt")
    lines = (tmp_path / "c.nt").read_text(encoding="utf-8").splitlines()
    second = P + "SYN-2-0000002"
    kept = [line for line in lines if not (line.startswith(f"<{second}> ") and "22-rdf-syntax-ns#type" in line)]
    assert len(kept) == len(lines) - 1
    (tmp_path / "u.nt").write_text("\n".join(kept) + "\n", encoding="utf-8")
    summary = assess_cohort(tmp_path / "u.nt", tmp_path / "o.csv", engine=engine)
    rows = {r["patient"]: r for r in _rows(tmp_path / "o.csv")}
    assert summary.rows == len(rows) == 3
    assert rows[second]["verdict"] == "error" and "no rdf:type npc:Patient" in rows[second]["error"]
