"""Query parameters: parse the ``# params:`` header of a ``.rq`` file and turn values into RDF terms.

A named query declares its parameters in its header, one entry per parameter, entries separated
by ``;`` (or on several ``# params:`` lines); ``none`` declares no parameter::

    # params: treatment (IRI or CURIE, default npc:Radiotherapy) — the treatment class
    # params: months (decimal, optional) — time horizon in months; outcome: IRI — the outcome

An entry is ``name (type[, default VALUE | , optional]) — meaning`` or ``name: type — meaning``
(a leading ``?`` on the name is allowed; the type is read from its first word, so ``IRI of an
npc:Patient`` is an IRI).
Types: ``IRI``/``CURIE``/``IRI or CURIE`` (an IRI; CURIEs are expanded with npc-kg's one
prefix map, :mod:`npc_kg.kg.prefixes`), or a literal type: ``string``, ``integer``, ``decimal``, ``double``, ``boolean``,
``date`` (with or without ``xsd:``). A parameter with neither a default nor ``optional`` is
required. Values are validated and converted to rdflib terms here; backends bind the terms
(``initBindings``, ``substitutions`` or a ``VALUES`` block), never formatting them into the query.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from rdflib import XSD, Literal, URIRef
from rdflib.term import Node

from npc_kg.errors import InputError, QueryError
from npc_kg.kg.prefixes import expand_term
from npc_kg.sparql.terms import IRI_FORBIDDEN

__all__ = ["ParamSpec", "expand_curie", "parse_params_header", "to_term"]

_LITERAL_TYPES: dict[str, URIRef] = {
    "string": XSD.string,
    "literal": XSD.string,
    "integer": XSD.integer,
    "int": XSD.integer,
    "decimal": XSD.decimal,
    "double": XSD.double,
    "float": XSD.double,
    "boolean": XSD.boolean,
    "bool": XSD.boolean,
    "date": XSD.date,
}
_IRI_TYPES = {"iri", "curie", "iri or curie", "curie or iri", "class", "uri"}

_ENTRY = re.compile(
    r"""^\s*\??(?P<name>[A-Za-z_][A-Za-z0-9_]*)\s*
        (?: \((?P<paren>[^)]*)\) | :\s*(?P<colon>[^—]*?) )?
        \s*(?:(?:—|--|\u2013)\s*(?P<meaning>.*))?$""",
    re.VERBOSE,
)
_ABSOLUTE_IRI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


@dataclass(frozen=True)
class ParamSpec:
    """One declared parameter of a query."""

    name: str
    kind: str
    """``"iri"`` or ``"literal"``."""
    datatype: str | None = None
    """The XSD datatype IRI of a literal parameter."""
    default: str | None = None
    optional: bool = False
    meaning: str = ""

    @property
    def required(self) -> bool:
        """True if the caller must give a value."""
        return self.default is None and not self.optional

    def describe(self) -> str:
        """One-line description for ``--list`` and ``--help``."""
        kind = "IRI or CURIE" if self.kind == "iri" else f"xsd:{str(self.datatype).rsplit('#', 1)[-1]}"
        extra = f", default {self.default}" if self.default is not None else (", optional" if self.optional else ", required")
        meaning = f" — {self.meaning}" if self.meaning else ""
        return f"{self.name} ({kind}{extra}){meaning}"


def _split_entries(text: str) -> list[str]:
    """Split on ``;`` outside parentheses."""
    entries: list[str] = []
    current: list[str] = []
    depth = 0
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")":
            depth = max(depth - 1, 0)
        if char == ";" and depth == 0:
            entries.append("".join(current))
            current = []
        else:
            current.append(char)
    entries.append("".join(current))
    return [entry.strip() for entry in entries if entry.strip()]


def _parse_type(spec: str, where: str, name: str) -> tuple[str, str | None, str | None, bool]:
    """Return (kind, datatype, default, optional) from ``IRI or CURIE, default npc:X``."""
    parts = [part.strip() for part in spec.split(",") if part.strip()]
    if not parts:
        raise QueryError(f"{where}: parameter {name!r} has no type in its # params: entry")
    type_text = parts[0].lower()
    type_text = type_text[4:] if type_text.startswith("xsd:") else type_text
    first_word = type_text.split()[0] if type_text.split() else ""
    if type_text in _IRI_TYPES or first_word in ("iri", "curie", "uri", "class"):
        kind, datatype = "iri", None
    elif first_word in _LITERAL_TYPES:
        kind, datatype = "literal", str(_LITERAL_TYPES[first_word])
    else:
        raise QueryError(f"{where}: parameter {name!r} has unknown type {parts[0]!r} (use IRI, string, integer, decimal, ...)")
    default, optional = None, False
    for part in parts[1:]:
        lowered = part.lower()
        if lowered.startswith("default "):
            default = part[len("default ") :].strip()
        elif lowered == "optional":
            optional = True
        elif lowered == "required":
            pass
        else:
            raise QueryError(f"{where}: parameter {name!r}: cannot read {part!r} (expected 'default VALUE' or 'optional')")
    return kind, datatype, default, optional


def parse_params_header(lines: list[str], where: str = "<query>") -> list[ParamSpec]:
    """Parse the text after ``# params:`` (one string per header line) into parameter specs."""
    specs: list[ParamSpec] = []
    for line in lines:
        if line.strip().lower() in ("none", "none.", "-", ""):
            continue
        for entry in _split_entries(line):
            match = _ENTRY.match(entry)
            type_text = (match.group("paren") or match.group("colon")) if match else None
            if match is None or not type_text:
                raise QueryError(f"{where}: cannot read # params: entry {entry!r} (expected 'name (type) — meaning')")
            name = match.group("name")
            kind, datatype, default, optional = _parse_type(type_text, where, name)
            meaning = (match.group("meaning") or "").strip()
            specs.append(ParamSpec(name, kind, datatype, default, optional, meaning))
    names = [spec.name for spec in specs]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise QueryError(f"{where}: parameter(s) declared twice: {', '.join(duplicates)}")
    return specs


def expand_curie(value: str, *, what: str = "value") -> URIRef:
    """Return the IRI for a CURIE (``npc:Radiotherapy``, ``mondo:0015459``), ``<iri>`` or absolute IRI; validate it.

    CURIEs are expanded with npc-kg's one prefix map (:mod:`npc_kg.kg.prefixes`), which accepts
    bioregistry's prefix synonyms and case variants; an unknown prefix is a :class:`QueryError`
    with a "did you mean" suggestion.
    """
    text = value.strip()
    if text.lower().startswith(("urn:", "mailto:", "tag:")):
        iri = text
    else:
        try:
            iri = expand_term(text)
        except InputError as error:
            raise QueryError(f"{what}: {error}") from None
    if not _ABSOLUTE_IRI.match(iri) or IRI_FORBIDDEN.search(iri):
        raise QueryError(f"{what}: {value!r} is not a CURIE with a known prefix or an absolute IRI")
    return URIRef(iri)


def to_term(spec: ParamSpec, value: Any) -> Node:
    """Convert a Python value or string to the RDF term of ``spec``'s type (raise QueryError if invalid)."""
    what = f"parameter {spec.name!r}"
    if isinstance(value, (URIRef, Literal)):
        value = str(value)
    if spec.kind == "iri":
        if not isinstance(value, str):
            raise QueryError(f"{what}: expected an IRI or CURIE, got {type(value).__name__}")
        return expand_curie(value, what=what)
    datatype = URIRef(str(spec.datatype))
    try:
        if datatype == XSD.string:
            if not isinstance(value, str):
                raise TypeError
            return Literal(value)
        if datatype == XSD.integer:
            if isinstance(value, bool) or not isinstance(value, (int, str)):
                raise TypeError
            return Literal(str(int(value)), datatype=datatype)
        if datatype == XSD.decimal:
            if isinstance(value, bool):
                raise TypeError
            number = Decimal(str(value).strip())
            if not number.is_finite():
                raise TypeError
            return Literal(format(number, "f"), datatype=datatype)
        if datatype == XSD.double:
            return Literal(repr(float(value)), datatype=datatype)
        if datatype == XSD.boolean:
            text = str(value).strip().lower()
            if text not in ("true", "false", "1", "0"):
                raise TypeError
            return Literal("true" if text in ("true", "1") else "false", datatype=datatype)
        if datatype == XSD.date:
            day = value if isinstance(value, datetime.date) else datetime.date.fromisoformat(str(value).strip())
            return Literal(day.isoformat(), datatype=datatype)
    except (TypeError, ValueError, InvalidOperation):
        pass
    else:
        raise QueryError(f"{what}: unsupported datatype {datatype}")
    kind = datatype.rsplit("#", 1)[-1]
    raise QueryError(f"{what}: {value!r} is not a valid xsd:{kind}")
