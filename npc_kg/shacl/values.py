"""Value-node tests as pySHACL judges them, shared by the compiled evaluators.

A value is an *index term*: an IRI is its string, a blank node ``_:label``, a literal a
``pyoxigraph.Literal``. A literal is judged as the reference path reads it: parsed by rdflib (which
normalises its lexical form, ``"01"^^xsd:integer`` reads ``"1"``), then rebuilt from that lexical
form (:func:`npc_kg.shacl.reference.validate`); :func:`canonical` is that literal as a pyoxigraph
term, so two literals the reference reads as one term are one term here too. The tests follow
pySHACL's rules (``DatatypeConstraintComponent``, ``compare_literal``, ...). rdflib's conversion
warnings, which quote the value, are silenced: no patient value reaches a log.

:data:`VALUE_TESTS` has one entry per value-level constraint kind of the plan
(:mod:`npc_kg.shacl.plan`): kind -> builder of a test ``value -> bool``. The closure evaluator
applies them to every value; the SPARQL evaluator applies them to literals in Python and gives
the store the answers (:mod:`npc_kg.shacl.sparql`), because a store re-encodes literals.
"""

from __future__ import annotations

import datetime
import logging
import re
import warnings
from collections.abc import Callable
from typing import Any

import pyoxigraph as ox
from rdflib import RDF, RDFS, XSD, BNode, Literal, URIRef

from npc_kg.rdfio import literals_as_written
from npc_kg.sparql.terms import to_oxigraph

__all__ = ["VALUE_TESTS", "canonical", "node_key", "plan_literal", "plan_term", "reference_literal", "text", "value_test"]

_XSD = str(XSD)
_XSD_STRING = _XSD + "string"
_MEMO_LIMIT = 200_000
_RDFLIB_LOG = logging.getLogger("rdflib.term")

Test = Callable[[Any], bool]

_READ: dict[ox.Literal, Literal] = {}
_CANONICAL: dict[ox.Literal, ox.Literal] = {}


def reference_literal(value: ox.Literal) -> Literal:
    """The literal as the reference path reads it: parsed by rdflib, then rebuilt from its lexical form."""
    found = _READ.get(value)
    if found is None:
        if len(_READ) > _MEMO_LIMIT:
            _READ.clear()
        found = _READ[value] = _read(value)
    return found


def _read(value: ox.Literal) -> Literal:
    disabled, _RDFLIB_LOG.disabled = _RDFLIB_LOG.disabled, True  # rdflib's log records quote the value
    with warnings.catch_warnings(), literals_as_written():  # its warnings quote it too ("weird boolean")
        warnings.simplefilter("ignore")
        try:
            if value.language:
                return Literal(value.value, lang=value.language)
            datatype = value.datatype.value
            if datatype == _XSD_STRING:
                return Literal(value.value)
            parsed = Literal(value.value, datatype=URIRef(datatype))
            return Literal(str(parsed), datatype=URIRef(datatype))
        finally:
            _RDFLIB_LOG.disabled = disabled


def canonical(value: ox.Literal) -> ox.Literal:
    """``value`` as the reference reads it, as a pyoxigraph literal (memoised)."""
    if not value.language and value.datatype.value == _XSD_STRING:
        return value  # rdflib keeps a string's lexical form: the common case costs nothing
    found = _CANONICAL.get(value)
    if found is None:
        if len(_CANONICAL) > _MEMO_LIMIT:
            _CANONICAL.clear()
        lit = reference_literal(value)
        if lit.language:
            found = ox.Literal(str(lit), language=lit.language)
        else:
            found = ox.Literal(str(lit), datatype=ox.NamedNode(str(lit.datatype or _XSD_STRING)))
        _CANONICAL[value] = found
    return found


def node_key(node: Any) -> Any:
    """An rdflib or pyoxigraph term as an index term: an IRI its string, a blank node ``_:label``, a literal canonical."""
    kind = type(node)
    if kind is ox.NamedNode:
        return node.value
    if kind is ox.BlankNode:
        return "_:" + node.value
    if kind is ox.Literal:
        return canonical(node)
    if isinstance(node, URIRef):
        return str(node)
    if isinstance(node, BNode):
        return f"_:{node}"
    if isinstance(node, Literal):
        return canonical(to_oxigraph(node))  # type: ignore[arg-type]
    return node


def plan_term(term: Any) -> Any:
    """A plan term (:mod:`npc_kg.shacl.plan`) as an index term: an IRI stays a string, a literal is canonical."""
    if isinstance(term, str):
        return term
    _kind, lexical, datatype, language = term
    if language:
        return canonical(ox.Literal(lexical, language=language))
    return canonical(ox.Literal(lexical, datatype=ox.NamedNode(datatype or _XSD_STRING)))


def plan_literal(term: Any) -> Literal:
    """A plan literal as an rdflib literal (a bound of a range constraint)."""
    _kind, lexical, datatype, language = term
    return Literal(lexical, lang=language) if language else Literal(lexical, datatype=URIRef(datatype) if datatype else None)


def _is_iri(value: Any) -> bool:
    return type(value) is str and not value.startswith("_:")


def _is_blank(value: Any) -> bool:
    return type(value) is str and value.startswith("_:")


def text(value: Any) -> str | None:
    """The string pySHACL's string-based constraints read (None for a blank node)."""
    if type(value) is str:
        return None if value.startswith("_:") else value
    return str(reference_literal(value))


# ---------------------------------------------------------------------------------------------
# pySHACL's rules
# ---------------------------------------------------------------------------------------------

_ACTUAL: dict[str, Callable[[Any], bool]] = {
    _XSD_STRING: lambda x: isinstance(x, str | bytes),
    str(RDF.langString): lambda x: isinstance(x, str | bytes),
    _XSD + "integer": lambda x: isinstance(x, int),
    _XSD + "float": lambda x: isinstance(x, float),
    _XSD + "decimal": lambda x: type(x).__name__ == "Decimal",
    _XSD + "boolean": lambda x: isinstance(x, bool),
    _XSD + "date": lambda x: isinstance(x, datetime.date),
    _XSD + "time": lambda x: isinstance(x, datetime.time),
    _XSD + "dateTime": lambda x: isinstance(x, datetime.datetime),
}
"""pySHACL's ``DatatypeConstraintComponent._assert_actual_datatype``."""


def _actual_datatype(value: Literal, rule: str) -> bool:
    check = _ACTUAL.get(rule)
    return True if check is None else check(value.value)


def _datatype_ok(value: ox.Literal, rule: str) -> bool:
    """pySHACL's ``sh:datatype`` test of one literal."""
    lit = reference_literal(value)
    datatype = str(lit.datatype) if lit.datatype is not None else None
    if datatype == rule:
        return getattr(lit, "ill_typed", None) is not True and _actual_datatype(lit, rule)
    if rule == str(RDFS.Literal):
        return True
    if rule == str(RDFS.Datatype) and datatype:
        return True
    if datatype is None and lit.language is None and rule == _XSD_STRING:
        return _actual_datatype(lit, rule)
    if rule == str(RDF.langString) and lit.language:
        return _actual_datatype(lit, rule)
    return False


def _compare(left: Literal, right: Literal) -> int:
    """pySHACL's ``compare_literal`` (may raise TypeError / NotImplementedError)."""
    if left.eq(right):
        return 0
    if left.value.__class__ in (datetime.datetime, datetime.time):
        if left.value == right.value:
            return 0
        if left.value > right.value:
            return 1
    elif left > right:
        return 1
    return -1


_RANGES: dict[str, Callable[[int], bool]] = {
    "minInclusive": lambda c: c >= 0, "minExclusive": lambda c: c > 0,
    "maxInclusive": lambda c: c <= 0, "maxExclusive": lambda c: c < 0,
}


def _range_ok(value: ox.Literal, bound: Literal, kind: str) -> bool:
    """pySHACL's min/max inclusive/exclusive test of one literal."""
    lit = reference_literal(value)
    disabled, _RDFLIB_LOG.disabled = _RDFLIB_LOG.disabled, True
    try:
        if isinstance(bound.value, str) != isinstance(lit.value, str):
            return False
        try:
            return _RANGES[kind](_compare(lit, bound))
        except (TypeError, NotImplementedError):
            return False
    finally:
        _RDFLIB_LOG.disabled = disabled


def _literal_only(test: Callable[[ox.Literal], bool]) -> Test:
    """False for IRIs and blank nodes, ``test`` (memoised) for literals."""
    memo: dict[ox.Literal, bool] = {}

    def check(value: Any) -> bool:
        if type(value) is str:
            return False
        answer = memo.get(value)
        if answer is None:
            if len(memo) > _MEMO_LIMIT:
                memo.clear()
            answer = memo[value] = test(value)
        return answer

    return check


# ---------------------------------------------------------------------------------------------
# The table: constraint kind -> test builder
# ---------------------------------------------------------------------------------------------


def _datatype(c: tuple[Any, ...]) -> Test:
    rule = c[1]
    return _literal_only(lambda v: _datatype_ok(v, rule))


_NODE_KIND_TESTS: dict[str, Test] = {
    "IRI": _is_iri, "BlankNode": _is_blank, "Literal": lambda v: type(v) is not str,
    "BlankNodeOrIRI": lambda v: type(v) is str, "BlankNodeOrLiteral": lambda v: not _is_iri(v),
    "IRIOrLiteral": lambda v: not _is_blank(v),
}


def _node_kind(c: tuple[Any, ...]) -> Test:
    return _NODE_KIND_TESTS[c[1]]


def _in(c: tuple[Any, ...]) -> Test:
    members = frozenset(plan_term(t) for t in c[1])
    return lambda v: (v if type(v) is str else canonical(v)) in members


def _range(c: tuple[Any, ...]) -> Test:
    kind, bound = c[0], plan_literal(c[1])
    return _literal_only(lambda v: _range_ok(v, bound, kind))


def _min_length(c: tuple[Any, ...]) -> Test:
    limit = c[1]
    return lambda v: (t := text(v)) is not None and len(t) >= limit


def _max_length(c: tuple[Any, ...]) -> Test:
    limit = c[1]
    return lambda v: (t := text(v)) is not None and len(t) <= limit


def _pattern(c: tuple[Any, ...]) -> Test:
    flags = 0
    for letter, flag in (("i", re.IGNORECASE), ("m", re.MULTILINE), ("s", re.DOTALL), ("x", re.VERBOSE)):
        if letter in c[2]:
            flags |= flag
    regex = re.compile(c[1], flags)
    return lambda v: (t := text(v)) is not None and regex.search(t) is not None


def _language_in(c: tuple[Any, ...]) -> Test:
    languages = c[1]

    def language_ok(v: Any) -> bool:
        if type(v) is str or not v.language:
            return False
        lang = v.language.lower()
        return any(lang == x or lang.startswith(x + "-") or x == "*" for x in languages)

    return language_ok


VALUE_TESTS: dict[str, Callable[[tuple[Any, ...]], Test]] = {
    "datatype": _datatype,
    "nodeKind": _node_kind,
    "in": _in,
    **dict.fromkeys(_RANGES, _range),
    "minLength": _min_length,
    "maxLength": _max_length,
    "pattern": _pattern,
    "languageIn": _language_in,
}
"""The value-level constraint kinds: each value node must pass the test on its own."""


def value_test(constraint: tuple[Any, ...]) -> Test:
    """The test a value must pass for ``constraint`` (a value-level kind of :data:`VALUE_TESTS`)."""
    return VALUE_TESTS[constraint[0]](constraint)
