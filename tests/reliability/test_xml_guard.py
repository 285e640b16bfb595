"""The RDF/XML guard covers the whole file: entity expansion is refused at every size and position.

Two layers: the whole text is scanned for ``<!DOCTYPE`` / ``<!ENTITY`` (issue 15: the old check
read only the first 64 KiB, so a 70 KB comment let a billion-laughs payload through and the run
hung), and rdflib parses RDF/XML on defusedxml's expat reader, which refuses a DTD wherever
expat meets one. Both are tested, the second without the first.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from rdflib import Graph

import npc_kg
from npc_kg.errors import InputError
from npc_kg.rdfio import parse_text

from .conftest import run_cli

RDF = 'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:npc="https://w3id.org/npc-kg/"'
BILLION_LAUGHS = ('<!DOCTYPE rdf:RDF [<!ENTITY lol "lol">'
                  + "".join(f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10 if i > 1 else "&lol;" * 10}">' for i in range(1, 10))
                  + "]>")
QUADRATIC = '<!DOCTYPE rdf:RDF [<!ENTITY a "' + "a" * 50_000 + '">]>'
BODY = (f'<rdf:RDF {RDF}><npc:Patient rdf:about="https://example.org/p/1">'
        "<npc:note>{entity}</npc:note></npc:Patient></rdf:RDF>")


def _document(payload: str, position: str, padding: int) -> str:
    """RDF/XML with the DTD ``payload`` at ``position``, after or around ``padding`` bytes of comment."""
    comment = "<!-- " + "x" * padding + " -->\n"
    head = '<?xml version="1.0"?>\n'
    use = "&lol9;" if "lol9" in payload else "&a;&a;&a;&a;&a;&a;&a;&a;"
    body = BODY.replace("{entity}", use)
    if position == "top":
        return head + payload + "\n" + comment + body
    if position == "after-comment":  # the finding of issue 15: past the first 64 KiB
        return head + comment + payload + "\n" + body
    if position == "middle":  # not well-formed there, but a parser must not get to expand it
        half = len(body) // 2
        return head + comment + body[:half] + payload + body[half:]
    return head + comment + body + "\n" + payload  # at the end


@pytest.mark.parametrize("payload", [BILLION_LAUGHS, QUADRATIC], ids=["billion-laughs", "quadratic-blowup"])
@pytest.mark.parametrize("position", ["top", "after-comment", "middle", "end"])
@pytest.mark.parametrize("padding", [0, 70_000, 1_000_000])
def test_entity_declarations_are_refused_everywhere(payload: str, position: str, padding: int) -> None:
    text = _document(payload, position, padding)
    with pytest.raises(InputError, match="<!DOCTYPE> or <!ENTITY> is refused") as info:
        parse_text(text, "xml", where="hostile.rdf")
    assert info.value.exit_code == 2
    assert info.value.line is not None  # refused before any expansion: a hang would never get here


@pytest.mark.parametrize("payload", [BILLION_LAUGHS, QUADRATIC, '<!DOCTYPE rdf:RDF SYSTEM "http://127.0.0.1:9/x.dtd">'],
                         ids=["billion-laughs", "quadratic-blowup", "external-dtd"])
def test_the_parser_itself_refuses_a_dtd(payload: str) -> None:
    """Second layer alone: rdflib's RDF/XML parser on defusedxml (the text scan bypassed)."""
    text = _document(payload, "after-comment", 70_000)
    with pytest.raises(InputError, match="refused"):
        Graph().parse(data=text, format="npc-kg-xml")


def test_utf16_xml_cannot_hide_a_declaration(tmp_path: Path) -> None:
    """A UTF-16 file is not read as UTF-8 text with the declaration hidden between NUL bytes."""
    path = tmp_path / "utf16.rdf"
    path.write_bytes(_document(BILLION_LAUGHS, "after-comment", 70_000).replace('"1.0"?', '"1.0" encoding="UTF-16"?')
                     .encode("utf-16"))
    with pytest.raises(InputError) as info:
        npc_kg.assess(path)
    assert info.value.exit_code == 2


def test_cli_refuses_billion_laughs_after_a_long_comment(tmp_path: Path) -> None:
    """The exact case of issue 15 through the command line: exit 2 and one line, no hang."""
    path = tmp_path / "laughs.rdf"
    path.write_text(_document(BILLION_LAUGHS, "after-comment", 70_000), encoding="utf-8")
    done = run_cli("assess", str(path), timeout=120)
    assert done.returncode == 2
    assert "<!DOCTYPE> or <!ENTITY> is refused" in done.stderr and done.stderr.count("\n") == 1


def test_plain_rdfxml_still_parses() -> None:
    text = '<?xml version="1.0"?>\n<!-- ' + "x" * 70_000 + " -->\n" + BODY.replace("{entity}", "fine")
    graph = parse_text(text, "xml", where="ok.rdf")
    assert len(graph) == 2
