"""The C accelerator (``npc_kg/cohort/_ntscan.c``) gives exactly the pure-Python answers.

Each of its functions has a Python twin that stays the reference:

- ``scan`` vs :func:`npc_kg.cohort.records.scan` (reading lines into patient records);
- ``index`` vs ``ClosureEvaluator.index_terms(strict_triples(data))`` (strict N-Triples into the index,
  with the nodes it notes for the targets; plain literals through ``ntriples.plain_literal``);
- ``fast_term`` vs :func:`npc_kg.cohort.ntriples.term` (IRIs and blank nodes);
- ``sid`` and ``focus_key`` vs the closure evaluator's Python signatures (the memo keys): the same
  interned keys in the same order, and the same rows.

They are compared on synthetic cohorts, the strict reader's edge cases and random mutations. In CI
the accelerator must be built (``pip install -e .`` compiles it), so these tests never skip there.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib.util
import io
import os
import random
import sys
import sysconfig
from pathlib import Path
from types import ModuleType

import pytest
from rdflib import RDF, RDFS
from rdflib.namespace import DCTERMS

import npc_kg.cohort.ntriples as ntriples
from npc_kg.cohort.native import load_native
from npc_kg.cohort.ntriples import NotStrict, term
from npc_kg.cohort.reader import iter_batches
from npc_kg.cohort.records import END, NEW, iter_records, readable, scan, tokens
from npc_kg.cohort.synth import synth
from npc_kg.core.rules import PatientRow, rows_of
from npc_kg.shacl.closures import ClosureEvaluator, Index
from npc_kg.shacl.engines import package_engines
from npc_kg.shacl.plan import Unsupported
from tests.cohort.test_ntriples import ACCEPTED, REFUSED

NATIVE = load_native()
ROOT = Path(__file__).parents[2]
SOURCE = ROOT / "npc_kg" / "cohort" / "_ntscan.c"
needs_native = pytest.mark.skipif(NATIVE is None and not os.environ.get("CI"),
                                  reason="the C accelerator is not built (no C compiler); CI requires it")
ALPHABET = [b" ", b"\t", b'"', b"<", b">", b"\\", b"@", b"^", b".", b"_", b":", b"#", b"{", b"%", b"-", b"a", b"/",
            b"?", b"[", b"]", b"1", "\u00e9".encode(), b"\xff", b"\n", b"\r", b"\x0b"]


def _native() -> ModuleType:
    assert NATIVE is not None, "CI builds the C accelerator: pip install -e . needs a C compiler"
    return NATIVE


def _mutate(rnd: random.Random, line: bytes, edits: int = 3) -> bytes:
    out = bytearray(line)
    for _ in range(rnd.randint(1, edits)):
        at = rnd.randrange(len(out) + 1)
        if rnd.random() < 0.3 and at < len(out):
            del out[at]
        else:
            out[at:at] = rnd.choice(ALPHABET)
    return bytes(out)


@pytest.fixture(scope="module")
def cohort_lines(tmp_path_factory: pytest.TempPathFactory) -> list[bytes]:
    folder = tmp_path_factory.mktemp("ntscan")
    synth(120, 5, folder / "c.nt", error_rate=0.2)  # syntax errors and ill-typed literals included
    return (folder / "c.nt").read_bytes().splitlines(keepends=True)


def test_ci_builds_the_accelerator() -> None:
    if os.environ.get("CI"):
        assert NATIVE is not None, "pip install -e . must compile npc_kg/cohort/_ntscan.c in CI"


def test_no_native_switch_selects_pure_python(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NPC_KG_NO_NATIVE", "1")
    assert load_native() is None
    assert ClosureEvaluator(package_engines().plan).native is None


@needs_native
def test_a_stale_build_is_not_used(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import npc_kg.cohort.native as native

    assert hashlib.sha256(SOURCE.read_bytes()).hexdigest() == _native().SOURCE_SHA256, "built from this source"
    edited = tmp_path / "_ntscan.c"
    edited.write_bytes(SOURCE.read_bytes() + b"/* edited */\n")
    monkeypatch.setattr(native, "_SOURCE", edited)
    monkeypatch.setattr(native, "_checked", {})
    with pytest.warns(RuntimeWarning, match="pip install -e"):
        assert load_native() is None


# -- scan (records) ----------------------------------------------------------------------------------

def _grouped(native: object, data: bytes, block: int = 1 << 20) -> list[tuple[object, ...]]:
    """Every record of ``data`` as the reader groups it (``native``: the C ``scan``, or ``None``: Python)."""
    import npc_kg.cohort.records as records

    saved = records._BLOCK
    records._BLOCK = block
    try:
        return [(r.root, bytes(r.data), tuple(r.runs), tuple(r.unread), tuple(r.nearby), tuple(r.flags), r.first)
                for r, _position in iter_records(io.BytesIO(data), native=native)]
    finally:
        records._BLOCK = saved


def _scan_calls(scan: object, block: bytes) -> list[tuple[object, ...]]:
    """Every event of ``scan`` over ``block``, with the record's state after it (one record, then a fresh one)."""
    out: list[tuple[object, ...]] = []
    pos, number, linked = 0, 0, None
    data, runs, flags = bytearray(), [], [False, False, False]
    while True:
        pos, number, event, key = scan(block, pos, number, linked, data, runs, flags, tokens(), readable)  # type: ignore[operator]
        out.append((pos, number, event, key, bytes(data), tuple(runs), tuple(flags)))
        if event == END:
            return out
        if event == NEW:
            linked, data, runs, flags = {key}, bytearray(), [], [False, False, False]


@needs_native
def test_scan_equals_the_python_scan_on_a_cohort(cohort_lines: list[bytes]) -> None:
    block = b"".join(cohort_lines)
    expected = _scan_calls(scan, block)
    assert sum(1 for e in expected if e[2] == NEW) > 100
    assert _scan_calls(_native().scan, block) == expected


@needs_native
def test_scan_equals_the_python_scan_on_mutated_lines(cohort_lines: list[bytes]) -> None:
    rnd = random.Random(2)
    odd = [b"\n", b"   \n", b"# comment\n", b"  # indented comment\n", b"\t<http://x.org/a> <http://x.org/p> _:b .\n",
           b"_:a <http://x.org/p> _:b.c .\n", b"_:a<http://x.org/p><http://x.org/o>.\n", b"<unclosed <http://x.org/p> .\n",
           b"_: <http://x.org/p> <http://x.org/o> .\n", b"\x0b\x0c\n", b"<a> <p> _:x\n", b"<a> <p> _:x.\n",
           b"<http://x.org/\\u0041> <http://www.w3.org/1999/02/22-rdf-syntax-ns#\\u0074ype> "
           b"<https://w3id.org/npc-kg/Patient> .\n",
           b"\r\r<http://x.org/a> <http://x.org/p> \"v\" .\r\n", b"<http://x.org/a> <http://x.org/p> <http://x.org/b\xff> .\n"]
    for _ in range(300):
        lines = [_mutate(rnd, line) if rnd.random() < 0.3 else line for line in rnd.sample(cohort_lines, 30)]
        lines += rnd.sample(odd, 4)
        text = b"".join(line if line.endswith(b"\n") else line + b"\n" for line in lines)
        assert _scan_calls(_native().scan, text) == _scan_calls(scan, text), text


@needs_native
def test_records_are_the_same_natively_whatever_the_blocks(cohort_lines: list[bytes]) -> None:
    rnd = random.Random(5)
    lines = [_mutate(rnd, line) if rnd.random() < 0.05 else line for line in cohort_lines]
    data = b"".join(line if line.endswith(b"\n") else line + b"\n" for line in lines)
    data += b"<http://x.org/last> <http://x.org/p> _:tail"  # no final newline
    expected = _grouped(None, data)
    assert len(expected) > 100 and expected[-1][0] == b"<http://x.org/last>"
    assert _grouped(_native(), data) == expected
    assert _grouped(_native(), data, block=4096) == expected  # lines cut at block ends
    assert _grouped(None, data, block=97) == expected


@needs_native
def test_reading_a_file_gives_the_same_batches_natively(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    synth(300, 8, tmp_path / "c.nt", error_rate=0.2)
    with (tmp_path / "c.nt").open("ab") as handle:
        handle.write(b"<http://x.org/last> <http://x.org/p> _:tail")  # no final newline

    def batches() -> list[tuple[bytes, list[str], list[object]]]:
        return [(b.data, b.roots, list(b.records)) for b in iter_batches(tmp_path / "c.nt", batch_size=37)]

    native = batches()
    monkeypatch.setenv("NPC_KG_NO_NATIVE", "1")
    assert batches() == native
    assert native[-1][1][-1] == "http://x.org/last"


# -- index ------------------------------------------------------------------------------------------

def _engines() -> tuple[ClosureEvaluator, ClosureEvaluator]:
    plan = package_engines().plan
    return ClosureEvaluator(plan), ClosureEvaluator(plan, native=None)


def _rows(engine: ClosureEvaluator, idx: Index, order: list[str] | None = None) -> list[PatientRow]:
    engines = package_engines()
    patients, hits = engine.hits(idx)
    return rows_of(patients, hits, engines.criteria(), engines.plan.implemented, order or ())


def _index_or_why(engine: ClosureEvaluator, data: bytes) -> object:
    """The index with the nodes it noted for the targets, or why there is none."""
    try:
        idx = engine.index_strict(data)
    except (NotStrict, Unsupported) as error:
        return type(error).__name__
    return dict(idx), idx.firsts, idx.typed


@needs_native
def test_index_equals_the_python_index_on_a_cohort(cohort_lines: list[bytes]) -> None:
    native, python = _engines()
    assert native.native is not None and python.native is None
    data = b"".join(line for line in cohort_lines if isinstance(_index_or_why(python, line), tuple))  # the readable lines
    expected = _index_or_why(python, data)
    assert isinstance(expected, tuple) and len(expected[0]) > 500 and all(expected[1].values())
    assert _index_or_why(native, data) == expected


def _noted_as_a_walk_finds(idx: Index) -> None:
    """The nodes an index noted are those a walk over it finds, each once."""
    for key, nodes in idx.firsts.items():
        assert len(nodes) == len(set(nodes)) and set(nodes) == {n for n, edges in idx.items() if key in edges}, key
    for cls, nodes in idx.typed.items():
        assert len(nodes) == len(set(nodes)), cls
        assert set(nodes) == {n for n, edges in idx.items() if cls in edges.get(str(RDF.type), ())}, cls


@needs_native
def test_the_nodes_an_index_notes_are_those_a_walk_finds(cohort_lines: list[bytes]) -> None:
    native, python = _engines()
    assert python.new_index().firsts and python.new_index().typed  # the package's targets need both
    rnd = random.Random(8)
    lines = [line for line in cohort_lines if line.strip()]
    checked = 0
    for _ in range(300):
        picked = rnd.sample(lines, 40)
        data = b"".join(picked + rnd.sample(picked, 5))  # repeated triples are noted once
        for engine in (native, python):
            with contextlib.suppress(NotStrict, Unsupported):
                _noted_as_a_walk_finds(engine.index_strict(data))
                checked += 1
    assert checked > 300


def test_hits_refuse_an_index_that_noted_no_targets() -> None:
    _native, python = _engines()
    with pytest.raises(TypeError, match="takes an Index built by this evaluator"):
        python.hits({})  # a plain dict: its target nodes were never noted


SUBCLASS_LINE = b"<http://x.org/s> <http://www.w3.org/2000/01/rdf-schema#subClassOf> <http://x.org/o> .\n"


@needs_native
@pytest.mark.parametrize("data", [*ACCEPTED, *REFUSED, SUBCLASS_LINE])
def test_index_equals_the_python_index_on_edge_cases(data: bytes) -> None:
    native, python = _engines()
    assert _index_or_why(native, data) == _index_or_why(python, data)


@needs_native
def test_index_equals_the_python_index_on_mutations(cohort_lines: list[bytes]) -> None:
    native, python = _engines()
    rnd = random.Random(3)
    lines = [line for line in cohort_lines if line.strip()] + [line for d in ACCEPTED for line in d.splitlines(keepends=True)]
    outcomes = set()
    for _ in range(3000):
        data = b"".join(_mutate(rnd, line) if rnd.random() < 0.5 else line for line in rnd.sample(lines, 3))
        expected = _index_or_why(python, data)
        outcomes.add(expected if isinstance(expected, str) else "index")
        assert _index_or_why(native, data) == expected, data
    assert {"index", "NotStrict"} <= outcomes


PLAIN_LITERALS = [b'""', b'"a"', b'"SYN-1-0000001"', b'"caf\xc3\xa9"', b'"\xff"', b'"\xed\xa0\x80"', b'"a\\"b"',
                  b'"tab\there"', b'"a"@en', b'"a"^^<http://www.w3.org/2001/XMLSchema#string>', b'"x', b'"a""']


@needs_native
@pytest.mark.parametrize("token", PLAIN_LITERALS)
def test_plain_literals_index_as_the_python_decoder_reads_them(token: bytes) -> None:
    """The C index's plain-literal fast path takes exactly the plain literals ntriples.term reads, with the same value."""
    nonce = b"%d" % random.randrange(10**12)  # a token neither the C token cache nor a memo has seen
    token = token[:1] + nonce + token[1:]
    data = b"<http://x.org/p> <http://purl.org/dc/terms/identifier> " + token + b" .\n"
    calls: list[str] = []

    def plain(text: str) -> object:
        calls.append(text)
        return ntriples.plain_literal(text)

    try:
        expected: object = term(token)
    except NotStrict:
        expected = NotStrict
    idx = Index()
    try:
        NATIVE.index(data, idx, {}, term, plain, frozenset({str(DCTERMS.identifier)}), {}, False,
                     str(RDFS.subClassOf), NotStrict, Unsupported, {}, {}, str(RDF.type))
    except NotStrict:
        assert expected is NotStrict and not calls
        return
    assert idx["http://x.org/p"][str(DCTERMS.identifier)] == [expected]
    plain_form = token.count(b'"') == 2 and token.endswith(b'"') and b"\\" not in token  # no datatype, tag or escape
    assert calls == ([expected.value] if plain_form else [])  # type: ignore[attr-defined]


@needs_native
def test_fast_terms_are_what_the_python_decoder_gives() -> None:
    fast_term = _native().fast_term
    rnd = random.Random(4)
    seeds = [b"<http://x.org/a/b?c=d#e>", b"<https://w3id.org/npc-kg/patient/SYN-1/recurrence-1>", b"_:b1", b"_:a.b-c",
             b"<urn:x:y>", b"<http://x.org:8080/p>", b"<http://[::1]/p>", b"<http://x.org/%41>", b"<http://u@x.org/>"]
    fast = slow = 0
    for _ in range(20000):
        token = _mutate(rnd, rnd.choice(seeds), edits=2)
        got = fast_term(token)
        if got is None:
            slow += 1
            continue
        fast += 1
        assert got == term(token), token  # term() raises NotStrict if pyoxigraph would not read it so
    assert fast > 1000 and slow > 1000


# -- signatures (C and Python) and verdicts ------------------------------------------------------------

@needs_native
def test_signatures_and_verdicts_equal_the_python_engine(tmp_path: Path) -> None:
    synth(600, 9, tmp_path / "c.nt", error_rate=0.2, syntax_errors=False)
    native, python = _engines()
    assert native.native is NATIVE and python.native is None
    assert native.linked.sid.func is NATIVE.sid and native.linked.focus_key.func is NATIVE.focus_key  # signed in C
    assert not isinstance(python.linked.sid, functools.partial)  # signed in Python
    rows = 0
    for batch in iter_batches(tmp_path / "c.nt", batch_size=100):
        got = _rows(native, native.index_strict(batch.data), batch.roots)
        expected = _rows(python, python.index_strict(batch.data), batch.roots)
        assert got == expected
        assert native.linked.interned == python.linked.interned  # the same memo keys, in the same order
        assert native.linked.shallow == python.linked.shallow
        assert native.linked.behaviours == python.linked.behaviours
        rows += len(got)
    assert rows == 600


@needs_native
def test_a_cycle_falls_back_to_node_keys_natively() -> None:
    data = (b"<http://x.org/p1> <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> <https://w3id.org/npc-kg/Patient> .\n"
            b"<http://x.org/p1> <https://w3id.org/npc-kg/hasFinding> <http://x.org/f1> .\n"
            b"<http://x.org/f1> <https://w3id.org/npc-kg/hasFinding> <http://x.org/p1> .\n")
    native, python = _engines()
    assert _rows(native, native.index_strict(data)) == _rows(python, python.index_strict(data))


@needs_native
def test_a_chain_deeper_than_the_recursion_limit_is_still_assessed() -> None:
    """Signatures recurse along the data; past Python's recursion limit both engines fall back to node keys."""
    lines = [b"<http://x.org/p1> <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> <https://w3id.org/npc-kg/Patient> ."]
    previous = b"http://x.org/p1"
    for i in range(3 * sys.getrecursionlimit()):
        lines.append(b"<%s> <https://w3id.org/npc-kg/hasFinding> <http://x.org/f%d> ." % (previous, i))
        previous = b"http://x.org/f%d" % i
    data = b"\n".join(lines) + b"\n"
    native, python = _engines()
    got = _rows(native, native.index_strict(data))
    assert got == _rows(python, python.index_strict(data))
    assert [row.verdict for row in got] == ["error"]  # the chained "findings" break the patient model


@needs_native
def test_native_signatures_refuse_a_wrong_state() -> None:
    for call in (NATIVE.sid, NATIVE.focus_key):
        with pytest.raises(TypeError, match="state tuple"):
            call((), {}, "http://x.org/a")
        with pytest.raises(TypeError, match="state tuple"):
            call((None,) * 10, [], "http://x.org/a")


@needs_native
def test_native_signatures_stop_at_their_own_depth_whatever_the_recursion_limit() -> None:
    """A deep query's parse raises the recursion limit to 20,000 for a while; C signatures must not follow it down
    the C stack: past their own depth they raise RecursionError, and the rows come from node keys, as in Python."""
    lines = [b"<http://x.org/p1> <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> <https://w3id.org/npc-kg/Patient> ."]
    previous = b"http://x.org/p1"
    for i in range(5000):
        lines.append(b"<%s> <https://w3id.org/npc-kg/hasFinding> <http://x.org/f%d> ." % (previous, i))
        previous = b"http://x.org/f%d" % i
    data = b"\n".join(lines) + b"\n"
    native, python = _engines()
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(20_000)
    try:
        idx = native.index_strict(data)
        with pytest.raises(RecursionError, match="deeper than node signatures go"):
            native.linked.begin(True)
            try:
                native.linked.sid(idx, "http://x.org/p1")
            finally:
                native.linked.end()
        got = _rows(native, idx)
    finally:
        sys.setrecursionlimit(limit)
    assert got == _rows(python, python.index_strict(data))
    assert [row.verdict for row in got] == ["error"]


# -- build -------------------------------------------------------------------------------------------

def _hook() -> ModuleType:
    pytest.importorskip("hatchling")  # a test dependency
    spec = importlib.util.spec_from_file_location("hatch_build", ROOT / "hatch_build.py")
    assert spec is not None and spec.loader is not None
    hook = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(hook)
    return hook


def test_build_without_a_compiler_says_why(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    hook = _hook()
    real = sysconfig.get_config_var
    monkeypatch.setattr(sysconfig, "get_config_var",
                        lambda name: "no-such-compiler-npc-kg -shared" if name == "LDSHARED" else real(name))
    problem = hook.compile_extension(SOURCE, tmp_path / "x.so")
    assert problem is not None and "no C compiler" in problem
    assert not (tmp_path / "x.so").exists()


def test_build_hook_compiles_an_importable_module(tmp_path: Path) -> None:
    if NATIVE is None:
        pytest.skip("no C compiler here")  # CI has one: NATIVE is asserted there
    hook = _hook()
    target = tmp_path / ("_ntscan" + (sysconfig.get_config_var("EXT_SUFFIX") or ".so"))
    assert hook.compile_extension(SOURCE, target) is None
    spec = importlib.util.spec_from_file_location("_ntscan", target)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.fast_term(b"_:b1") == "_:b1"

