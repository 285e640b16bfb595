"""The plan compiled to SPARQL: one SELECT per result-producing shape, returning the focus nodes it reports.

Every unit of the plan (:mod:`npc_kg.shacl.plan`) becomes one :class:`CompiledUnit` whose query
returns exactly the focus nodes for which SHACL reports a result from that shape. Conformance
is compiled to SPARQL boolean expressions that never raise an error (comparisons wrapped in
``COALESCE(..., false)``), so ``FILTER(!conforms)`` cannot silently drop a value node the way a
naive ``FILTER NOT EXISTS`` / ``UNION`` query does:

- value-node constraints of a property shape: ``NOT EXISTS { ?x path ?v FILTER(!(c1 && c2)) }``;
- counts: ``n`` pairwise ``!sameTerm`` values (term equality, as SHACL), up to :data:`MAX_COUNT`;
- ``sh:class``: the class hierarchy of the plan is inlined as ``VALUES``, so the store (or a
  remote endpoint) needs no ontology.

A first, faster form uses joins and ``MINUS`` (:class:`_ClauseCompiler`); the ``EXISTS`` form
covers the rest. Each constraint kind has ONE entry in :data:`VALUE_EXPRESSIONS` (a condition on
one value node) or :data:`PROPERTY_EXPRESSIONS` (a condition on a focus node and its values);
the clause form uses :data:`CLAUSES` where it has an entry and the plain expression otherwise.

**Literals.** A store does not keep literals as written: Oxigraph stores ``"5"^^xsd:int`` as
``xsd:integer`` and ``"4.0"^^xsd:decimal`` as ``"4"``, merges ``"01"`` and ``"1"``, and SPARQL's
own comparisons and casts differ from SHACL's (pySHACL's) rules. So in *faithful* mode (the
evaluator's own pyoxigraph store, :mod:`npc_kg.shacl.sparql`) a literal never enters the store:
each is replaced by a stand-in IRI (:func:`stand_in`) that names the literal as the reference
reads it (:func:`npc_kg.shacl.values.canonical`), its language tag, and the answer of every
value test of the plan, computed in Python by :mod:`npc_kg.shacl.values` (the closure
evaluator's code). The queries read those answers from the IRI's text; the store only judges
what it can judge faithfully: structure, term identity and counts. For a remote endpoint,
which holds real literals, the queries use SPARQL's literal functions (*endpoint* mode), and
literals are judged as that store keeps them (documented in ``docs/cohort.md``).

Anything outside these tables (and large counts, or regular expressions whose syntax differs
between engines) makes the unit :attr:`CompiledUnit.unsupported`; the evaluator then asks
pySHACL for that unit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote

import pyoxigraph as ox
from rdflib.namespace import RDF, RDFS, XSD

from npc_kg.namespace import ENGINE
from npc_kg.shacl.plan import Plan, Unit, Unsupported
from npc_kg.shacl.values import VALUE_TESTS, canonical, plan_term, value_test

__all__ = [
    "CLAUSES",
    "LITERAL_PREFIX",
    "MAX_COUNT",
    "PROPERTY_EXPRESSIONS",
    "VALUE_EXPRESSIONS",
    "CompiledUnit",
    "LiteralTests",
    "compile_units",
    "stand_in",
    "stood_in",
]

MAX_COUNT = 4
"""Largest sh:minCount/sh:maxCount+1 compiled as pairwise-distinct values; larger falls back."""

LITERAL_PREFIX = str(ENGINE) + "literal:"
"""Stand-in IRIs of literals start with this (faithful mode); data IRIs that do are refused."""

_XSD = str(XSD)
_RDF_LANGSTRING = str(RDF.langString)
_RDFS_LITERAL = str(RDFS.Literal)
_NUMERIC = {"integer", "decimal", "float", "double", "int", "long", "short", "byte", "nonNegativeInteger",
            "positiveInteger", "negativeInteger", "nonPositiveInteger", "unsignedInt", "unsignedLong",
            "unsignedShort", "unsignedByte"}
_CASTABLE = {"boolean", "date", "dateTime", "time"}
_PYSHACL_CHECKED = {"string", "integer", "float", "decimal", "boolean", "date", "time", "dateTime"}
_PROPERTY_LEVEL = {"minCount", "maxCount", "qualified", "uniqueLang", "equals", "disjoint"}
_UNPORTABLE_REGEX = ("(?", "\\b", "\\B", "\\1", "\\A", "\\Z", "\\d", "\\w", "\\s")


@dataclass(frozen=True)
class CompiledUnit:
    """One unit of the plan and the query that finds the focus nodes it reports (None: it never reports)."""

    unit: Unit
    query: str | None
    unsupported: str | None = None


class LiteralTests:
    """The value tests of a plan, numbered: the answers a literal's stand-in IRI carries (faithful mode)."""

    def __init__(self, plan: Plan) -> None:
        kinds = sorted({c for _path, constraints in plan.shapes.values() for c in constraints if c[0] in VALUE_TESTS},
                       key=repr)
        self.index = {c: k for k, c in enumerate(kinds)}
        self.tests = [value_test(c) for c in kinds]

    def bits(self, value: ox.Literal) -> str:
        """``"1"`` or ``"0"`` per test, for a canonical literal."""
        return "".join("1" if test(value) else "0" for test in self.tests)


def stand_in(value: ox.Literal, tests: LiteralTests) -> str:
    """The stand-in IRI of a literal: its test answers, language tag and canonical N-Triples form."""
    lit = canonical(value)
    return f"{LITERAL_PREFIX}{tests.bits(lit)}:{(lit.language or '').lower()}:{quote(str(lit), safe='')}"


def stood_in(iri: str) -> ox.Literal:
    """The literal a stand-in IRI names (the inverse of :func:`stand_in`)."""
    text = unquote(iri.rsplit(":", 1)[1])
    probe = f"<{ENGINE}probe>"  # engine IRIs, never data: a triple for pyoxigraph to read the literal in
    [triple] = ox.parse(input=f"{probe} {probe} {text} .".encode(), format=ox.RdfFormat.N_TRIPLES)
    assert isinstance(triple.object, ox.Literal)
    return triple.object


def _iri(value: str) -> str:
    return f"<{value}>"


def _literal_text(lexical: str, datatype: str | None = None, language: str | None = None) -> str:
    text = lexical.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
    if language:
        return f'"{text}"@{language}'
    if datatype:
        return f'"{text}"^^<{datatype}>'
    return f'"{text}"'


def _and(parts: Iterable[str]) -> str:
    items = [p for p in parts if p != "true"]
    if not items:
        return "true"
    return " && ".join(f"({p})" for p in items)


class _Compiler:
    """The EXISTS form: boolean expressions over the plan's shapes."""

    def __init__(self, plan: Plan, tests: LiteralTests | None) -> None:
        self.plan = plan
        self.tests = tests  # None: endpoint mode (real literals)
        self.counter = 0
        self.stack: list[str] = []

    def var(self) -> str:
        self.counter += 1
        return f"?v{self.counter}"

    # -- terms and paths -------------------------------------------------------------------------
    def term(self, term: Any) -> str:
        if isinstance(term, str):
            return _iri(term)
        if self.tests is not None:
            return _iri(stand_in(plan_term(term), self.tests))
        _kind, lexical, datatype, language = term
        return _literal_text(lexical, datatype, language)

    def path(self, path: Any) -> str:
        kind = path[0]
        if kind == "pred":
            return _iri(path[1])
        if kind == "inv":
            return f"^{_iri(path[1])}"
        if kind == "seq":
            return "(" + "/".join(self.path(p) for p in path[1]) + ")"
        if kind == "alt":
            return "(" + "|".join(self.path(p) for p in path[1]) + ")"
        suffix = {"zom": "*", "oom": "+", "zoo": "?"}.get(kind)
        if suffix is None:
            raise Unsupported(f"path {kind}")
        return f"({self.path(path[1])}){suffix}"

    def classes(self, classes: Sequence[str]) -> str:
        return " ".join(_iri(c) for c in classes)

    def typed(self, v: str, classes: Sequence[str]) -> str:
        """A pattern: ``v`` is an instance of one of ``classes`` (the closure is inlined)."""
        if len(classes) == 1:
            return f" {v} a {_iri(classes[0])} ."
        t = self.var()
        return f" {v} a {t} . FILTER({t} IN ({', '.join(_iri(c) for c in classes)}))"

    # -- literals ------------------------------------------------------------------------------
    def is_literal(self, v: str) -> str:
        if self.tests is None:
            return f"isLiteral({v})"
        return f'(isIRI({v}) && STRSTARTS(STR({v}), "{LITERAL_PREFIX}"))'

    def language(self, v: str) -> str:
        """The (lower-case) language tag of a literal value ``v``."""
        if self.tests is None:
            return f"LCASE(lang({v}))"
        start = len(LITERAL_PREFIX) + len(self.tests.tests) + 2
        return f'STRBEFORE(SUBSTR(STR({v}), {start}), ":")'

    def value_test(self, c: tuple[Any, ...], v: str, native: str) -> str:
        """Faithful mode: a literal's answer from its stand-in IRI, ``native`` for other values."""
        if self.tests is None:
            return native
        bit = len(LITERAL_PREFIX) + self.tests.index[c] + 1
        return f'IF({self.is_literal(v)}, SUBSTR(STR({v}), {bit}, 1) = "1", {native})'

    # -- conformance ---------------------------------------------------------------------------
    def shape(self, key: str) -> tuple[Any, tuple[Any, ...]]:
        if key in self.plan.refused:
            raise Unsupported(self.plan.refused[key])
        return self.plan.shapes[key]

    def conforms(self, key: str, var: str, *, nested_property: bool = True) -> str:
        """A boolean SPARQL expression: ``var`` conforms to shape ``key``."""
        if key in self.stack:
            raise Unsupported("recursive shapes")
        self.stack.append(key)
        try:
            path, constraints = self.shape(key)
            if path is None:
                return _and(self.value_conditions(constraints, var, nested_property=nested_property))
            return self.property_conforms(constraints, var, self.path(path), nested_property=nested_property)
        finally:
            self.stack.pop()

    def property_conforms(self, constraints: Sequence[Any], var: str, path: str, *, nested_property: bool) -> str:
        parts: list[str] = []
        v = self.var()
        values = [c for c in constraints if c[0] not in _PROPERTY_LEVEL and c[0] != "hasValue"]
        conditions = self.value_conditions(values, v, nested_property=nested_property)
        if conditions:
            parts.append(f"NOT EXISTS {{ {var} {path} {v} . FILTER(!({_and(conditions)})) }}")
        for c in constraints:
            if c[0] in _PROPERTY_LEVEL or c[0] == "hasValue":
                build = PROPERTY_EXPRESSIONS.get(c[0])
                if build is None:
                    raise Unsupported(f"the SPARQL compiler has no expression for {c[0]}")
                parts.append(build(self, c, var, path))
        return _and(parts)

    def value_conditions(self, constraints: Sequence[Any], v: str, *, nested_property: bool) -> list[str]:
        """Conditions each value node ``v`` must meet (error-free boolean expressions)."""
        parts: list[str] = []
        for c in constraints:
            if c[0] == "property" and not nested_property:
                continue
            build = VALUE_EXPRESSIONS.get(c[0])
            if build is None:
                raise Unsupported(f"the SPARQL compiler has no expression for {c[0]}")
            parts.append(build(self, c, v))
        return parts

    def at_least(self, var: str, path: str, n: int, qualified: str | None) -> str:
        """``var`` has at least ``n`` distinct values over ``path`` (that conform to shape ``qualified``)."""
        if n <= 0:
            return "true"
        if n > MAX_COUNT:
            raise Unsupported(f"count {n} > {MAX_COUNT}")
        vs = [self.var() for _ in range(n)]
        pattern = " . ".join(f"{var} {path} {v}" for v in vs)
        filters = [f"!sameTerm({a}, {b})" for i, a in enumerate(vs) for b in vs[i + 1:]]
        if qualified is not None:
            filters += [self.conforms(qualified, v) for v in vs]
        filt = f" FILTER({_and(filters)})" if filters else ""
        return f"EXISTS {{ {pattern} .{filt} }}"


# ---------------------------------------------------------------------------------------------
# The expression tables
# ---------------------------------------------------------------------------------------------

ValueExpression = Callable[[_Compiler, tuple[Any, ...], str], str]
PropertyExpression = Callable[[_Compiler, tuple[Any, ...], str, str], str]


def _class(c: _Compiler, k: tuple[Any, ...], v: str) -> str:
    t = c.var()
    return f"EXISTS {{ {v} a {t} . VALUES {t} {{ {c.classes(k[1])} }} }}"


def _datatype(c: _Compiler, k: tuple[Any, ...], v: str) -> str:
    """sh:datatype as pySHACL reads it (endpoint mode: on the literal as the store keeps it)."""
    name = k[1]
    if name == _RDFS_LITERAL:
        native = f"isLiteral({v})"
    elif name == _RDF_LANGSTRING:
        native = f"(isLiteral({v}) && lang({v}) != \"\")"
    else:
        native = f"(isLiteral({v}) && COALESCE(datatype({v}) = <{name}>, false) && lang({v}) = \"\")"
        local = name[len(_XSD):] if name.startswith(_XSD) else ""
        if local in _PYSHACL_CHECKED and local in _NUMERIC:
            native = f"({native} && isNumeric({v}))"
        elif local in _PYSHACL_CHECKED and local in _CASTABLE:
            native = f"({native} && COALESCE(BOUND(?_) || isLiteral(<{name}>({v})), false))"
    return c.value_test(k, v, native)


_NODE_KINDS = {
    "IRI": "isIRI({v})", "BlankNode": "isBlank({v})", "Literal": "isLiteral({v})",
    "BlankNodeOrIRI": "(isBlank({v}) || isIRI({v}))", "BlankNodeOrLiteral": "(isBlank({v}) || isLiteral({v}))",
    "IRIOrLiteral": "(isIRI({v}) || isLiteral({v}))",
}


def _node_kind(c: _Compiler, k: tuple[Any, ...], v: str) -> str:
    return c.value_test(k, v, _NODE_KINDS[k[1]].format(v=v))


def _in(c: _Compiler, k: tuple[Any, ...], v: str) -> str:
    members = [f"sameTerm({v}, {c.term(m)})" for m in k[1] if isinstance(m, str) or c.tests is None]
    native = "(" + " || ".join(members) + ")" if members else "false"
    if all(isinstance(m, str) for m in k[1]):
        return native  # IRIs only: no literal (and no stand-in) is a member, so no literal test is needed
    return c.value_test(k, v, native)


_OPERATORS = {"minInclusive": ">=", "maxInclusive": "<=", "minExclusive": ">", "maxExclusive": "<"}


def _range(c: _Compiler, k: tuple[Any, ...], v: str) -> str:
    _kind, lexical, datatype, language = k[1]
    bound = _literal_text(lexical, datatype, language)
    return c.value_test(k, v, f"COALESCE({v} {_OPERATORS[k[0]]} {bound}, false)")


def _length(c: _Compiler, k: tuple[Any, ...], v: str) -> str:
    op = ">=" if k[0] == "minLength" else "<="
    return c.value_test(k, v, f"(!isBlank({v}) && COALESCE(STRLEN(STR({v})) {op} {int(k[1])}, false))")


def _pattern(c: _Compiler, k: tuple[Any, ...], v: str) -> str:
    pattern, flags = k[1], k[2]
    if any(token in pattern for token in _UNPORTABLE_REGEX):
        raise Unsupported("regular expression syntax that may differ between engines")
    flag_arg = f", {_literal_text(flags)}" if flags else ""
    return c.value_test(k, v, f"(!isBlank({v}) && COALESCE(REGEX(STR({v}), {_literal_text(pattern)}{flag_arg}), false))")


def _language_in(c: _Compiler, k: tuple[Any, ...], v: str) -> str:
    tests = " || ".join(f"langMatches(lang({v}), {_literal_text(t)})" for t in k[1]) or "false"
    return c.value_test(k, v, f"(isLiteral({v}) && COALESCE({tests}, false))")


def _has_value(c: _Compiler, k: tuple[Any, ...], v: str) -> str:
    return f"sameTerm({v}, {c.term(k[1])})"


def _node(c: _Compiler, k: tuple[Any, ...], v: str) -> str:
    return c.conforms(k[1], v)


def _not(c: _Compiler, k: tuple[Any, ...], v: str) -> str:
    return f"!({c.conforms(k[1], v)})"


def _and_of(c: _Compiler, k: tuple[Any, ...], v: str) -> str:
    return _and([c.conforms(m, v) for m in k[1]])


def _or(c: _Compiler, k: tuple[Any, ...], v: str) -> str:
    alternatives = [c.conforms(m, v) for m in k[1]]
    return "(" + " || ".join(f"({m})" for m in alternatives) + ")" if alternatives else "false"


def _xone(c: _Compiler, k: tuple[Any, ...], v: str) -> str:
    exactly = [c.conforms(m, v) for m in k[1]]
    return "((" + " + ".join(f"IF({m}, 1, 0)" for m in exactly) + ") = 1)" if exactly else "false"


def _closed(c: _Compiler, k: tuple[Any, ...], v: str) -> str:
    p, o = c.var(), c.var()
    listed = ", ".join(_iri(a) for a in k[1])
    condition = f"FILTER({p} NOT IN ({listed}))" if listed else ""
    return f"NOT EXISTS {{ {v} {p} {o} . {condition} }}"


VALUE_EXPRESSIONS: dict[str, ValueExpression] = {
    "class": _class,
    "datatype": _datatype,
    "nodeKind": _node_kind,
    "in": _in,
    **dict.fromkeys(_OPERATORS, _range),
    "minLength": _length,
    "maxLength": _length,
    "pattern": _pattern,
    "languageIn": _language_in,
    "hasValue": _has_value,
    "node": _node,
    "property": _node,
    "not": _not,
    "and": _and_of,
    "or": _or,
    "xone": _xone,
    "closed": _closed,
}
"""Conditions on one value node: kind -> expression builder (compiler, constraint, variable)."""


def _min_count(c: _Compiler, k: tuple[Any, ...], var: str, path: str) -> str:
    return c.at_least(var, path, k[1], None)


def _max_count(c: _Compiler, k: tuple[Any, ...], var: str, path: str) -> str:
    return f"!({c.at_least(var, path, k[1] + 1, None)})"


def _has_value_on_path(c: _Compiler, k: tuple[Any, ...], var: str, path: str) -> str:
    return f"EXISTS {{ {var} {path} {c.term(k[1])} }}"


def _qualified(c: _Compiler, k: tuple[Any, ...], var: str, path: str) -> str:
    _kind, shape, qmin, qmax = k
    parts = []
    if qmin:
        parts.append(c.at_least(var, path, qmin, shape))
    if qmax is not None:
        parts.append(f"!({c.at_least(var, path, qmax + 1, shape)})")
    return _and(parts)


def _unique_lang(c: _Compiler, _k: tuple[Any, ...], var: str, path: str) -> str:
    a, b = c.var(), c.var()
    la, lb = c.language(a), c.language(b)
    return (f"NOT EXISTS {{ {var} {path} {a} . {var} {path} {b} . FILTER(!sameTerm({a}, {b}) && "
            f"{c.is_literal(a)} && {c.is_literal(b)} && {la} != \"\" && {la} = {lb}) }}")


def _equals(c: _Compiler, k: tuple[Any, ...], var: str, path: str) -> str:
    o, other = c.var(), _iri(k[1])
    return (f"NOT EXISTS {{ {var} {path} {o} . FILTER NOT EXISTS {{ {var} {other} {o} }} }} && "
            f"NOT EXISTS {{ {var} {other} {o} . FILTER NOT EXISTS {{ {var} {path} {o} }} }}")


def _disjoint(c: _Compiler, k: tuple[Any, ...], var: str, path: str) -> str:
    o = c.var()
    return f"NOT EXISTS {{ {var} {path} {o} . {var} {_iri(k[1])} {o} }}"


PROPERTY_EXPRESSIONS: dict[str, PropertyExpression] = {
    "minCount": _min_count,
    "maxCount": _max_count,
    "hasValue": _has_value_on_path,
    "qualified": _qualified,
    "uniqueLang": _unique_lang,
    "equals": _equals,
    "disjoint": _disjoint,
}
"""Conditions on a focus node and its values along the path: kind -> expression builder."""


# ---------------------------------------------------------------------------------------------
# The clause form: joins and MINUS instead of EXISTS (much faster on Oxigraph)
# ---------------------------------------------------------------------------------------------
#
# A check of node ?v, which the enclosing group has bound through a generator pattern ``gen``
# (the path step that produced it, or the target pattern), is a pair of clauses (conf, fail)
# appended to that group: ``conf`` keeps the rows whose ?v conforms, ``fail`` those whose ?v
# does not. ``""`` keeps every row and ``NEVER`` none. Conjunction of conf clauses is
# concatenation; a negation is ``MINUS { gen <clauses> }``, which shares ?v (and the generator's
# variables) with the left side, so it is evaluated once as an anti-join. Value tests
# (:data:`npc_kg.shacl.values.VALUE_TESTS` kinds, and ``hasValue`` on a node) are plain FILTERs.

NEVER = " FILTER(false)"


class _ClauseCompiler(_Compiler):
    """Compile shapes to (conf, fail) clauses (see the comment above)."""

    @staticmethod
    def conj(parts: list[tuple[str, str]], gen: str) -> tuple[str, str]:
        parts = [p for p in parts if p[0] != ""]
        if not parts:
            return "", NEVER
        if len(parts) == 1:
            return parts[0]
        conf = "".join(c for c, _f in parts)
        return conf, f" MINUS {{ {gen}{conf} }}"

    def check(self, key: str, v: str, gen: str, *, nested_property: bool = True) -> tuple[str, str]:
        if key in self.stack:
            raise Unsupported("recursive shapes")
        self.stack.append(key)
        try:
            path, constraints = self.shape(key)
            if path is not None:
                parts = self.property_parts(constraints, v, self.path(path), nested_property=nested_property)
            else:
                parts = self.node_parts(constraints, v, gen, nested_property=nested_property)
            return self.conj(parts, gen)
        finally:
            self.stack.pop()

    def node_parts(self, constraints: Sequence[Any], v: str, gen: str, *, nested_property: bool) -> list[tuple[str, str]]:
        out: list[tuple[str, str]] = []
        conditions = []
        for c in constraints:
            if c[0] in VALUE_TESTS or c[0] == "hasValue":
                conditions.append(VALUE_EXPRESSIONS[c[0]](self, c, v))
            elif c[0] == "property" and not nested_property:
                continue
            else:
                clause = CLAUSES.get(c[0])
                if clause is None:
                    raise Unsupported(f"{c[0]} (clause form)")
                out.append(clause(self, c, v, gen))
        if conditions:
            cond = _and(conditions)
            out.insert(0, (f" FILTER({cond})", f" FILTER(!({cond}))"))
        return out

    def property_parts(self, constraints: Sequence[Any], v: str, path: str, *, nested_property: bool) -> list[tuple[str, str]]:
        w = self.var()
        gen_w = f" {v} {path} {w} ."
        out: list[tuple[str, str]] = []
        values = [c for c in constraints if c[0] not in _PROPERTY_LEVEL and c[0] != "hasValue"]
        _conf, fail = self.conj(self.node_parts(values, w, gen_w, nested_property=nested_property), gen_w)
        if fail != NEVER:
            out.append((f" MINUS {{{gen_w}{fail} }}", f"{gen_w}{fail}"))
        for c in constraints:
            if c[0] in _PROPERTY_LEVEL or c[0] == "hasValue":
                clause = PROPERTY_CLAUSES.get(c[0])
                if clause is None:
                    raise Unsupported(f"{c[0]} (clause form)")
                out += clause(self, c, v, path)
        return out

    def at_least_clauses(self, v: str, path: str, n: int, qualified: str | None) -> tuple[str, str]:
        """(conf, fail) of "at least ``n`` distinct values over ``path`` (conforming to shape ``qualified``)"."""
        if n <= 0:
            return "", NEVER
        if n > MAX_COUNT:
            raise Unsupported(f"count {n} > {MAX_COUNT}")
        ws = [self.var() for _ in range(n)]
        body = ""
        for w in ws:
            gen_w = f" {v} {path} {w} ."
            body += gen_w
            if qualified is not None:
                conf, _fail = self.check(qualified, w, gen_w)
                body += conf
        distinct = [f"!sameTerm({a}, {b})" for i, a in enumerate(ws) for b in ws[i + 1:]]
        if distinct:
            body += f" FILTER({_and(distinct)})"
        return body, f" MINUS {{{body} }}"


Clause = Callable[[_ClauseCompiler, tuple[Any, ...], str, str], tuple[str, str]]
PropertyClause = Callable[[_ClauseCompiler, tuple[Any, ...], str, str], list[tuple[str, str]]]


def _class_clause(c: _ClauseCompiler, k: tuple[Any, ...], v: str, _gen: str) -> tuple[str, str]:
    typed = c.typed(v, k[1])
    return typed, f" MINUS {{{typed} }}"


def _node_clause(c: _ClauseCompiler, k: tuple[Any, ...], v: str, gen: str) -> tuple[str, str]:
    return c.check(k[1], v, gen)


def _not_clause(c: _ClauseCompiler, k: tuple[Any, ...], v: str, gen: str) -> tuple[str, str]:
    conf, fail = c.check(k[1], v, gen)
    return fail, conf


def _and_clause(c: _ClauseCompiler, k: tuple[Any, ...], v: str, gen: str) -> tuple[str, str]:
    return c.conj([c.check(m, v, gen) for m in k[1]], gen)


def _or_clause(c: _ClauseCompiler, k: tuple[Any, ...], v: str, gen: str) -> tuple[str, str]:
    members = [c.check(m, v, gen) for m in k[1]]
    if any(conf == "" for conf, _f in members):
        return "", NEVER  # a member every node conforms to
    fail = "".join(f for _c, f in members) if members else ""
    return f" MINUS {{ {gen}{fail} }}", fail


CLAUSES: dict[str, Clause] = {
    "class": _class_clause,
    "node": _node_clause,
    "property": _node_clause,
    "not": _not_clause,
    "and": _and_clause,
    "or": _or_clause,
}
"""Faster (conf, fail) forms of value-level kinds that are not plain FILTERs (optional: the EXISTS form covers the rest)."""


def _min_count_clause(c: _ClauseCompiler, k: tuple[Any, ...], v: str, path: str) -> list[tuple[str, str]]:
    return [c.at_least_clauses(v, path, k[1], None)] if k[1] else []


def _max_count_clause(c: _ClauseCompiler, k: tuple[Any, ...], v: str, path: str) -> list[tuple[str, str]]:
    conf, fail = c.at_least_clauses(v, path, k[1] + 1, None)
    return [(fail, conf)]


def _has_value_clause(c: _ClauseCompiler, k: tuple[Any, ...], v: str, path: str) -> list[tuple[str, str]]:
    has = f" {v} {path} {c.term(k[1])} ."
    return [(has, f" MINUS {{{has} }}")]


def _qualified_clause(c: _ClauseCompiler, k: tuple[Any, ...], v: str, path: str) -> list[tuple[str, str]]:
    _kind, shape, qmin, qmax = k
    out = []
    if qmin:
        out.append(c.at_least_clauses(v, path, qmin, shape))
    if qmax is not None:
        conf, fail = c.at_least_clauses(v, path, qmax + 1, shape)
        out.append((fail, conf))
    return out


PROPERTY_CLAUSES: dict[str, PropertyClause] = {
    "minCount": _min_count_clause,
    "maxCount": _max_count_clause,
    "hasValue": _has_value_clause,
    "qualified": _qualified_clause,
}
"""Faster forms of property-level kinds (optional: the EXISTS form covers the rest)."""


# ---------------------------------------------------------------------------------------------
# Units
# ---------------------------------------------------------------------------------------------


def _targets(specs: Sequence[Any], compiler: _Compiler) -> str:
    patterns: list[str] = []
    for kind, argument in specs:
        if kind == "class":
            patterns.append(compiler.typed("?this", argument))
        elif kind == "node":
            patterns.append("VALUES ?this { " + " ".join(compiler.term(n) for n in argument) + " }")
        elif kind == "subjectsOf":
            patterns.append(f"?this {_iri(argument)} {compiler.var()} .")
        elif kind == "objectsOf":
            patterns.append(f"{compiler.var()} {_iri(argument)} ?this .")
    if not patterns:
        return "FILTER(false)"
    return patterns[0] if len(patterns) == 1 else " UNION ".join(f"{{ {p} }}" for p in patterns)


def _exists_query(compiler: _Compiler, unit: Unit, target: str) -> str | None:
    focus, walk = "?this", ""
    for i, step in enumerate(unit.chain):
        walk += f" {focus} {compiler.path(step)} ?c{i} ."
        focus = f"?c{i}"
    condition = compiler.conforms(unit.shape, focus, nested_property=False)
    if condition == "true":
        return None
    return f"SELECT DISTINCT ({focus} AS ?focus) WHERE {{ {target}{walk} FILTER(!({condition})) }}"


def _clause_query(compiler: _ClauseCompiler, unit: Unit, target: str) -> str | None:
    focus, gen = "?this", f" {target}"
    for i, step in enumerate(unit.chain):
        gen += f" {focus} {compiler.path(step)} ?c{i} ."
        focus = f"?c{i}"
    conf, fail = compiler.check(unit.shape, focus, gen, nested_property=False)
    if conf == "" and fail == NEVER:
        return None
    return f"SELECT DISTINCT ({focus} AS ?focus) WHERE {{{gen}{fail} }}"


def compile_units(plan: Plan, tests: LiteralTests | None) -> list[CompiledUnit]:
    """Compile every unit of ``plan``: faithful mode with ``tests`` (stand-in literals), else endpoint mode."""
    out = []
    for unit in plan.units:
        if unit.unsupported is not None:
            out.append(CompiledUnit(unit, None, unit.unsupported))
            continue
        query: str | None = None
        reason: str | None = None
        try:
            # Fast form first (joins and MINUS); the EXISTS form covers the rest of the subset.
            clauses = _ClauseCompiler(plan, tests)
            clauses.counter = 1000
            query = _clause_query(clauses, unit, _targets(plan.targets[unit.root], clauses))
        except Unsupported:
            try:
                compiler = _Compiler(plan, tests)
                query = _exists_query(compiler, unit, _targets(plan.targets[unit.root], compiler))
            except Unsupported as error:
                reason = str(error)
        out.append(CompiledUnit(unit, query, reason))
    return out

