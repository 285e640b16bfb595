"""A strict, fast reader for the common form of N-Triples; anything else is left to pyoxigraph.

Writers (``npc-kg synth``, rdflib, Oxigraph, Jena riot) put each triple on one line as
``S P O .`` with single spaces. For such lines, splitting at the first two spaces gives the three
terms, and most terms (predicates, classes, status values, common literals) repeat, so each
distinct term is decoded and checked once and then memoised. This costs far less than building
pyoxigraph objects for every triple.

The reader is exact or it gives up: a term is accepted only if pyoxigraph would read it the same
way (IRIs are checked by ``pyoxigraph.NamedNode`` after the N-Triples character rules; literals
must have no escapes and a well-formed language tag or datatype IRI; blank node labels are
ASCII). Any other line (comments, tabs, escapes, RDF-star, a syntax error) raises
:class:`NotStrict`, and the caller parses the batch with pyoxigraph instead, which also reports
the errors. Terms come out as the closure evaluator's index holds them: an IRI as its string, a
blank node as ``_:label``, a literal as a ``pyoxigraph.Literal`` in its canonical form
(:func:`npc_kg.shacl.values.canonical`: as the reference reads it).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pyoxigraph as ox
from rdflib import RDF, RDFS

from npc_kg.shacl.values import canonical
from npc_kg.sparql.terms import IRI_FORBIDDEN

__all__ = ["NotStrict", "plain_literal", "strict_index", "strict_triples", "term"]

_MEMO_LIMIT = 200_000
_BLANK = re.compile(rb"_:[A-Za-z0-9_](?:[A-Za-z0-9_.\-]*[A-Za-z0-9_\-])?")
_LITERAL = re.compile(rb'"([^"\\\r\n]*)"(?:\^\^<([^>]*)>|@([a-zA-Z]+(?:-[a-zA-Z0-9]+)*))?')
_LANG_STRING = str(RDF.langString)
_SUBCLASS = str(RDFS.subClassOf)
_TYPE = str(RDF.type)


class NotStrict(Exception):
    """The data is not in the strict one-triple-per-line form: parse it with pyoxigraph."""


_TERMS: dict[bytes, Any] = {}


def _iri(text: bytes) -> str:
    try:
        value = text.decode("utf-8")
    except UnicodeDecodeError:
        raise NotStrict from None
    if IRI_FORBIDDEN.search(value):
        raise NotStrict
    try:
        ox.NamedNode(value)
    except ValueError:
        raise NotStrict from None
    return value


def term(token: bytes) -> Any:
    """The index term of one N-Triples term, or :class:`NotStrict`."""
    first = token[:1]
    if first == b"<" and token[-1:] == b">":
        return _iri(token[1:-1])
    if first == b"_":
        if not _BLANK.fullmatch(token):
            raise NotStrict
        return token.decode("ascii")
    if first == b'"':
        match = _LITERAL.fullmatch(token)
        if match is None:
            raise NotStrict
        lexical, datatype, language = match.groups()
        try:
            text = lexical.decode("utf-8")
            if language is not None:
                return canonical(ox.Literal(text, language=language.decode("ascii")))
            if datatype is not None:
                iri = _iri(datatype)
                if iri == _LANG_STRING:
                    raise NotStrict  # needs a language tag: let the parser report it
                return canonical(ox.Literal(text, datatype=ox.NamedNode(iri)))
            return plain_literal(text)
        except (UnicodeDecodeError, ValueError):
            raise NotStrict from None
    raise NotStrict


def plain_literal(text: str) -> Any:
    """The index term of a plain literal (no datatype, no language tag) whose text is ``text``, as :func:`term` gives it."""
    return canonical(ox.Literal(text))


def _memo() -> dict[bytes, Any]:
    """The memo of decoded terms, emptied first if it has grown past its bound."""
    if len(_TERMS) > _MEMO_LIMIT:
        _TERMS.clear()
    return _TERMS


def strict_index(native: Any, data: bytes, idx: Any, needed: frozenset[str], inverse: dict[str, str], every: bool,
                 unsupported: type[Exception]) -> None:
    """Fill ``idx`` (an empty ``npc_kg.shacl.closures.Index``) with the closure evaluator's index of ``data``,
    read by the C accelerator ``native`` (or raise :class:`NotStrict`).

    Equals ``ClosureEvaluator.index_terms(strict_triples(data))``, the nodes it notes included:
    the same lines are refused, and every term is decoded by :func:`term` with the same memo.
    ``inverse`` maps each inverse-indexed predicate to its ``^predicate`` key; ``unsupported``
    is raised for an ``rdfs:subClassOf`` triple the shapes do not read.
    """
    native.index(data, idx, _memo(), term, plain_literal, needed, inverse, every, _SUBCLASS, NotStrict, unsupported, idx.firsts,
                 idx.typed, _TYPE)


def strict_triples(data: bytes) -> Iterator[tuple[str, str, Any]]:
    """Yield ``(subject, predicate, object)`` index terms of N-Triples ``data``, or raise :class:`NotStrict`."""
    terms = _memo()
    for line in data.split(b"\n"):
        if not line:
            continue
        parts = line.split(b" ", 2)
        if len(parts) != 3 or line[-2:] != b" .":
            raise NotStrict
        s_token, p_token, rest = parts
        o_token = rest[:-2]
        s = terms.get(s_token)
        if s is None:
            s = terms[s_token] = term(s_token)
        p = terms.get(p_token)
        if p is None:
            p = terms[p_token] = term(p_token)
        o = terms.get(o_token)
        if o is None:
            o = terms[o_token] = term(o_token)
        if type(s) is not str or type(p) is not str or p[:2] == "_:":
            raise NotStrict
        yield s, p, o
