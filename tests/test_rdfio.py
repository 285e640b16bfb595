"""Safe parsing: errors name file and line, never quote the input, never reach the network."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from npc_kg.errors import InputError
from npc_kg.rdfio import parse_text

SECRET = "Zhang-San-1957"


@pytest.mark.parametrize(
    ("fmt", "text", "line"),
    [
        ("turtle", f'@prefix ex: <http://e/> .\nex:a ex:b "{SECRET}" ex:c .\n', 2),
        ("nt", f'<http://e/a> <http://e/b> "x" .\n<http://e/a> <http://e/b> "{SECRET}" oops .\n', 2),
        ("nquads", f'<http://e/a> <http://e/b> "{SECRET}" <http://e/g> junk .\n', 1),
    ],
)
def test_syntax_error_names_line_but_not_the_value(fmt: str, text: str, line: int) -> None:
    with pytest.raises(InputError) as caught:
        parse_text(text, fmt, where="patients.x")
    message = str(caught.value)
    assert re.match(rf"patients\.x:{line}(:\d+)?: cannot parse {fmt}", message), message
    assert SECRET not in message


def test_rdfxml_entities_are_refused() -> None:
    xml = '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaa">]><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"/>'
    with pytest.raises(InputError, match="entity expansion"):
        parse_text(xml, "xml", where="x.rdf")


def test_remote_jsonld_context_is_refused() -> None:
    with pytest.raises(InputError, match="remote JSON-LD @context"):
        parse_text('{"@context": "https://example.org/ctx.jsonld", "@id": "http://e/a"}', "json-ld")


def test_a_folder_or_a_missing_file_is_named_before_its_extension(tmp_path: Path) -> None:
    from npc_kg.rdfio import parse_file

    with pytest.raises(InputError, match="is a directory, not an RDF file"):
        parse_file(tmp_path)
    with pytest.raises(InputError, match="no such file"):
        parse_file(tmp_path / "no-extension")


@pytest.mark.parametrize(("message", "problem"), [
    ("Parser error between line 2 column 50 and line 3 column 1: Unexpected end of file (bad.nt, line 2)",
     "Unexpected end of file"),
    ("Parser error at line 2 column 5: Unexpected end of file", "Unexpected end of file"),
    ("Parser error at line 2 between columns 3 and 9: Invalid IRI code point", "Invalid IRI code point"),
])
def test_pyoxigraph_positions_leave_no_fragment(message: str, problem: str) -> None:
    from npc_kg.rdfio import withhold_input

    assert withhold_input(message) == problem
