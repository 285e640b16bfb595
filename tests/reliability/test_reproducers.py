"""Every hostile reproducer of ../shared/reliability (m-*, n-*, x-*) is a regression test.

Each one goes through ``npc-kg assess`` (exit code, one clear line, no marker) and through
``npc_kg.assess`` (npc-kg's own exception class, never a raw ValueError or RecursionError, and
no marker in the message, the log or a warning).
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import pytest

import npc_kg
from npc_kg.cli import main
from npc_kg.errors import InputError, NpcKgError, PatientModelError

from .conftest import DATA, MARKER, SHARED

EXPECTED = {
    "m-bad-escape.ttl": (2, InputError, "escape sequence"),
    "m-illtyped-int.ttl": (3, PatientModelError, "is not a valid xsd:integer"),
    "m-iri-spaces.ttl": (2, InputError, "IRI is not valid"),
    "m-literal-subject.ttl": (2, InputError, "a subject must be an IRI or a blank node"),
    "n-ctx-import.jsonld": (2, InputError, "remote JSON-LD @context"),
    "n-ctx-scoped-term.jsonld": (2, InputError, "remote JSON-LD @context"),
    "n-xml-external-dtd.rdf": (2, InputError, "<!DOCTYPE> or <!ENTITY> is refused"),
    "x-billion-laughs.rdf": (2, InputError, "<!DOCTYPE> or <!ENTITY> is refused"),
    "x-marker-bad-xml.rdf": (2, InputError, "IRI is relative"),
}
KINDS = ("m-", "n-", "x-")


def test_every_shared_reproducer_has_a_copy() -> None:
    copies = sorted(p.name for p in DATA.iterdir() if p.name.startswith(KINDS))
    assert copies == sorted(EXPECTED)
    if SHARED.is_dir():  # beside the checkout in development and in CI
        shared = sorted(p.name for p in SHARED.iterdir() if p.name.startswith(KINDS))
        assert shared, f"no reproducers in {SHARED}"
        assert set(shared) <= set(copies), f"reproducers without a regression copy: {sorted(set(shared) - set(copies))}"


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_reproducer_cli(name: str, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture) -> None:
    code, _kind, fragment = EXPECTED[name]
    caplog.set_level(logging.DEBUG)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert main(["assess", str(DATA / name)]) == code
    out, err = capsys.readouterr()
    assert fragment in err
    assert "internal error" not in err and "Traceback" not in err
    assert out == ""  # nothing assessed, nothing printed
    everything = err + caplog.text + "".join(str(w.message) for w in caught)
    assert MARKER not in everything


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_reproducer_api(name: str, caplog: pytest.LogCaptureFixture) -> None:
    _code, kind, fragment = EXPECTED[name]
    caplog.set_level(logging.DEBUG)
    with pytest.raises(NpcKgError) as info:
        npc_kg.assess(Path(DATA / name))
    assert type(info.value) is kind
    text = str(info.value) + "\n".join(getattr(info.value, "errors", []))
    assert fragment in text
    if isinstance(info.value, InputError):
        assert info.value.path == str(DATA / name)
    assert MARKER not in text + caplog.text


def test_reproducer_text_through_the_api_too() -> None:
    """The same inputs given as text (not a path) raise the same classes."""
    for name in ("m-bad-escape.ttl", "m-iri-spaces.ttl", "m-literal-subject.ttl"):
        with pytest.raises(InputError) as info:
            npc_kg.assess((DATA / name).read_text(encoding="utf-8"))
        assert info.value.line is not None and MARKER not in str(info.value)
