"""Fuzzing ``assess-cohort`` (issue #15): no input crashes it, and no input value leaks.

A small valid cohort in each input format (N-Triples, N-Quads, Turtle, CSV) is mutated byte-wise
(bytes inserted, deleted, replaced, lines doubled, swapped or cut, the file cut short) with
tokens that break readers: NUL, CR, bad UTF-8, quotes, angle brackets, escapes, blank nodes,
prefixes, commas, and the marker ``ZQXMARK7431``. Hypothesis runs a fixed number of examples
with a fixed seed (``derandomize``), through the API and the CLI:

- the API returns a summary or raises an :class:`npc_kg.errors.NpcKgError`, nothing else;
- the CLI exits 0 or 2 (never 1, an internal error) and prints no traceback;
- the marker is never on stderr, in a log record or in an error row's ``error`` column, and an
  error row's ``patient`` is ``line:N`` or an IRI, never raw text (no NUL, CR, space or quote).

Inputs that once crashed are kept under ``data/fuzz/`` and run first (see its README).
"""

from __future__ import annotations

import csv
import logging
import re
import warnings
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from npc_kg.cli import main
from npc_kg.cohort import assess_cohort
from npc_kg.cohort.synth import synth
from npc_kg.errors import NpcKgError

MARKER = "ZQXMARK7431"
FUZZ = Path(__file__).parent / "data" / "fuzz"
TOKENS = [b"\x00", b"\r", b"\n", b"\xff", b"\xc3", b"\x80", b'"', b"<", b">", b" .", b" ", b"\\u00", b"\\U0010FFFF",
          b"\\uD800", b"_:b1", b"@prefix x: <y> .", b",", b";", b"^^", b"@en", b"#", b"{", b"\t", MARKER.encode(),
          b"<https://w3id.org/npc-kg/patient/" + MARKER.encode() + b">", b'"' + MARKER.encode() + b'"']
SUFFIX = {"nt": ".nt", "nq": ".nq", "ttl": ".ttl", "csv": ".csv"}
_IRI = re.compile(r"^[^\s\"<>{}|\\^`\x00-\x1f]+:[^\s\"<>{}|\\^`\x00-\x1f]*$")


@pytest.fixture(scope="module")
def bases(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    folder = tmp_path_factory.mktemp("bases")
    synth(4, 21, folder / "c.nt")
    synth(4, 21, folder / "c.csv")
    nt = (folder / "c.nt").read_bytes()
    return {"nt": nt, "nq": nt, "ttl": nt, "csv": (folder / "c.csv").read_bytes()}


_edit = st.tuples(st.sampled_from(["insert", "delete", "replace", "double-line", "swap-lines", "cut-line"]),
                  st.floats(0, 1), st.integers(1, 40), st.sampled_from(TOKENS) | st.binary(min_size=1, max_size=4))


def mutate(data: bytes, edits: list[tuple[str, float, int, bytes]], truncate: float | None) -> bytes:
    """Apply the edits in order (positions as a share of the current length)."""
    for kind, where, size, token in edits:
        at = int(where * len(data))
        if kind == "insert":
            data = data[:at] + token + data[at:]
        elif kind == "delete":
            data = data[:at] + data[at + size:]
        elif kind == "replace":
            data = data[:at] + token + data[at + len(token):]
        else:
            lines = data.split(b"\n")
            i = min(int(where * len(lines)), len(lines) - 1)
            if kind == "double-line":
                lines.insert(i, lines[i])
            elif kind == "swap-lines" and i + 1 < len(lines):
                lines[i], lines[i + 1] = lines[i + 1], lines[i]
            elif kind == "cut-line":
                lines[i] = lines[i][:size]
            data = b"\n".join(lines)
    return data if truncate is None else data[:int(truncate * len(data))]


def _error_rows_are_clean(out: Path) -> None:
    if not out.exists():
        return
    with open(out, newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if row["verdict"] != "error":
                continue
            assert MARKER not in row["error"], row["error"]
            assert row["patient"].startswith("line:") or _IRI.match(row["patient"]), repr(row["patient"])


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.text: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.text.append(record.getMessage())


def run_both(path: Path, folder: Path, capfd: pytest.CaptureFixture[str]) -> None:
    """The API and the CLI on one input: no crash, no leak (stderr read at the file descriptor)."""
    capfd.readouterr()
    handler = _Records()
    root = logging.getLogger()
    root.addHandler(handler)
    level = root.level
    root.setLevel(logging.DEBUG)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            out = folder / "api.csv"
            try:
                assess_cohort(path, out, progress=False)
            except NpcKgError as error:
                assert MARKER not in str(error)
            _error_rows_are_clean(out)
            cli_out = folder / "cli.csv"
            code = main(["assess-cohort", str(path), "--out", str(cli_out), "--batch-size", "2"])
            assert code in (0, 2), f"exit {code}: {capfd.readouterr().err[-500:]}"
            _error_rows_are_clean(cli_out)
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
    err = capfd.readouterr().err
    assert "Traceback" not in err
    assert MARKER not in err, err
    assert not any(MARKER in text for text in handler.text)
    assert not any(MARKER in str(w.message) for w in caught)


def test_the_kept_reproducers_neither_crash_nor_leak(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    kept = sorted(p for p in FUZZ.iterdir() if p.name != "README.md")
    readme = (FUZZ / "README.md").read_text(encoding="utf-8")
    assert all(f"`{p.name}`" in readme for p in kept)
    for path in kept:
        run_both(path, tmp_path, capfd)


@settings(max_examples=300, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large])
@given(fmt=st.sampled_from(sorted(SUFFIX)), edits=st.lists(_edit, min_size=1, max_size=6),
       truncate=st.none() | st.floats(0, 1))
@example(fmt="nt", edits=[("insert", 0.0, 1, b"\x00" + MARKER.encode())], truncate=None)
@example(fmt="csv", edits=[("insert", 0.5, 1, b'"' + MARKER.encode())], truncate=None)
def test_fuzzed_cohorts_neither_crash_nor_leak(bases: dict[str, bytes], tmp_path_factory: pytest.TempPathFactory,
                                               capfd: pytest.CaptureFixture[str], fmt: str, edits: list,
                                               truncate: float | None) -> None:
    folder = tmp_path_factory.mktemp("fuzz")
    path = folder / f"input{SUFFIX[fmt]}"
    path.write_bytes(mutate(bases[fmt], edits, truncate))
    run_both(path, folder, capfd)


# -- the marker in every kind of bad cohort input ------------------------------------------------------------

_S = "<https://w3id.org/npc-kg/patient/SYN-5-0000001>"
_AGE = "<https://w3id.org/npc-kg/age>"
_INT = "^^<http://www.w3.org/2001/XMLSchema#integer>"
BAD_LINES = {  # a bad N-Triples line carrying the marker (never in the subject: a parsed subject is a legitimate patient)
    "missing-dot": f'{_S} {_AGE} "{MARKER}"',
    "literal-left-open": f'{_S} {_AGE} "{MARKER} .',
    "bad-iri-char-in-object": f"{_S} <https://w3id.org/npc-kg/hasFinding> <https://x.org/{MARKER} a> .",
    "bad-predicate": f'{_S} <{MARKER} x> "1" .',
    "nul-byte": f'{_S} {_AGE} "{MARKER}\x00" .',
    "ill-typed-literal": f'{_S} {_AGE} "{MARKER}"{_INT} .',
    "bad-escape": f'{_S} {_AGE} "{MARKER}\\uD800" .',
    "garbage-line": f"{MARKER} garbage {MARKER}",
    "subject-lost": f'<htt{MARKER} {_AGE} "1" .',
    "cut-short": f'{_S} {_AGE} "{MARKER}',
}
TTL_READABLE = {"ill-typed-literal", "nul-byte"}  # Turtle lets these through (a NUL is allowed in a Turtle string)
BAD_CSV_ROWS = {  # a bad CSV row (line 3) carrying the marker
    "quote-left-open": f'SYN-5-0000002,"{MARKER},1,0',
    "short-row": f"SYN-5-0000002,{MARKER}",
    "long-row": "SYN-5-0000002" + ",absent" * 26 + f",{MARKER}",
    "bad-value": f"SYN-5-0000002,{MARKER}" + ",absent" * 25,
    "text-after-quote": f'SYN-5-0000002,"1"{MARKER}' + ",absent" * 25,
    "latin-1": f"SYN-5-0000002,{MARKER}\xe9" + ",absent" * 25,
}


@pytest.mark.parametrize("kind", sorted(BAD_LINES))
@pytest.mark.parametrize("fmt", ["nt", "nq", "ttl"])
def test_the_marker_in_a_bad_rdf_line_is_nowhere(kind: str, fmt: str, bases: dict[str, bytes], tmp_path: Path,
                                                 capfd: pytest.CaptureFixture[str]) -> None:
    lines = bases["nt"].decode().splitlines(keepends=True)
    path = tmp_path / f"c{SUFFIX[fmt]}"
    path.write_bytes("".join([*lines[:3], BAD_LINES[kind] + "\n", *lines[3:]]).encode("utf-8", "surrogateescape"))
    run_both(path, tmp_path, capfd)
    # Turtle cannot be read on after an error: the whole file is refused (exit 2, file and line), no rows
    _marker_is_in_no_error_row(tmp_path, rows_expected=fmt != "ttl" or kind in TTL_READABLE)


@pytest.mark.parametrize("kind", sorted(BAD_CSV_ROWS))
def test_the_marker_in_a_bad_csv_row_is_nowhere(kind: str, bases: dict[str, bytes], tmp_path: Path,
                                                capfd: pytest.CaptureFixture[str]) -> None:
    lines = bases["csv"].decode().splitlines(keepends=True)
    path = tmp_path / "c.csv"
    data = "".join([*lines[:2], BAD_CSV_ROWS[kind] + "\n", *lines[3:]])
    path.write_bytes(data.encode("latin-1" if kind == "latin-1" else "utf-8"))
    run_both(path, tmp_path, capfd)
    _marker_is_in_no_error_row(tmp_path)


def _marker_is_in_no_error_row(folder: Path, rows_expected: bool = True) -> None:
    for name in ("api.csv", "cli.csv"):
        assert (folder / name).exists() == rows_expected
        if not rows_expected:
            continue
        with open(folder / name, newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
        assert rows, "the run wrote rows"
        for row in rows:
            if row["verdict"] == "error":
                assert MARKER not in row["patient"] and MARKER not in row["error"], row
