"""The strict N-Triples reader gives exactly pyoxigraph's terms, or gives up (never a different answer).

The property checked everywhere: for any input, :func:`strict_triples` either raises
:class:`NotStrict` or yields the same triples as pyoxigraph's parser (which then accepts the
input). Checked on a synthetic cohort, on hand-picked edge cases, and on thousands of random
mutations of valid lines.
"""

from __future__ import annotations

import random
from pathlib import Path

import pyoxigraph as ox
import pytest

from npc_kg.cohort.ntriples import NotStrict, strict_triples
from npc_kg.cohort.synth import synth
from npc_kg.shacl.closures import index_terms


def _reference(data: bytes) -> list[tuple[str, str, object]] | None:
    """pyoxigraph's triples as index terms, or None if it rejects the data."""
    try:
        return list(index_terms(ox.parse(input=data, format=ox.RdfFormat.N_TRIPLES)))
    except (SyntaxError, ValueError):
        return None


def _strict(data: bytes) -> list[tuple[str, str, object]] | None:
    try:
        return list(strict_triples(data))
    except NotStrict:
        return None


def test_a_synthetic_cohort_reads_exactly_as_pyoxigraph_reads_it(tmp_path: Path) -> None:
    synth(200, 3, tmp_path / "c.nt", error_rate=0.3, syntax_errors=False)  # ill-typed literals included
    data = (tmp_path / "c.nt").read_bytes()
    got = _strict(data)
    assert got is not None, "npc-kg synth writes the strict layout"
    assert got == _reference(data)
    assert any(type(o) is ox.Literal for _s, _p, o in got)


ACCEPTED = [
    b'<http://x.org/s> <http://x.org/p> <http://x.org/o> .\n',
    b'<http://x.org/s> <http://x.org/p> "a b . c" .\n',
    b'<http://x.org/s> <http://x.org/p> "Hello"@EN-gb .\n',
    b'<http://x.org/s> <http://x.org/p> "x"^^<http://www.w3.org/2001/XMLSchema#string> .\n',
    b'<http://x.org/s> <http://x.org/p> "abc"^^<http://www.w3.org/2001/XMLSchema#integer> .\n',
    b'_:b1 <http://x.org/p> _:b-2.x .\n',
    '<http://x.org/s\u00e9> <http://x.org/p> "caf\u00e9 \u4e2d" .\n'.encode(),
    b'\n<http://x.org/s> <http://x.org/p> "" .\n\n',
]


@pytest.mark.parametrize("data", ACCEPTED)
def test_strict_lines_give_pyoxigraphs_terms(data: bytes) -> None:
    expected = _reference(data)
    assert expected is not None
    assert _strict(data) == expected


REFUSED = [
    b'# a comment\n',
    b'<http://x.org/s>\t<http://x.org/p> <http://x.org/o> .\n',  # tab
    b'<http://x.org/s> <http://x.org/p> <http://x.org/o>.\n',  # no space before the dot
    b'<http://x.org/s> <http://x.org/p> <http://x.org/o> .\r\n',  # CRLF
    b'<http://x.org/s> <http://x.org/p> "a\\"b" .\n',  # escape in a literal
    b'<http://x.org/s\\u0041> <http://x.org/p> "a" .\n',  # escape in an IRI
    b'<s> <http://x.org/p> "a" .\n',  # relative IRI
    b'<http://x.org/{s}> <http://x.org/p> "a" .\n',  # character N-Triples forbids
    b'<http://x.org/s> <http://x.org/p> "a"^^<http://www.w3.org/1999/02/22-rdf-syntax-ns#langString> .\n',
    b'<< <http://x.org/s> <http://x.org/p> "a" >> <http://x.org/p> "b" .\n',  # RDF-star
    b'"a" <http://x.org/p> "b" .\n',  # literal subject
    b'<http://x.org/s> _:p "b" .\n',  # blank node predicate
    b'<http://x.org/s> <http://x.org/p> "\xff" .\n',  # not UTF-8
    b'<http://x.org/s> <http://x.org/p> "a" . # trailing comment\n',
    b'<http://x.org/s> <http://x.org/p> "a" <http://x.org/g> .\n',  # a quad
]


@pytest.mark.parametrize("data", REFUSED)
def test_anything_else_is_left_to_pyoxigraph(data: bytes) -> None:
    with pytest.raises(NotStrict):
        list(strict_triples(data))


def test_random_mutations_never_read_differently_from_pyoxigraph() -> None:
    rnd = random.Random(11)
    alphabet = [b" ", b"\t", b'"', b"<", b">", b"\\", b"@", b"^", b".", b"_", b":", b"#", b"{", b"%", b"-", b"a",
                b"1", "\u00e9".encode(), b"\xff", b"\n"]
    lines = [line for data in ACCEPTED for line in data.splitlines(keepends=True) if line.strip()]
    accepted = refused = 0
    for _ in range(4000):
        line = bytearray(rnd.choice(lines))
        for _ in range(rnd.randint(1, 3)):
            at = rnd.randrange(len(line) + 1)
            if rnd.random() < 0.3 and at < len(line):
                del line[at]
            else:
                line[at:at] = rnd.choice(alphabet)
        data = bytes(line)
        got = _strict(data)
        if got is None:
            refused += 1
            continue
        accepted += 1
        assert got == _reference(data), data
    assert accepted > 100 and refused > 100  # both sides of the property were exercised
