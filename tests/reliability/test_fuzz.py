"""Fuzzing ``assess`` (issue 15 item 6): hostile variants of valid patient files, through the API
and the CLI, never crash (no exit code 1, no raw Python exception) and never quote the marker.

Fixed seed and budget: ``derandomize=True`` and fixed seed texts (the same examples on every run,
no example database), a bounded number of examples per format, no deadline; about a minute in all. The
reproducers the hostile test found are regression tests of their own (test_reproducers.py).
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rdflib import Graph

import npc_kg
from npc_kg.cli import main
from npc_kg.errors import NpcKgError

from .conftest import MARKER, REPO

EXAMPLE = REPO / "examples" / "patients" / "eligible.ttl"
SEED_FILES = Path(__file__).parent / "fuzz-seeds"  # rdflib's serialisations of EXAMPLE, written once
FORMATS = {"ttl": "turtle", "nt": "nt", "jsonld": "json-ld", "rdf": "xml"}

FUZZ = settings(derandomize=True, database=None, deadline=None, max_examples=100,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])

HOSTILE = ["<", ">", '"', "'", "{", "}", "\\", "\\u", "\\uD800", "\\U0010FFFF", " ", "\r", "\x00", "\t", "\n", ".", ";",
           ",", "@", "#", "^^", "_:", "[", "]", "(", ")", ":", "a", "9" * 40, "-1", "1e999", "é", "\udcff",
           "<!DOCTYPE x [<!ENTITY e 'x'>]>", "&e;", "<![CDATA[", "@context", "@id", "@graph", '{"@id": ',
           f"<https://example.org/{MARKER}>", f'"{MARKER}"', f"ex:{MARKER}", f'"{MARKER}":', MARKER]


@st.composite
def mutated(draw: st.DrawFn, text: str) -> str:
    """``text`` with a few edits: hostile fragments inserted, spans deleted or duplicated."""
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(text)))
        action = draw(st.sampled_from(["insert", "delete", "duplicate", "truncate"]))
        if action == "insert":
            text = text[:at] + draw(st.sampled_from(HOSTILE) | st.text(max_size=8)) + text[at:]
        elif action == "delete":
            text = text[:at] + text[at + draw(st.integers(1, 40)):]
        elif action == "duplicate":
            end = min(len(text), at + draw(st.integers(1, 200)))
            text = text[:end] + text[at:end] + text[end:]
        else:
            text = text[:at]
    return text


def seeds() -> dict[str, str]:
    """The same eligible patient in each format, as fixed text: rdflib's N-Triples, JSON-LD and RDF/XML
    serialisations follow set order, which changes with the string-hash seed, and so would the examples."""
    nt = Graph().parse(EXAMPLE, format="turtle").serialize(format="nt")
    return {"ttl": EXAMPLE.read_text(encoding="utf-8"),
            "nt": "".join(sorted(nt.splitlines(keepends=True))),
            **{suffix: (SEED_FILES / f"eligible.{suffix}").read_text(encoding="utf-8") for suffix in ("jsonld", "rdf")}}


SEEDS = seeds()


def _write(folder: Path, suffix: str, text: str) -> Path:
    path = folder / f"patient.{suffix}"
    path.write_bytes(text.encode("utf-8", "surrogatepass"))
    return path


def _check_api(path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.clear()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            npc_kg.assess(path)
            message = ""
        except NpcKgError as error:  # anything else fails the test: a crash
            assert error.exit_code in (2, 3), f"{type(error).__name__}: exit code {error.exit_code}"
            message = str(error) + "\n".join(getattr(error, "errors", []))
    assert MARKER not in message + caplog.text + "".join(str(w.message) for w in caught)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


@pytest.mark.parametrize("suffix", sorted(FORMATS))
def test_fuzz_assess_api(suffix: str, folder: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)

    @FUZZ
    @given(mutated(SEEDS[suffix]))
    def run(text: str) -> None:
        _check_api(_write(folder, suffix, text), caplog)

    run()


@FUZZ
@given(suffix=st.sampled_from(sorted(FORMATS)), data=st.data())
def test_fuzz_assess_cli(suffix: str, data: st.DataObject, folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(folder, suffix, data.draw(mutated(SEEDS[suffix])))
    code = main(["assess", str(path), "--format", "json"])
    _out, err = capsys.readouterr()
    assert code in (0, 2, 3), err
    assert "internal error" not in err and "Traceback" not in err
    assert MARKER not in err
