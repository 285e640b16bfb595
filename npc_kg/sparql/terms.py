"""Write RDF terms as SPARQL/N-Triples text, and bind parameters with a ``VALUES`` block.

Used only where a term must travel as text (a remote endpoint): every term is validated and
escaped here, so a parameter value can never close a string or an IRI and change the query.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import pyoxigraph as ox
from rdflib import BNode, Literal, URIRef
from rdflib.term import Node

from npc_kg.errors import QueryError

__all__ = ["IRI_FORBIDDEN", "from_oxigraph", "inject_values", "sparql_term", "to_oxigraph"]

IRI_FORBIDDEN = re.compile(r'[\x00-\x20<>"{}|^`\\]')
"""Characters an IRI may not hold in N-Triples, Turtle or SPARQL (IRIREF)."""
_LANG = re.compile(r"^[A-Za-z]+(-[A-Za-z0-9]+)*$")
_BNODE_BAD = re.compile(r"[^A-Za-z0-9_]")
_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b", "\f": "\\f"}


def _escape(text: str) -> str:
    return "".join(_ESCAPES.get(char, char) for char in text)


def _iri(value: str) -> str:
    if IRI_FORBIDDEN.search(value):
        raise QueryError(f"not a valid IRI: {value!r}")
    return f"<{value}>"


def sparql_term(term: Node) -> str:
    """Return ``term`` as SPARQL / N-Triples text: ``<iri>``, ``"lexical"^^<datatype>``, ``"text"@lang``, ``_:id``."""
    if isinstance(term, URIRef):
        return _iri(str(term))
    if isinstance(term, BNode):
        return "_:b" + _BNODE_BAD.sub("_", str(term))
    if isinstance(term, Literal):
        text = f'"{_escape(str(term))}"'
        if term.language:
            if not _LANG.match(term.language):
                raise QueryError(f"not a valid language tag: {term.language!r}")
            return f"{text}@{term.language}"
        if term.datatype is not None:
            return f"{text}^^{_iri(str(term.datatype))}"
        return text
    raise QueryError(f"cannot write {term!r} as an RDF term")


_IRIREF = re.compile(r'<[^<>"{}|^`\\\x00-\x20]*>')
_WORD = re.compile(r"[A-Za-z_]+")


def _where_brace(query: str) -> int:
    """Index of the ``{`` that opens the outermost WHERE group (skips comments, strings, IRIs)."""
    i, n = 0, len(query)
    seen_where = False
    first_word: str | None = None
    while i < n:
        char = query[i]
        if char == "#":
            end = query.find("\n", i)
            i = n if end < 0 else end + 1
            continue
        if char in "\"'":
            quote = query[i : i + 3] if query[i : i + 3] in ('"""', "'''") else char
            j = i + len(quote)
            while j < n and query[j : j + len(quote)] != quote:
                j += 2 if query[j] == "\\" else 1
            i = j + len(quote)
            continue
        if char == "<":
            match = _IRIREF.match(query, i)
            if match:
                i = match.end()
                continue
        if char == "?" or char == "$":
            match = _WORD.match(query, i + 1)
            i = match.end() if match else i + 1
            continue
        if char.isalpha():
            match = _WORD.match(query, i)
            assert match is not None
            word = match.group(0).upper()
            if word in ("SELECT", "ASK", "CONSTRUCT", "DESCRIBE") and first_word is None:
                first_word = word
            if word == "WHERE":
                seen_where = True
            i = match.end()
            continue
        if char == "{" and (seen_where or first_word in ("SELECT", "ASK", "DESCRIBE")):
            return i
        i += 1
    raise QueryError("cannot find the WHERE clause to bind parameters into")


def inject_values(query: str, bindings: Mapping[str, Node]) -> str:
    """Return ``query`` with ``VALUES (?a ?b) { (<t1> "t2") }`` opening its WHERE group.

    This is how parameters reach a remote endpoint: terms are written by :func:`sparql_term`
    (validated, escaped); a value is never pasted into the query as raw text.
    """
    if not bindings:
        return query
    names = list(bindings)
    for name in names:
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            raise QueryError(f"not a valid variable name: {name!r}")
    head = " ".join(f"?{name}" for name in names)
    row = " ".join(sparql_term(bindings[name]) for name in names)
    at = _where_brace(query) + 1
    return f"{query[:at]}\n  VALUES ({head}) {{ ({row}) }}\n{query[at:]}"


def to_oxigraph(term: Node) -> ox.NamedNode | ox.BlankNode | ox.Literal:
    """Convert an rdflib term to a pyoxigraph term."""
    if isinstance(term, URIRef):
        return ox.NamedNode(str(term))
    if isinstance(term, BNode):
        return ox.BlankNode(str(term))
    if isinstance(term, Literal):
        if term.language:
            return ox.Literal(str(term), language=term.language)
        if term.datatype is not None:
            return ox.Literal(str(term), datatype=ox.NamedNode(str(term.datatype)))
        return ox.Literal(str(term))
    raise QueryError(f"cannot bind {term!r}: not an IRI, blank node or literal")


def from_oxigraph(term: object) -> Node | None:
    """Convert a pyoxigraph term (or None) to an rdflib term."""
    if term is None:
        return None
    if isinstance(term, ox.NamedNode):
        return URIRef(term.value)
    if isinstance(term, ox.BlankNode):
        return BNode(term.value)
    if isinstance(term, ox.Literal):
        if term.language:
            return Literal(term.value, lang=term.language)
        return Literal(term.value, datatype=URIRef(term.datatype.value))
    raise QueryError(f"unsupported result term {term!r}")
