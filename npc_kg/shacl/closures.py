"""The plan compiled to Python closures over an in-memory index (no store, no SPARQL): the default evaluator.

A batch of patient records is read (by the strict N-Triples reader of
:mod:`npc_kg.cohort.ntriples`, or else by pyoxigraph's parser) into an index
``{node: {predicate: [objects]}}`` (IRIs as strings, blank nodes as ``_:label``, literals as
pyoxigraph literals in their :func:`~npc_kg.shacl.values.canonical` form; ``^predicate`` keys
hold the inverse edges the shapes need), and every result-producing shape of the plan
(:mod:`npc_kg.shacl.plan`) is checked on its focus nodes. A patient's verdict only depends on the
nodes reachable from it along the shapes' paths (its finding records), so the answers equal those
of a run over the whole batch: this *is* a run over the whole batch, with the batch as the data
graph, exactly as the reference (pySHACL) and the SPARQL evaluator see it.

Each constraint kind is linked by ONE entry of :data:`BUILDERS`; value-level kinds use the tests
of :mod:`npc_kg.shacl.values` (pySHACL's literal rules, memoised per literal). The evaluator
returns *hits* (:data:`npc_kg.core.rules.Hit`); the rules make rows of them. A plan with units
outside this subset, or a batch it cannot answer (``rdfs:subClassOf`` triples in the data,
RDF-star triples), raises :class:`Unsupported`: the caller then uses the SPARQL evaluator (and
pySHACL behind it), never a guess.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from functools import partial
from typing import Any

import pyoxigraph as ox
from rdflib import RDF, RDFS, XSD, Graph

from npc_kg.cohort.native import load_native
from npc_kg.cohort.ntriples import strict_index, strict_triples
from npc_kg.core.rules import Hit, owners_of
from npc_kg.namespace import NPC
from npc_kg.shacl.plan import Plan, Unit, Unsupported
from npc_kg.shacl.values import VALUE_TESTS, canonical, plan_term, value_test
from npc_kg.sparql.terms import to_oxigraph

__all__ = ["BUILDERS", "ClosureEvaluator", "Index", "Unsupported", "gc_paused", "index_terms", "rdflib_triples"]


class Index(dict[Any, dict[str, list[Any]]]):
    """A batch's index ``{node: {edge key: [values]}}``, with the targets found while it was built.

    ``firsts[key]`` lists the nodes in the order each got its first edge of that key (the keys
    the targets need: ``subjectsOf`` predicates, ``^predicate`` for ``objectsOf``); ``typed[c]``
    lists the nodes typed ``c`` (the target classes, and ``npc:Patient``). Finding the focus
    nodes then needs no pass over the index: that pass cost a tenth of a batch's time, most of
    it waiting for memory.
    """

    __slots__ = ("firsts", "typed")

    def __init__(self, firsts: Iterable[str] = (), typed: Iterable[str] = ()) -> None:
        super().__init__()
        self.firsts: dict[str, list[Any]] = {key: [] for key in firsts}
        self.typed: dict[str, list[Any]] = {cls: [] for cls in typed}


Check = Callable[[Index, Any], bool]
Part = Callable[[Index, Any, Sequence[Any]], bool]

_XSD_STRING = str(XSD) + "string"
_TYPE = str(RDF.type)
_SUBCLASS = str(RDFS.subClassOf)
_FINDING_OWNERS = "^" + str(NPC.hasFinding)  # index key of the patients that have a finding record
_PATIENT = str(NPC.Patient)
_MEMO_LIMIT = 200_000
_NO_EDGES: dict[str, list[Any]] = {}
_NONE: tuple[Any, ...] = ()


# ---------------------------------------------------------------------------------------------
# Terms and paths
# ---------------------------------------------------------------------------------------------

def _node_key(_idx: Index, node: Any) -> Any:
    return node


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
    if kind not in ("zom", "oom", "zoo"):
        raise Unsupported(f"path {kind}")
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
        if getattr(native, "sid", None) is not None:  # the C accelerator signs nodes exactly as _sid and _focus_key do
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
            if len(values) == 1:  # the common case, without a row list
                value = values[0]
                k = sids.get(value)
                if k is None or k < 0:
                    k = sid(idx, value)
                if type(value) is str and idx.get(value):
                    k = behaviour(idx, value, k)
                parts += (pred, k)
                continue
            row: list[Any] = []
            for value in values:
                k = sids.get(value)
                if k is None or k < 0:
                    k = sid(idx, value)
                if type(value) is str and idx.get(value):
                    k = behaviour(idx, value, k)
                row.append(k)
            row.sort()
            parts += (pred, -len(row), *row)
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
                if len(values) == 1:  # the common case: the predicate, then the value's signature
                    parts.append(pred)
                else:  # several values: a negative count, then their signatures
                    parts += (pred, -len(values))
                for value in values:
                    k = sids.get(value)
                    if k is None:
                        k = sid(idx, value)
                    elif k < 0:
                        raise _Cycle
                    if shallow and type(value) is str and value in idx:
                        shallow = False
                    parts.append(k)
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

    def _constraint(self, c: tuple[Any, ...], path: Any = None) -> Part:
        if c[0] in VALUE_TESTS:
            return self._each(value_test(c), c)
        builder = BUILDERS.get(c[0])
        if builder is None:
            raise Unsupported(f"the closure evaluator has no builder for {c[0]}")
        return builder(self, c, path)


# ---------------------------------------------------------------------------------------------
# The builder table: constraint kind -> part (idx, focus, value nodes) -> conforms
# (value-level kinds come from npc_kg.shacl.values.VALUE_TESTS)
# ---------------------------------------------------------------------------------------------

Builder = Callable[[_Linked, tuple[Any, ...], Any], Part]


def _class(linked: _Linked, c: tuple[Any, ...], _path: Any) -> Part:
    allowed = frozenset(c[1])

    def has_class(idx: Index, _focus: Any, found: Sequence[Any]) -> bool:
        for value in found:
            for t in idx.get(value, _NO_EDGES).get(_TYPE, _NONE):
                if t in allowed:
                    break
            else:
                return False
        return True

    if c not in linked._tested:
        linked._tested.add(c)
        linked.class_tests.append(lambda idx, found: has_class(idx, None, found))
    return has_class


def _has_value(linked: _Linked, c: tuple[Any, ...], _path: Any) -> Part:
    wanted = plan_term(c[1])
    linked.literal_tests.append(lambda v: v == wanted)
    return lambda _idx, _focus, found: wanted in found


def _unique_lang(_linked: _Linked, _c: tuple[Any, ...], _path: Any) -> Part:
    def unique(_idx: Index, _focus: Any, found: Sequence[Any]) -> bool:
        tags = [v.language.lower() for v in found if type(v) is not str and v.language]
        return len(tags) == len(set(tags))

    return unique


def _conforms_each(linked: _Linked, c: tuple[Any, ...], _path: Any) -> Part:
    inner = linked._conformance(c[1])
    return lambda idx, _focus, found: all(inner(idx, v) for v in found)


def _not(linked: _Linked, c: tuple[Any, ...], _path: Any) -> Part:
    inner = linked._conformance(c[1])
    return lambda idx, _focus, found: not any(inner(idx, v) for v in found)


def _and(linked: _Linked, c: tuple[Any, ...], _path: Any) -> Part:
    members = [linked._conformance(k) for k in c[1]]
    return lambda idx, _focus, found: all(all(m(idx, v) for m in members) for v in found)


def _or(linked: _Linked, c: tuple[Any, ...], _path: Any) -> Part:
    members = [linked._conformance(k) for k in c[1]]
    return lambda idx, _focus, found: all(any(m(idx, v) for m in members) for v in found)


def _xone(linked: _Linked, c: tuple[Any, ...], _path: Any) -> Part:
    members = [linked._conformance(k) for k in c[1]]
    return lambda idx, _focus, found: all(sum(m(idx, v) for m in members) == 1 for v in found)


def _min_count(_linked: _Linked, c: tuple[Any, ...], _path: Any) -> Part:
    low = c[1]
    return lambda _idx, _focus, found: len(found) >= low


def _max_count(_linked: _Linked, c: tuple[Any, ...], _path: Any) -> Part:
    high = c[1]
    return lambda _idx, _focus, found: len(found) <= high


def _qualified(linked: _Linked, c: tuple[Any, ...], path: Any) -> Part:
    qmin, qmax = c[2], c[3]
    packed = linked._packers[path]
    offset = 16 * packed.shapes.index(c[1])

    def qualified(idx: Index, focus: Any, found: Sequence[Any]) -> bool:
        count = (packed.counts(idx, focus, found) >> offset) & 0xFFFF
        return (qmin is None or count >= qmin) and (qmax is None or count <= qmax)

    return qualified


def _closed(_linked: _Linked, c: tuple[Any, ...], _path: Any) -> Part:
    allowed = frozenset(c[1])

    def closed(idx: Index, _focus: Any, found: Sequence[Any]) -> bool:
        for value in found:
            for pred in idx.get(value, _NO_EDGES):
                if pred[0] != "^" and pred not in allowed:
                    return False
        return True

    return closed


def _equals(_linked: _Linked, c: tuple[Any, ...], _path: Any) -> Part:
    other = c[1]
    return lambda idx, focus, found: set(found) == set(idx.get(focus, _NO_EDGES).get(other, _NONE))


def _disjoint(_linked: _Linked, c: tuple[Any, ...], _path: Any) -> Part:
    other = c[1]
    return lambda idx, focus, found: not (set(found) & set(idx.get(focus, _NO_EDGES).get(other, _NONE)))


BUILDERS: dict[str, Builder] = {
    "class": _class,
    "hasValue": _has_value,
    "uniqueLang": _unique_lang,
    "node": _conforms_each,
    "property": _conforms_each,
    "not": _not,
    "and": _and,
    "or": _or,
    "xone": _xone,
    "minCount": _min_count,
    "maxCount": _max_count,
    "qualified": _qualified,
    "closed": _closed,
    "equals": _equals,
    "disjoint": _disjoint,
}
"""How each non-value constraint kind of the plan is linked: kind -> builder."""

# ---------------------------------------------------------------------------------------------
# The evaluator
# ---------------------------------------------------------------------------------------------


class ClosureEvaluator:
    """The plan's units as Python closures, applied to an index of a batch (or graph) of patients.

    Raises :class:`Unsupported` if a unit is outside the plan's subset or has a constraint kind
    without a builder. ``native`` is the optional C accelerator (default: the built one, if any).
    """

    def __init__(self, plan: Plan, *, native: Any = "auto") -> None:
        refused = plan.unsupported()
        if refused:
            raise Unsupported(f"{refused[0].shape}: {refused[0].unsupported}")
        self.plan = plan
        self.native = load_native() if native == "auto" else native
        self.linked = _Linked(plan, self.native)
        self.needed = frozenset(plan.predicates)
        self.inverse = frozenset(plan.inverse)
        self.inverse_keys = {p: "^" + p for p in self.inverse}
        self.chains: dict[tuple[Any, ...], Callable[[Index, Any], Sequence[Any]]] = {}
        grouped: dict[tuple[Any, ...], list[tuple[Unit, Check]]] = {}
        for unit in plan.units:
            if unit.chain and unit.chain not in self.chains:
                self.chains[unit.chain] = _chain([_path(p) for p in unit.chain])
            # units with the same focus nodes are checked together (one memo per group)
            grouped.setdefault((plan.targets[unit.root], unit.chain), []).append((unit, self.linked.reports[unit.shape]))
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
                    self._target_checks.append((n, False, tuple(sorted(set(argument)))))  # in a fixed order
                elif kind == "node":
                    self._target_nodes.append((n, argument))
                elif kind == "subjectsOf":
                    self._target_checks.append((n, True, argument))
                elif kind == "objectsOf":
                    self._target_checks.append((n, True, "^" + argument))
        self._watched_keys = sorted({argument for _n, keyed, argument in self._target_checks if keyed})
        self._watched_classes = sorted({_PATIENT, *(c for _n, keyed, argument in self._target_checks if not keyed
                                                    for c in argument)})
        # [lookups, hits] per group: a group whose focus nodes rarely share a signature (patients
        # do not: a patient is a combination of many records) stops paying for signatures
        self._group_stats = [[0, 0] for _ in self.groups]

    # -- index -----------------------------------------------------------------------------------
    def index(self, triples: Iterable[Any]) -> Index:
        """Build the index of pyoxigraph triples or quads (graph names ignored: the union graph)."""
        return self.index_terms(index_terms(triples))

    def new_index(self) -> Index:
        """An empty index that notes the nodes this evaluator's targets need."""
        return Index(self._watched_keys, self._watched_classes)

    def index_terms(self, triples: Iterable[tuple[str, str, Any]]) -> Index:
        """Build the index of ``(subject, predicate, object)`` index terms (see the module docstring)."""
        idx = self.new_index()
        firsts, typed = idx.firsts, idx.typed
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
                if pred in firsts:
                    firsts[pred].append(s)
                if pred == _TYPE and o in typed:
                    typed[o].append(s)
            elif o not in values:
                values.append(o)
                if pred == _TYPE and o in typed:
                    typed[o].append(s)
            if pred in inverse:
                back = idx.get(o)
                if back is None:
                    back = idx[o] = {}
                key = "^" + pred
                values = back.get(key)
                if values is None:
                    back[key] = [s]
                    if key in firsts:
                        firsts[key].append(o)
                elif s not in values:
                    values.append(s)
        return idx

    def index_strict(self, data: bytes) -> Index:
        """The index of strict one-triple-per-line N-Triples (C accelerator if built), or ``NotStrict``."""
        if self.native is None:
            return self.index_terms(strict_triples(data))
        idx = self.new_index()
        strict_index(self.native, data, idx, self.needed, self.inverse_keys, self.plan.all_predicates, Unsupported)
        return idx

    def index_graph(self, graph: Graph) -> Index:
        """The index of an rdflib graph."""
        return self.index(rdflib_triples(graph))

    # -- hits ------------------------------------------------------------------------------------
    def _scan(self, idx: Index) -> tuple[set[str], dict[tuple[Any, ...], list[Any]]]:
        """The patients (asserted ``npc:Patient``) and the focus nodes of every group's targets (noted by the index)."""
        firsts, typed = idx.firsts, idx.typed
        patients = set(typed[_PATIENT])
        found: list[dict[Any, None]] = [{} for _ in self._target_specs]
        for n, keyed, argument in self._target_checks:
            if keyed:
                found[n].update(dict.fromkeys(firsts[argument]))
            else:
                for cls in argument:
                    found[n].update(dict.fromkeys(typed[cls]))
        for n, terms in self._target_nodes:
            for term in terms:
                found[n][plan_term(term)] = None
        return patients, {specs: list(nodes) for specs, nodes in zip(self._target_specs, found, strict=True)}

    def hits(self, idx: Index) -> tuple[set[str], list[Hit]]:
        """The patients of the index (asserted ``npc:Patient``), and every hit: (unit, focus node, owners)."""
        if not isinstance(idx, Index):
            raise TypeError("hits() takes an Index built by this evaluator (index, index_terms, index_strict, "
                            f"index_graph), not a {type(idx).__name__}: it notes the target nodes as it is built")
        patients, targets = self._scan(idx)
        try:
            found = self._hits(idx, targets, signatures=True)
        except (_Cycle, RecursionError):  # signatures need an acyclic graph of bounded depth
            found = self._hits(idx, targets, signatures=False)
        return patients, [(unit, focus, owners_of(focus, patients, idx.get(focus, _NO_EDGES).get(_FINDING_OWNERS, _NONE)))
                          for unit, focus in found]

    def graph_hits(self, graph: Graph) -> tuple[set[str], list[Hit]]:
        """:meth:`hits` of an rdflib graph."""
        return self.hits(self.index_graph(graph))

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
                batch_sids, shallow, focus_key = linked.batch_sids, linked.shallow, linked.focus_key
                for focus in foci:
                    if use_memo:
                        sid = batch_sids.get(focus)  # focus_key's first case, inline (most finding records)
                        if sid is None or sid < 0 or sid not in shallow:
                            sid = focus_key(idx, focus)
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


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector for one batch.

    A batch makes tens of thousands of dicts and lists (its index), which would trigger many
    collections that each walk the evaluator's long-lived memos; the index has no reference
    cycles and is freed by reference counting, so collecting once the batch is done loses nothing.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def index_terms(quads: Iterable[Any]) -> Iterator[tuple[str, str, Any]]:
    """pyoxigraph triples or quads as index terms (IRI strings, ``_:label``, canonical literals)."""
    named, blank, literal = ox.NamedNode, ox.BlankNode, ox.Literal
    for quad in quads:
        subject, obj = quad.subject, quad.object
        kind = type(subject)
        s = subject.value if kind is named else "_:" + subject.value if kind is blank else None
        kind = type(obj)
        o = obj.value if kind is named else "_:" + obj.value if kind is blank else canonical(obj) if kind is literal else obj
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


def rdflib_triples(graph: Graph) -> Iterator[Any]:
    """An rdflib graph's triples as pyoxigraph triples (for :meth:`ClosureEvaluator.index`)."""
    for s, p, o in graph:
        subject = to_oxigraph(s)
        if isinstance(subject, ox.Literal):
            raise Unsupported("a literal as subject (generalised RDF)")
        yield ox.Triple(subject, ox.NamedNode(str(p)), to_oxigraph(o))
