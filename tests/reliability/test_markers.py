"""No patient value on stderr, in logs, in warnings or in error messages (issue 15 item 7).

A marker string stands for a patient value and is planted in every kind of bad input ``assess``
takes: IRIs, literals, datatypes, JSON-LD keys and values, RDF/XML attributes and text,
N-Triples, dict keys and values (what a CSV cell becomes through the dict API). Each input is
given to the API and to the CLI; the marker must appear nowhere but in legitimate output.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import pytest

import npc_kg
from npc_kg.cli import main
from npc_kg.errors import NpcKgError

from .conftest import MARKER

M = MARKER
TTL_HEAD = ("@prefix npc: <https://w3id.org/npc-kg/> .\n@prefix ex: <https://example.org/p/> .\n"
            "@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .\n")
PATIENT = "ex:p a npc:Patient ; npc:radiotherapyCourses 1"
RDF_HEAD = ('<?xml version="1.0"?>\n<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
            'xmlns:npc="https://w3id.org/npc-kg/">\n')

FILES = {
    "iri-space.ttl": TTL_HEAD + f"<https://example.org/{M} x> a npc:Patient .\n",
    "iri-brace.ttl": TTL_HEAD + f"<https://example.org/{{{M}}}> a npc:Patient .\n",
    "iri-quote.ttl": TTL_HEAD + f'<https://example.org/"{M}"> a npc:Patient .\n',
    "ill-typed.ttl": TTL_HEAD + f'{PATIENT} ; npc:age "{M}"^^xsd:integer .\n',
    "bad-datatype.ttl": TTL_HEAD + f'{PATIENT} ; npc:age "1"^^<{M}> .\n',
    "bad-language.ttl": TTL_HEAD + f'{PATIENT} ; npc:age "1"@{M}-{M}x{M} .\n',
    "bad-escape.ttl": TTL_HEAD + f'{PATIENT} ; npc:age "{M}\\uD800" .\n',
    "unknown-prefix.ttl": TTL_HEAD + f"{PATIENT} ; npc:age {M}:x .\n",
    "literal-subject.ttl": TTL_HEAD + f'"{M}" a npc:Patient .\n',
    "unterminated.ttl": TTL_HEAD + f'{PATIENT} ; npc:age "{M}\n',
    "bad-line.nt": f'<https://example.org/p> <https://w3id.org/npc-kg/age> "{M}"\n',
    "bad-iri.nt": f"<https://example.org/{M} x> <https://w3id.org/npc-kg/age> \"1\" .\n",
    "json-key.jsonld": f'{{"@id": "https://example.org/p", "@type": "https://w3id.org/npc-kg/Patient", "{M}": 1, '
                       f'"https://w3id.org/npc-kg/age": {{"@value": "{M}", "@type": "http://www.w3.org/2001/XMLSchema#integer"}}}}',
    "json-id.jsonld": f'{{"@id": "https://example.org/{M} x", "@type": "https://w3id.org/npc-kg/Patient"}}',
    "json-broken.jsonld": f'{{"@id": "https://example.org/p", "{M}": [1, 2',
    "json-context.jsonld": f'{{"@context": {{"@vocab": "{M}:"}}, "@id": "https://example.org/p", "{M}": 1}}',
    "xml-relative.rdf": RDF_HEAD + f'<npc:Patient rdf:about="{M}"/>\n</rdf:RDF>\n',
    "xml-broken.rdf": RDF_HEAD + f'<npc:Patient rdf:about="https://example.org/p"><npc:age>{M}</npc:ag>\n</rdf:RDF>\n',
    "xml-literal.rdf": RDF_HEAD + '<npc:Patient rdf:about="https://example.org/p"><npc:radiotherapyCourses>1'
                       '</npc:radiotherapyCourses><npc:age rdf:datatype="http://www.w3.org/2001/XMLSchema#integer">'
                       f'{M}</npc:age></npc:Patient>\n</rdf:RDF>\n',
}

DICTS = {
    "unknown-key": {"id": "P-1", M: 1},
    "ill-typed-age": {"id": "P-1", "age": M, "radiotherapy_courses": 1},
    "unknown-finding": {"id": "P-1", "findings": {M: "present"}},
    "unknown-status": {"id": "P-1", "findings": {"cranial_nerve_palsy": M}},
    "unknown-site": {"id": "P-1", "recurrences": [{"site": M, "kind": "recurrence"}]},
    "record-key": {"id": "P-1", "recurrences": [{M: "local"}]},
    "not-a-list": {"id": "P-1", "recurrences": M},
}


def _everything(caplog: pytest.LogCaptureFixture, caught: list[warnings.WarningMessage], *texts: str) -> str:
    return "\n".join([caplog.text, *(str(w.message) for w in caught), *texts])


def _api(source: object, caplog: pytest.LogCaptureFixture) -> str:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            found = npc_kg.assess(source)  # type: ignore[arg-type]
            message = ""
        except NpcKgError as error:
            found = []
            message = str(error) + "\n".join(getattr(error, "errors", []))
    text = _everything(caplog, caught, message)
    for assessment in found:  # an answer: its messages are output, but quote no value either
        text += "\n".join(str(row.get("message", "")) for row in assessment.to_dict().get("criteria", []))
    return text


@pytest.mark.parametrize("name", sorted(FILES))
def test_marker_never_leaks_from_a_file(name: str, tmp_path: Path, caplog: pytest.LogCaptureFixture,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    caplog.set_level(logging.DEBUG)
    path = tmp_path / name
    path.write_bytes(FILES[name].encode("utf-8", "surrogatepass"))
    assert M not in _api(path, caplog)
    caplog.clear()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        code = main(["assess", str(path), "--format", "json"])
    _out, err = capsys.readouterr()
    assert code in (0, 2, 3), err
    assert "internal error" not in err
    assert M not in _everything(caplog, caught, err)


@pytest.mark.parametrize("name", sorted(DICTS))
def test_marker_never_leaks_from_a_dict(name: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    assert M not in _api(DICTS[name], caplog)


@pytest.mark.parametrize("name", ["iri-space.ttl", "ill-typed.ttl", "literal-subject.ttl", "json-key.jsonld"])
def test_marker_never_leaks_from_text(name: str, caplog: pytest.LogCaptureFixture) -> None:
    """The same inputs given as text (Turtle or JSON-LD), not as a path."""
    caplog.set_level(logging.DEBUG)
    assert M not in _api(FILES[name], caplog)
