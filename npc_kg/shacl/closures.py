"""Assess patients with the SHACL shapes evaluated in plain Python on an in-memory index (no store, no SPARQL).

The shapes are compiled once to a plan (:mod:`npc_kg.shacl.plan`), linked here into
Python closures. A batch of patient records is read (by the strict N-Triples reader of
:mod:`npc_kg.cohort.ntriples`, or else by pyoxigraph's parser) into an index
``{node: {predicate: [objects]}}`` (IRIs as strings, blank nodes as ``_:label``, literals as
pyoxigraph literals; ``^predicate`` keys hold the inverse edges the shapes need), and every
result-producing shape is checked on its focus nodes. A patient's verdict only depends on the
nodes reachable from it along the shapes' paths (its finding records), so the answers equal those
of a run over the whole batch: this *is* a run over the whole batch, with the batch as the data
graph, exactly as the reference path (pySHACL) and the SPARQL engine see it.

Literal checks (``sh:datatype``, ``sh:min/maxInclusive`` ...) follow pySHACL exactly: each distinct
literal is converted once to an rdflib literal as the reference path builds it (parsed, then
rebuilt from its lexical form as :func:`npc_kg.shacl._from_lexical` does) and judged with
pySHACL's rules; the answers are memoised. rdflib's conversion warnings (which quote the value)
are silenced, so no patient value reaches a log.

Statuses, verdicts and error rows follow :mod:`npc_kg.shacl.sparql` (:class:`PatientRow`). A
batch that the local evaluator cannot answer (``rdfs:subClassOf`` triples in the data, RDF-star
triples) raises :class:`Unsupported`, and so does :class:`LocalEngine` for shapes outside its
subset: the caller then uses the SPARQL engine (and pySHACL behind it), never a guess.
"""

from __future__ import annotations

import datetime
import gc
import logging
import re
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any

import pyoxigraph as ox
from rdflib import RDF, RDFS, XSD, Graph, Literal, URIRef

from npc_kg.cohort.native import load_native
from npc_kg.cohort.ntriples import NotStrict, strict_index, strict_triples
from npc_kg.core.rules import PatientRow, criteria_of
from npc_kg.namespace import NPC, SH
from npc_kg.shacl.plan import Plan, Unit, Unsupported, compile_plan
from npc_kg.sparql.terms import to_oxigraph

__all__ = ["LocalEngine", "Unsupported", "default_engine", "evaluate_graph", "rdflib_triples"]

Index = dict[Any, dict[str, list[Any]]]
Check = Callable[[Index, Any], bool]

_XSD = str(XSD)
_XSD_STRING = _XSD + "string"
_TYPE = str(RDF.type)
_SUBCLASS = str(RDFS.subClassOf)
_HAS_FINDING = str(NPC.hasFinding)
_FINDING_OWNERS = "^" + _HAS_FINDING  # index key of the patients that have a finding record
_PATIENT = str(NPC.Patient)
_VIOLATION, _WARNING = str(SH.Violation), str(SH.Warning)
_MEMO_LIMIT = 200_000
_RANK = {_VIOLATION: 2, _WARNING: 1}
_STATUS = ("satisfied", "unknown", "violated")
_VERDICT = ("eligible", "indeterminate", "ineligible")
_NO_EDGES: dict[str, list[Any]] = {}
_NONE: tuple[Any, ...] = ()
_RDFLIB_LOG = logging.getLogger("rdflib.term")


# ---------------------------------------------------------------------------------------------
# Literals as pySHACL judges them
# ---------------------------------------------------------------------------------------------

_CONVERTED: dict[ox.Literal, Literal] = {}


def _rdflib_literal(value: ox.Literal) -> Literal:
    """The literal as the reference path sees it: parsed by rdflib, then rebuilt from its lexical form."""
    found = _CONVERTED.get(value)
    if found is None:
        if len(_CONVERTED) > _MEMO_LIMIT:
            _CONVERTED.clear()
        found = _CONVERTED[value] = _convert(value)
    return found


def _convert(value: ox.Literal) -> Literal:
    disabled, _RDFLIB_LOG.disabled = _RDFLIB_LOG.disabled, True  # rdflib's log records quote the value
    with warnings.catch_warnings():  # and so do its warnings ("weird boolean")
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


def _actual_datatype(value: Literal, rule: str) -> bool:
    """pySHACL's ``DatatypeConstraintComponent._assert_actual_datatype``."""
    python = value.value
    checks: dict[str, Callable[[Any], bool]] = {
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
    check = checks.get(rule)
    return True if check is None else check(python)


def _datatype_ok(value: ox.Literal, rule: str) -> bool:
    """pySHACL's ``sh:datatype`` test of one literal."""
    lit = _rdflib_literal(value)
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


_RANGE_TESTS: dict[str, Callable[[int], bool]] = {
    "minInclusive": lambda c: c >= 0, "minExclusive": lambda c: c > 0,
    "maxInclusive": lambda c: c <= 0, "maxExclusive": lambda c: c < 0,
}


def _range_ok(value: ox.Literal, bound: Literal, kind: str) -> bool:
    """pySHACL's min/max inclusive/exclusive test of one literal."""
    lit = _rdflib_literal(value)
    disabled, _RDFLIB_LOG.disabled = _RDFLIB_LOG.disabled, True
    try:
        if isinstance(bound.value, str) != isinstance(lit.value, str):
            return False
        try:
            return _RANGE_TESTS[kind](_compare(lit, bound))
        except (TypeError, NotImplementedError):
            return False
    finally:
        _RDFLIB_LOG.disabled = disabled


def _memo_literal(test: Callable[[ox.Literal], bool]) -> Callable[[Any], bool]:
    """A value test: False for IRIs and blank nodes, ``test`` (memoised) for literals."""
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
# Terms and paths
# ---------------------------------------------------------------------------------------------

def _node_key(_idx: Index, node: Any) -> Any:
    return node


def _ox_term(term: Any) -> Any:
    """A plan term as an index key: IRIs stay strings, literals become pyoxigraph literals."""
    if isinstance(term, str):
        return term
    _kind, lexical, datatype, language = term
    if language:
        return ox.Literal(lexical, language=language)
    return ox.Literal(lexical, datatype=ox.NamedNode(datatype or _XSD_STRING))


def _plan_literal(term: Any) -> Literal:
    _kind, lexical, datatype, language = term
    return Literal(lexical, lang=language) if language else Literal(lexical, datatype=URIRef(datatype) if datatype else None)


def _is_iri(value: Any) -> bool:
    return type(value) is str and not value.startswith("_:")


def _is_blank(value: Any) -> bool:
    return type(value) is str and value.startswith("_:")


def _text(value: Any) -> str | None:
    """The string pySHACL's string-based constraints read (None for a blank node)."""
    if type(value) is str:
        return None if value.startswith("_:") else value
    return str(value.value)


def _path(plan_path: Any) -> Callable[[Index, Any], Sequence[Any]]:
    kind = plan_path[0]
    if kind == "pred":
        pred = plan_path[1]
        return lambda idx, node: idx.get(node, _NO_EDGES).get(pred, _NONE)
    if kind == "inv":
        inv = "^" + plan_path[1]
        return lambda idx, node: idx.get(node, _NO_EDGES).get(inv, _NONE)
    if kind == "seq":
        steps = [_path(p) for p in plan_path[1]]

        def sequence(idx: Index, node: Any) -> Sequence[Any]:
            current: Iterable[Any] = (node,)
            for step in steps:
                current = list(dict.fromkeys(v for n in current for v in step(idx, n)))
            return list(current)

        return sequence
    if kind == "alt":
        options = [_path(p) for p in plan_path[1]]
        return lambda idx, node: list(dict.fromkeys(v for option in options for v in option(idx, node)))
    inner = _path(plan_path[1])

    def closure(idx: Index, node: Any) -> Sequence[Any]:
        found: dict[Any, None] = {node: None} if kind in ("zom", "zoo") else {}
        frontier = [node]
        while frontier:
            nxt = []
            for n in frontier:
                for v in inner(idx, n):
                    if v not in found:
                        found[v] = None
                        nxt.append(v)
            if kind == "zoo":
                break
            frontier = nxt
        return list(found)

    return closure


# ---------------------------------------------------------------------------------------------
# Linking a plan into closures
# ---------------------------------------------------------------------------------------------

class _Cycle(Exception):
    """A node reaches itself along the indexed edges: signatures are not defined for this batch."""


class _Counts:
    """Qualified-value counts of one path, for every qualified shape used with it, in one pass.

    For a focus node, the values along the path are visited once; each value contributes a
    packed int with one 16-bit count per qualified shape (memoised per value, by signature), and
    the sum is memoised per focus for the batch. So the thirty-odd ``sh:qualifiedValueShape``
    checks on a patient's finding records cost one pass over the records, not thirty.
    """

    def __init__(self, linked: _Linked, values: Callable[[Index, Any], Sequence[Any]]) -> None:
        self.linked = linked
        self.values = values
        self.shapes: list[str] = []
        self.per_focus: dict[Any, int] = {}
        self.per_value: dict[Any, int] = {}
        linked.memos.append(self.per_value)  # type: ignore[arg-type]
        self.tests: list[Check] = []

    def link(self) -> None:
        self.tests = [self.linked.conforms[key] for key in self.shapes]

    def counts(self, idx: Index, focus: Any, found: Sequence[Any]) -> int:
        total = self.per_focus.get(focus)
        if total is not None:
            return total
        if len(found) >= 0xFFFF:  # a count could overflow its 16 bits: count directly
            return sum(sum(1 for v in found if test(idx, v)) << (16 * i) for i, test in enumerate(self.tests))
        linked = self.linked
        key, per_value, tests = linked.key, self.per_value, self.tests
        sids = linked.batch_sids if linked.signature_mode else {}
        total = 0
        for value in found:
            k = sids.get(value)
            if k is None or k < 0:
                k = key(idx, value)
            packed = per_value.get(k)
            if packed is None:
                packed = 0
                for i, test in enumerate(tests):
                    if test(idx, value):
                        packed |= 1 << (16 * i)
                per_value[k] = packed
            total += packed
        self.per_focus[focus] = total
        return total


class _Linked:
    """The plan's shapes as closures: ``conforms[id](idx, node)`` and ``reports[id](idx, focus)``.

    Conformance is memoised. In *signature mode* (the default) the memo key is the node's
    signature, an int interned from what the shapes can see of the node: its kind, its IRI if a
    shape could tell it apart (a constant of the shapes, or a node without edges), and,
    recursively, the signatures of its values per predicate; a literal's signature is the vector
    of answers of every literal test of the shapes. Two nodes with the same signature conform to
    the same shapes, so answers are reused across patients and batches (a cohort has few distinct
    finding records). Shapes that walk edges backwards or compare two paths, and batches with
    cycles, use the node itself as the key (per batch).
    """

    def __init__(self, plan: Plan, native: Any = None) -> None:
        self.plan = plan
        self.conforms: dict[str, Check] = {}
        self.memos: list[dict[Any, bool]] = []
        self.literal_tests: list[Callable[[Any], bool]] = []
        self.class_tests: list[Callable[[Index, Sequence[Any]], bool]] = []
        self._tested: set[Any] = set()
        self.behaviours: dict[int, int] = {}
        self.shallow: set[int] = set()
        self._packers: dict[Any, _Counts] = {}
        for path, constraints in plan.shapes.values():
            for c in constraints:
                if c[0] == "qualified":
                    counts = self._packers.setdefault(path, _Counts(self, _path(path)))
                    if c[1] not in counts.shapes:
                        counts.shapes.append(c[1])
        for key in plan.shapes:
            self._conformance(key)
        for counts in self._packers.values():
            counts.link()
        self.reports: dict[str, Check] = {u.shape: self._reporter(u.shape) for u in plan.units}
        self.signatures_possible = not (plan.inverse_paths or plan.compares_values)
        simple_paths = all(path is None or path[0] == "pred" for path, _c in plan.shapes.values()) and all(
            step[0] == "pred" for unit in plan.units for step in unit.chain)
        self.behaviour_mode = (self.signatures_possible and simple_paths and not plan.string_tests
                               and not plan.all_predicates)
        self.constants = frozenset(plan.constants)
        self.interned: dict[Any, int] = {}
        self.literal_sids: dict[Any, int] = {}
        self.batch_sids: dict[Any, int] = {}
        self.group_memos: list[dict[int, tuple[int, ...]]] = []
        self.sid: Callable[[Index, Any], int] = self._sid
        self.focus_key: Callable[[Index, Any], int] = self._focus_key
        if native is not None:  # the same signatures, computed in C (the accelerator) on the same dicts
            state = (self.batch_sids, self.interned, self.constants, bool(plan.string_tests), self.shallow,
                     self._literal_sid, _Cycle, self.behaviours, self.behaviour, self.behaviour_mode)
            self.sid = partial(native.sid, state)
            self.focus_key = partial(native.focus_key, state)
        self.key: Callable[[Index, Any], Any] = self.sid
        self.signature_mode = self.signatures_possible

    def begin(self, signatures: bool) -> None:
        """Start a batch, keyed by signatures or by nodes."""
        self.batch_sids.clear()
        for counts in self._packers.values():
            counts.per_focus.clear()
        self.signature_mode = signatures and self.signatures_possible
        if not self.signature_mode or len(self.interned) > _MEMO_LIMIT:
            self.reset()
        self.key = self.sid if self.signature_mode else _node_key

    def end(self) -> None:
        """Finish a batch: forget its nodes (memos keyed by node are per batch)."""
        self.batch_sids.clear()
        for counts in self._packers.values():
            counts.per_focus.clear()
        if not self.signature_mode:
            self.reset()

    def reset(self) -> None:
        """Forget every memo."""
        for memo in self.memos:
            memo.clear()
        for group in self.group_memos:
            group.clear()
        self.interned.clear()
        self.literal_sids.clear()
        self.behaviours.clear()
        self.shallow.clear()

    def behaviour(self, idx: Index, value: Any, sid: int) -> int:
        """What every constraint can see of ``value`` (with signature ``sid``, and edges) as a value node.

        A value with edges (a finding record) is abstracted to its kind, its IRI if a shape names
        it, whether it conforms to each shape, and whether it has each class of the shapes. With
        predicate paths only (checked when linking) no constraint can see more of a value.
        """
        found = self.behaviours.get(sid)
        if found is None:
            vector = ("N", value.startswith("_:"), value if value in self.constants else None,
                      *(conforms(idx, value) for conforms in self.conforms.values()),
                      *(test(idx, (value,)) for test in self.class_tests))
            interned = self.interned
            found = interned.get(vector)
            if found is None:
                found = interned[vector] = len(interned)
            self.behaviours[sid] = found
        return found

    def _focus_key(self, idx: Index, node: Any) -> int:
        """The memo key of a focus node: its signature, with values that have edges abstracted by behaviour.

        Patients differ in their finding records' IRIs and details, but far less in how those
        records behave under the shapes: this key lets many patients share one evaluation.
        """
        structural = self.batch_sids.get(node)
        if structural is not None and structural >= 0 and structural in self.shallow:
            return structural  # nothing to abstract: the signature is the key
        edges = idx.get(node)
        if not self.behaviour_mode or not edges or type(node) is not str:
            return self.sid(idx, node)
        blank = node.startswith("_:")
        sids, sid, behaviour = self.batch_sids, self.sid, self.behaviour
        parts: list[Any] = ["K", node if not blank and node in self.constants else ("_" if blank else "I")]
        for pred, values in edges.items():
            if pred[0] == "^":
                continue
            row: list[Any] = []
            for value in values:
                k = sids.get(value)
                if k is None or k < 0:
                    k = sid(idx, value)
                if type(value) is str and idx.get(value):
                    k = behaviour(idx, value, k)
                row.append(k)
            if len(row) > 1:
                row.sort()
            parts.append((pred, *row))
        key = tuple(parts)
        interned = self.interned
        found = interned.get(key)
        if found is None:
            found = interned[key] = len(interned)
        return found

    def _literal_sid(self, node: Any) -> int:
        """The interned signature of a literal: the vector of answers of every literal test."""
        key = node
        if not self.plan.string_tests and node.datatype.value == _XSD_STRING and not node.language:
            key = _XSD_STRING  # plain strings are alike for every literal test of these shapes
        found = self.literal_sids.get(key)
        if found is None:
            signature = ("L", *(test(node) for test in self.literal_tests))
            interned = self.interned
            found = interned.get(signature)
            if found is None:
                found = interned[signature] = len(interned)
            self.literal_sids[key] = found
        self.batch_sids[node] = found
        return found

    def _sid(self, idx: Index, node: Any) -> int:
        """The interned signature of ``node`` (see the class docstring)."""
        sids = self.batch_sids
        known = sids.get(node)
        if known is not None:
            if known < 0:
                raise _Cycle
            return known
        if type(node) is not str:
            return self._literal_sid(node)
        interned = self.interned
        edges = idx.get(node)
        blank = node.startswith("_:")
        if not blank and (not edges or node in self.constants or self.plan.string_tests):
            name: Any = node
        else:
            name = "_" if blank else "I"
        sids[node] = -1
        shape: tuple[Any, ...] = (name,)
        shallow = True  # no value has edges of its own
        if edges:
            sid = self.sid
            parts: list[Any] = [name]
            for pred, values in edges.items():
                if pred[0] == "^":
                    continue
                row: list[Any] = [pred]
                for value in values:
                    k = sids.get(value)
                    if k is None:
                        k = sid(idx, value)
                    elif k < 0:
                        raise _Cycle
                    if shallow and value in idx and type(value) is str:
                        shallow = False
                    row.append(k)
                parts.append(tuple(row))
            shape = tuple(parts)
        found = interned.get(shape)
        if found is None:
            found = interned[shape] = len(interned)
            if shallow:
                self.shallow.add(found)
        sids[node] = found
        return found

    def _conformance(self, key: str) -> Check:
        done = self.conforms.get(key)
        if done is not None:
            return done
        memo: dict[Any, bool] = {}
        self.memos.append(memo)
        cell: list[Check] = []
        linked = self

        def conforms(idx: Index, node: Any) -> bool:
            k = linked.key(idx, node)
            answer = memo.get(k)
            if answer is None:
                answer = memo[k] = cell[0](idx, node)
            return answer

        self.conforms[key] = conforms
        cell.append(self._checker(key, with_properties=True))
        return conforms

    def _reporter(self, key: str) -> Check:
        own = self._checker(key, with_properties=False)
        return lambda idx, focus: not own(idx, focus)

    def _checker(self, key: str, *, with_properties: bool) -> Check:
        path, constraints = self.plan.shapes[key]
        values = _path(path) if path is not None else None
        parts = [self._constraint(c, path) for c in constraints if with_properties or c[0] != "property"]

        if values is None:
            def node_check(idx: Index, node: Any) -> bool:
                focus_values = (node,)
                for part in parts:  # noqa: SIM110 - a plain loop is faster than all() on this hot path
                    if not part(idx, node, focus_values):
                        return False
                return True

            return node_check

        def property_check(idx: Index, node: Any) -> bool:
            found = values(idx, node)
            for part in parts:  # noqa: SIM110 - a plain loop is faster than all() on this hot path
                if not part(idx, node, found):
                    return False
            return True

        return property_check

    def _each(self, test: Callable[[Any], bool], key: Any = None) -> Callable[[Index, Any, Sequence[Any]], bool]:
        if key is None or key not in self._tested:  # one literal test per distinct constraint
            self.literal_tests.append(test)
            if key is not None:
                self._tested.add(key)

        def every(_idx: Index, _focus: Any, found: Sequence[Any]) -> bool:
            for value in found:  # noqa: SIM110 - a plain loop is faster than all() on this hot path
                if not test(value):
                    return False
            return True

        return every

    def _constraint(self, c: tuple[Any, ...], path: Any = None) -> Callable[[Index, Any, Sequence[Any]], bool]:
        kind = c[0]
        if kind == "class":
            allowed = frozenset(c[1])

            def has_class(idx: Index, _focus: Any, found: Sequence[Any]) -> bool:
                for value in found:
                    for t in idx.get(value, _NO_EDGES).get(_TYPE, _NONE):
                        if t in allowed:
                            break
                    else:
                        return False
                return True

            if c not in self._tested:
                self._tested.add(c)
                self.class_tests.append(lambda idx, found: has_class(idx, None, found))
            return has_class
        if kind == "datatype":
            rule = c[1]
            return self._each(_memo_literal(lambda v: _datatype_ok(v, rule)), c)
        if kind == "nodeKind":
            tests: dict[str, Callable[[Any], bool]] = {
                "IRI": _is_iri, "BlankNode": _is_blank, "Literal": lambda v: type(v) is not str,
                "BlankNodeOrIRI": lambda v: type(v) is str, "BlankNodeOrLiteral": lambda v: not _is_iri(v),
                "IRIOrLiteral": lambda v: not _is_blank(v),
            }
            return self._each(tests[c[1]], c)
        if kind == "in":
            members = frozenset(_ox_term(t) for t in c[1])
            return self._each(lambda v: v in members, c)
        if kind == "hasValue":
            wanted = _ox_term(c[1])
            self.literal_tests.append(lambda v: v == wanted)
            return lambda _idx, _focus, found: wanted in found
        if kind in _RANGE_TESTS:
            bound = _plan_literal(c[1])
            return self._each(_memo_literal(lambda v: _range_ok(v, bound, kind)), c)
        if kind in ("minLength", "maxLength"):
            limit = c[1]
            if kind == "minLength":
                return self._each(lambda v: (t := _text(v)) is not None and len(t) >= limit)
            return self._each(lambda v: (t := _text(v)) is not None and len(t) <= limit)
        if kind == "pattern":
            flags = 0
            for letter, flag in (("i", re.IGNORECASE), ("m", re.MULTILINE), ("s", re.DOTALL), ("x", re.VERBOSE)):
                if letter in c[2]:
                    flags |= flag
            regex = re.compile(c[1], flags)
            return self._each(lambda v: (t := _text(v)) is not None and regex.search(t) is not None)
        if kind == "languageIn":
            languages = c[1]

            def language_ok(v: Any) -> bool:
                if type(v) is str or not v.language:
                    return False
                lang = v.language.lower()
                return any(lang == x or lang.startswith(x + "-") or x == "*" for x in languages)

            return self._each(language_ok)
        if kind in ("node", "property"):
            inner = self._conformance(c[1])
            return lambda idx, _focus, found: all(inner(idx, v) for v in found)
        if kind == "not":
            inner = self._conformance(c[1])
            return lambda idx, _focus, found: not any(inner(idx, v) for v in found)
        if kind in ("and", "or", "xone"):
            members_ = [self._conformance(k) for k in c[1]]
            if kind == "and":
                return lambda idx, _focus, found: all(all(m(idx, v) for m in members_) for v in found)
            if kind == "or":
                return lambda idx, _focus, found: all(any(m(idx, v) for m in members_) for v in found)
            return lambda idx, _focus, found: all(sum(m(idx, v) for m in members_) == 1 for v in found)
        if kind == "minCount":
            low = c[1]
            return lambda _idx, _focus, found: len(found) >= low
        if kind == "maxCount":
            high = c[1]
            return lambda _idx, _focus, found: len(found) <= high
        if kind == "qualified":
            qmin, qmax = c[2], c[3]
            packed = self._packers[path]
            offset = 16 * packed.shapes.index(c[1])

            def qualified(idx: Index, focus: Any, found: Sequence[Any]) -> bool:
                count = (packed.counts(idx, focus, found) >> offset) & 0xFFFF
                return (qmin is None or count >= qmin) and (qmax is None or count <= qmax)

            return qualified
        if kind == "closed":
            allowed_preds = frozenset(c[1])

            def closed(idx: Index, _focus: Any, found: Sequence[Any]) -> bool:
                for value in found:
                    for pred in idx.get(value, _NO_EDGES):
                        if pred[0] != "^" and pred not in allowed_preds:
                            return False
                return True

            return closed
        if kind in ("equals", "disjoint"):
            other = c[1]
            if kind == "equals":
                return lambda idx, focus, found: set(found) == set(idx.get(focus, _NO_EDGES).get(other, _NONE))
            return lambda idx, focus, found: not (set(found) & set(idx.get(focus, _NO_EDGES).get(other, _NONE)))
        raise Unsupported(f"constraint {kind}")  # pragma: no cover - the compiler only emits the kinds above


# ---------------------------------------------------------------------------------------------
# The engine
# ---------------------------------------------------------------------------------------------

_OX_FORMAT = {"nt": ox.RdfFormat.N_TRIPLES, "nq": ox.RdfFormat.N_QUADS, "csv": ox.RdfFormat.N_TRIPLES}


class LocalEngine:
    """The eligibility and patient-model shapes, compiled to Python closures, applied to batches."""

    def __init__(self, shapes: Graph | None = None, kb: Graph | None = None, *, subclasses: Graph | None = None) -> None:
        from npc_kg.shacl.shapes import shapes_graph as package_shapes
        from npc_kg.shacl.shapes import subclass_graph
        from npc_kg.shacl.sparql_compiler import subclass_closure

        shapes_graph = shapes if shapes is not None else package_shapes()
        if kb is None:
            from npc_kg.kg.load import load

            kb = load()
        closure = subclass_closure(subclasses if subclasses is not None else subclass_graph())
        self.plan = compile_plan(shapes_graph, closure)
        self.criteria = criteria_of(kb, shapes_graph)
        self.implemented = {str(o) for o in shapes_graph.objects(None, NPC.criterion)}
        # what each result-producing shape says (npc_kg.assess explains rows without the shapes graph)
        self.notes: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
            unit.shape: (tuple(sorted(str(m) for m in shapes_graph.objects(URIRef(unit.shape), SH.message))),
                         tuple(sorted(str(i) for i in shapes_graph.objects(URIRef(unit.shape), NPC.missingDataItem))))
            for unit in self.plan.units if not unit.shape.startswith("_:")
        }
        self._link()

    _STATE = ("plan", "criteria", "implemented", "notes")

    def _link(self) -> None:
        self.native = load_native()
        self.linked = _Linked(self.plan, self.native)
        self.needed = frozenset(self.plan.predicates)
        self.inverse = frozenset(self.plan.inverse)
        self.inverse_keys = {p: "^" + p for p in self.inverse}
        self.chains: dict[tuple[Any, ...], Callable[[Index, Any], Sequence[Any]]] = {}
        grouped: dict[tuple[Any, ...], list[tuple[Unit, Check]]] = {}
        for unit in self.plan.units:
            if unit.chain and unit.chain not in self.chains:
                self.chains[unit.chain] = _chain([_path(p) for p in unit.chain])
            # units with the same focus nodes are checked together (one memo per group)
            grouped.setdefault((self.plan.targets[unit.root], unit.chain), []).append((unit, self.linked.reports[unit.shape]))
        self.groups: list[tuple[tuple[Any, ...], tuple[Any, ...], list[tuple[Unit, Check]], dict[int, tuple[int, ...]]]] = []
        for (specs, chain), members in grouped.items():
            memo: dict[int, tuple[int, ...]] = {}
            self.linked.group_memos.append(memo)
            self.groups.append((specs, chain, members, memo))
        # the targets of every group, found in one pass over the index (_scan): per distinct target
        # list, tests on each node (a class set against its types, or an edge key it must have) and
        # constant focus nodes
        self._target_specs = list(dict.fromkeys(specs for specs, _chain, _members, _memo in self.groups))
        self._target_checks: list[tuple[int, bool, Any]] = []
        self._target_nodes: list[tuple[int, Any]] = []
        for n, specs in enumerate(self._target_specs):
            for kind, argument in specs:
                if kind == "class":
                    self._target_checks.append((n, False, frozenset(argument)))
                elif kind == "node":
                    self._target_nodes.append((n, argument))
                elif kind == "subjectsOf":
                    self._target_checks.append((n, True, argument))
                elif kind == "objectsOf":
                    if argument not in self.inverse:
                        raise Unsupported("objects-of target without an inverse index")
                    self._target_checks.append((n, True, "^" + argument))
        # [lookups, hits] per group: a group whose focus nodes rarely share a signature (patients
        # do not: a patient is a combination of many records) stops paying for signatures
        self._group_stats = [[0, 0] for _ in self.groups]

    @classmethod
    def cached(cls) -> LocalEngine:
        """The engine for the package's shapes and KB, its plan from the user cache when up to date."""
        from npc_kg.kg.load import cached, graph_files
        from npc_kg.shacl.shapes import shape_files

        def build() -> dict[str, object]:
            engine = cls()
            return {name: getattr(engine, name) for name in cls._STATE}

        code = [Path(__file__), Path(__file__).with_name("plan.py"), Path(__file__).with_name("sparql_compiler.py")]
        state = cached("local-engine", [*graph_files(), *shape_files(), *code], build)
        engine = cls.__new__(cls)
        engine.__dict__.update(state)
        engine._link()
        return engine

    # -- index -----------------------------------------------------------------------------------
    def index(self, triples: Iterable[Any]) -> Index:
        """Build the index of pyoxigraph triples or quads (graph names ignored: the union graph)."""
        return self.index_terms(_index_terms(triples))

    def index_terms(self, triples: Iterable[tuple[str, str, Any]]) -> Index:
        """Build the index of ``(subject, predicate, object)`` index terms (see the module docstring)."""
        idx: Index = {}
        needed, inverse, every = self.needed, self.inverse, self.plan.all_predicates
        for s, pred, o in triples:
            if pred not in needed and not every:
                if pred == _SUBCLASS:
                    raise Unsupported("the data has rdfs:subClassOf triples")
                continue
            edges = idx.get(s)
            if edges is None:
                edges = idx[s] = {}
            values = edges.get(pred)
            if values is None:
                edges[pred] = [o]
            elif o not in values:
                values.append(o)
            if pred in inverse:
                back = idx.get(o)
                if back is None:
                    back = idx[o] = {}
                key = "^" + pred
                values = back.get(key)
                if values is None:
                    back[key] = [s]
                elif s not in values:
                    values.append(s)
        return idx

    def index_strict(self, data: bytes) -> Index:
        """The index of strict one-triple-per-line N-Triples (C accelerator if built), or :class:`NotStrict`."""
        if self.native is None:
            return self.index_terms(strict_triples(data))
        return strict_index(self.native, data, self.needed, self.inverse_keys, self.plan.all_predicates, Unsupported)

    # -- assessment ------------------------------------------------------------------------------
    def assess_index(self, idx: Index, order: Iterable[str] = ()) -> list[PatientRow]:
        """One row per patient of the index (asserted ``npc:Patient``), ``order`` first, then IRI order."""
        patients, hits = self.patient_hits(idx)
        errors, marks = self._results(hits)
        ordered = [p for p in dict.fromkeys(order) if p in patients]
        if len(ordered) < len(patients):
            ordered += sorted(patients - set(ordered))
        columns = [(c.iri, c.iri in self.implemented) for c in self.criteria]
        rows = []
        nothing: dict[str, int] = {}
        for patient in ordered:
            if patient in errors:
                rows.append(PatientRow(patient, "error", {}, "breaks the patient model: " + ", ".join(sorted(errors[patient]))))
                continue
            found = marks.get(patient, nothing)
            statuses = {}
            worst = 0
            for iri, implemented in columns:
                rank = found.get(iri, 0)
                if rank == 0 and not implemented:
                    rank = 1
                statuses[iri] = _STATUS[rank]
                if rank > worst:
                    worst = rank
            rows.append(PatientRow(patient, _VERDICT[worst], statuses))
        return rows

    def _scan(self, idx: Index) -> tuple[set[str], dict[tuple[Any, ...], list[Any]]]:
        """The patients (asserted ``npc:Patient``) and the focus nodes of every group's targets, in one pass."""
        found: list[dict[Any, None]] = [{} for _ in self._target_specs]
        patients: set[str] = set()
        checks = self._target_checks
        for node, edges in idx.items():
            types = edges.get(_TYPE)
            if types and _PATIENT in types:
                patients.add(node)
            for n, by_key, argument in checks:
                if by_key:
                    if argument in edges:
                        found[n][node] = None
                elif types and not argument.isdisjoint(types):
                    found[n][node] = None
        for n, terms in self._target_nodes:
            for term in terms:
                found[n][_ox_term(term)] = None
        return patients, {specs: list(nodes) for specs, nodes in zip(self._target_specs, found, strict=True)}

    def hits(self, idx: Index) -> list[tuple[Unit, Any]]:
        """Every (unit, focus node) for which SHACL reports at least one result from that unit's shape."""
        return self._all_hits(idx, self._scan(idx)[1])

    def patient_hits(self, idx: Index) -> tuple[set[str], list[tuple[Unit, list[str]]]]:
        """The patients of the index, and every hit (:meth:`hits`) with the patients it counts for.

        A hit counts for its focus node if that is a patient, and for every patient that has the
        focus node as ``npc:hasFinding`` (a finding record).
        """
        patients, targets = self._scan(idx)
        return patients, [(unit, _owners(idx, focus, patients)) for unit, focus in self._all_hits(idx, targets)]

    def _all_hits(self, idx: Index, targets: dict[tuple[Any, ...], list[Any]]) -> list[tuple[Unit, Any]]:
        try:
            return self._hits(idx, targets, signatures=True)
        except (_Cycle, RecursionError):  # signatures need an acyclic graph of bounded depth
            return self._hits(idx, targets, signatures=False)

    def _hits(self, idx: Index, targets: dict[tuple[Any, ...], list[Any]], *, signatures: bool) -> list[tuple[Unit, Any]]:
        linked = self.linked
        linked.begin(signatures)
        out: list[tuple[Unit, Any]] = []
        try:
            for n, (specs, chain, members, memo) in enumerate(self.groups):
                roots = targets[specs]
                foci = roots
                if chain:
                    follow = self.chains[chain]
                    foci = list(dict.fromkeys(v for f in roots for v in follow(idx, f)))
                stats = self._group_stats[n]
                use_memo = linked.signature_mode and not (stats[0] > 2000 and stats[1] * 4 < stats[0])
                for focus in foci:
                    if use_memo:
                        sid = linked.focus_key(idx, focus)
                        failing = memo.get(sid)
                        stats[0] += 1
                        if failing is None:
                            failing = memo[sid] = tuple(i for i, (_u, reports) in enumerate(members) if reports(idx, focus))
                        else:
                            stats[1] += 1
                    else:
                        failing = tuple(i for i, (_u, reports) in enumerate(members) if reports(idx, focus))
                    for i in failing:
                        out.append((members[i][0], focus))
        finally:
            linked.end()
        return out

    @staticmethod
    def _results(hits: list[tuple[Unit, list[str]]]) -> tuple[dict[str, set[str]], dict[str, dict[str, int]]]:
        """Patient-model shape names per patient, and per patient the worst rank per criterion (2 violated, 1 unknown)."""
        errors: dict[str, set[str]] = {}
        marks: dict[str, dict[str, int]] = {}
        for unit, owners in hits:
            rank = _RANK.get(unit.severity, 0)
            if unit.criterion is not None and rank == 0:
                continue  # sh:Info (or another severity) never changes a status
            for patient in owners:
                if unit.criterion is None:
                    errors.setdefault(patient, set()).add(unit.name)
                else:
                    found = marks.get(patient)
                    if found is None:
                        found = marks[patient] = {}
                    if found.get(unit.criterion, 0) < rank:
                        found[unit.criterion] = rank
        return errors, marks

    def assess_batch(self, batch: Any) -> list[PatientRow]:
        """Rows for a :class:`npc_kg.cohort.reader.Batch`: its patients in input order, then unreadable records."""
        with _gc_paused():
            rows, batch = self._assess_batch(batch)  # the index is freed before the collector resumes
        return rows + [PatientRow(e.subject, "error", {}, e.reason) for e in batch.errors]

    def _assess_batch(self, batch: Any) -> tuple[list[PatientRow], Any]:
        if batch.quads:
            idx = self.index(batch.quads)
        else:
            idx, batch = self.index_batch(batch)
        return self.assess_index(idx, batch.roots), batch

    def index_batch(self, batch: Any) -> tuple[Index, Any]:
        """The index of a batch's N-Triples/N-Quads data, and the batch (repaired if a record cannot be parsed).

        Strict one-triple-per-line N-Triples is read by :func:`strict_triples`; anything else,
        and any batch it gives up on, is parsed by pyoxigraph.
        """
        if batch.fmt in ("nt", "csv"):
            try:
                return self.index_strict(batch.data), batch
            except NotStrict:
                pass
        try:
            return self.index(_parse(batch.data, batch.fmt)), batch
        except SyntaxError:
            batch = batch.repair()
            return self.index(_parse(batch.data, batch.fmt)), batch


def _owners(idx: Index, focus: Any, patients: set[str]) -> list[str]:
    """The patients a result on ``focus`` counts for: ``focus`` itself, and the patients that have it as a finding."""
    owners = [focus] if focus in patients else []
    if type(focus) is str:
        owners += [o for o in idx.get(focus, _NO_EDGES).get(_FINDING_OWNERS, _NONE) if o in patients]
    return owners


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector for one batch.

    A batch makes tens of thousands of dicts and lists (its index), which would trigger many
    collections that each walk the engine's long-lived memos; the index has no reference cycles
    and is freed by reference counting, so collecting once the batch is done loses nothing.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _parse(data: bytes, fmt: str) -> Iterator[Any]:
    if not data:
        return iter(())
    return iter(ox.parse(input=data, format=_OX_FORMAT.get(fmt, ox.RdfFormat.N_TRIPLES)))


def _index_terms(quads: Iterable[Any]) -> Iterator[tuple[str, str, Any]]:
    """pyoxigraph triples or quads as index terms (IRI strings, ``_:label``, literals)."""
    named, blank = ox.NamedNode, ox.BlankNode
    for quad in quads:
        subject, obj = quad.subject, quad.object
        kind = type(subject)
        s = subject.value if kind is named else "_:" + subject.value if kind is blank else None
        kind = type(obj)
        o = obj.value if kind is named else "_:" + obj.value if kind is blank else obj
        if s is None or type(o) is ox.Triple:
            raise Unsupported("RDF-star triple terms")
        yield s, quad.predicate.value, o


def _chain(steps: list[Callable[[Index, Any], Sequence[Any]]]) -> Callable[[Index, Any], Sequence[Any]]:
    def follow(idx: Index, node: Any) -> Sequence[Any]:
        current: Sequence[Any] = (node,)
        for step in steps:
            current = list(dict.fromkeys(v for n in current for v in step(idx, n)))
        return current

    return follow


_DEFAULT: LocalEngine | None = None


def default_engine() -> LocalEngine:
    """The engine for the package's shapes and KB (plan from the user cache), built once per process."""
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = LocalEngine.cached()
    return _DEFAULT


def rdflib_triples(graph: Graph) -> Iterator[Any]:
    """An rdflib graph's triples as pyoxigraph triples (for :meth:`LocalEngine.index`)."""
    for s, p, o in graph:
        subject = to_oxigraph(s)
        if isinstance(subject, ox.Literal):
            raise Unsupported("a literal as subject (generalised RDF)")
        yield ox.Triple(subject, ox.NamedNode(str(p)), to_oxigraph(o))


def evaluate_graph(graph: Graph, engine: LocalEngine | None = None) -> dict[str, PatientRow]:
    """Assess every patient (``rdf:type npc:Patient``) of an rdflib graph: ``{patient IRI: row}``.

    The row holds the verdict, one status per criterion IRI, or the error reason. Uses the
    package's shapes (plan from the user cache) unless ``engine`` is given.
    """
    engine = engine or default_engine()
    rows = engine.assess_index(engine.index(rdflib_triples(graph)))
    return {row.patient: row for row in rows}
