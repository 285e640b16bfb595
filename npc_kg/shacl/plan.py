"""One reader of the shapes graph: the *plan* every evaluator is built from.

The plan holds only strings, numbers and tuples (so it pickles into the user cache):

- ``shapes``: every shape by id (its IRI, or ``_:label``), with its path and its constraints;
- ``units``: the shapes that produce validation results (a shape with targets, each property
  shape under it, and property shapes nested under those, whose focus nodes are the parent's
  value nodes, as in SHACL), each with its root, chain of paths, severity, criterion
  (``npc:criterion``), field name (``sh:name``), ``sh:message`` and ``npc:missingDataItem``;
- ``targets`` per root, the predicates a data index must keep, and the IRIs the shapes name.

Terms: an IRI is its string, a literal is ``("lit", lexical, datatype, language)``. Paths:
``("pred", iri)``, ``("inv", iri)``, ``("seq", paths)``, ``("alt", paths)``, ``("zom", path)``,
``("oom", path)``, ``("zoo", path)``; an inverse of a complex path is pushed down to its
predicates (``^(a/b)`` is ``^b/^a``).

A constraint component is read by ONE entry of :data:`COMPONENTS` (``sh:`` local name -> parser);
the evaluators have one entry per constraint kind each (:mod:`npc_kg.shacl.closures`,
:mod:`npc_kg.shacl.sparql_queries`). A shape that uses anything else is *refused* (with the
reason in ``Plan.refused``), and so is every unit that depends on it (``Unit.unsupported``):
an evaluator hands such units to the next one (closures -> SPARQL -> pySHACL), never a guess.

Read: targets (class with the ``rdfs:subClassOf`` closure, implicit class, node, subjects-of,
objects-of); paths (predicate, inverse, sequence, alternative, ``*``, ``+``, ``?``); ``class``,
``datatype``, ``nodeKind``, ``in``, ``hasValue``, min/max inclusive/exclusive, min/max length,
``pattern`` (+ ``flags``), ``languageIn``, ``uniqueLang``, ``node``, ``not``, ``and``, ``or``,
``xone``, ``property``, ``minCount``/``maxCount``, qualified value shapes (not disjoint),
``closed`` + ``ignoredProperties``, ``equals``, ``disjoint``, ``deactivated``, ``severity``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from rdflib import OWL, RDF, RDFS, XSD, BNode, Graph, Literal, URIRef
from rdflib.collection import Collection
from rdflib.term import Node

from npc_kg.namespace import NPC, SH

__all__ = ["COMPONENTS", "Plan", "Unit", "Unsupported", "read_plan", "shape_name", "shape_roots"]

_XSD_STRING = str(XSD.string)

# sh: predicates that carry no constraint of their own (or are read with another one).
_IGNORED = {
    "path", "targetClass", "targetNode", "targetSubjectsOf", "targetObjectsOf", "severity", "message",
    "name", "description", "order", "group", "deactivated", "defaultValue", "property", "ignoredProperties",
    "qualifiedMinCount", "qualifiedMaxCount", "qualifiedValueShapesDisjoint", "flags",
}
_NODE_KINDS = {"IRI", "BlankNode", "Literal", "BlankNodeOrIRI", "BlankNodeOrLiteral", "IRIOrLiteral"}
_REFERENCES = {"node", "not", "property", "and", "or", "xone", "qualified"}
"""Constraint kinds that name other shapes of the plan."""


class Unsupported(Exception):
    """The shapes or the data use something an evaluator does not implement: use the next evaluator."""


@dataclass(frozen=True)
class Unit:
    """A result-producing shape: its focus nodes (root's targets, then the chain of paths) and what it says."""

    shape: str
    root: str
    chain: tuple[Any, ...]
    severity: str
    criterion: str | None
    name: str
    """The field name in error rows: ``sh:name`` (or the parent's), else ``rdfs:label``."""
    messages: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()
    """``npc:missingDataItem`` values."""
    unsupported: str | None = None
    """Why the plan cannot express this unit (a shape it depends on was refused), or None."""


@dataclass
class Plan:
    """The shapes as plain data: shape table, units, targets per root, and what a data index must keep."""

    shapes: dict[str, tuple[Any, tuple[Any, ...]]] = field(default_factory=dict)  # id -> (path, constraints)
    units: list[Unit] = field(default_factory=list)
    targets: dict[str, tuple[Any, ...]] = field(default_factory=dict)  # root id -> target specs
    predicates: set[str] = field(default_factory=set)
    """Predicates some shape reads (forwards or backwards)."""
    inverse: set[str] = field(default_factory=set)
    """Predicates some shape walks backwards."""
    all_predicates: bool = False  # sh:closed reads every predicate of a node
    inverse_paths: bool = False  # some shape walks an edge backwards
    compares_values: bool = False  # sh:equals / sh:disjoint compare value sets of two paths
    string_tests: bool = False  # some constraint reads the text of a value (length, pattern, language)
    constants: set[str] = field(default_factory=set)  # IRIs named by sh:in / sh:hasValue / targets
    refused: dict[str, str] = field(default_factory=dict)
    """Shapes the reader could not express, with the reason."""
    implemented: frozenset[str] = frozenset()
    """The criteria some shape names with ``npc:criterion``."""

    def unsupported(self) -> list[Unit]:
        """The units the plan cannot express (see :attr:`Unit.unsupported`)."""
        return [u for u in self.units if u.unsupported is not None]


def _id(node: Node) -> str:
    if isinstance(node, BNode):
        return f"_:{node}"
    return str(node)


def _term(node: Node) -> Any:
    if isinstance(node, URIRef):
        return str(node)
    if isinstance(node, Literal):
        return ("lit", str(node), str(node.datatype) if node.datatype else None, node.language)
    raise Unsupported("blank node used as a value in a shape")


def _iri(node: Node | None) -> str:
    if not isinstance(node, URIRef):
        raise Unsupported("expected an IRI in a shape")
    return str(node)


def _int(node: Node | None) -> int:
    if not isinstance(node, Literal) or not isinstance(node.toPython(), int) or isinstance(node.toPython(), bool):
        raise Unsupported("expected an integer in a shape")
    return int(node.toPython())


def _true(node: Node | None) -> bool:
    return isinstance(node, Literal) and node.toPython() is True


class _Reader:
    def __init__(self, g: Graph, closure: Mapping[str, frozenset[str]]) -> None:
        self.g = g
        self.closure = closure
        self.plan = Plan()
        self.busy: set[str] = set()

    def one(self, shape: Node, pred: URIRef) -> Node | None:
        values = list(self.g.objects(shape, pred))
        if len(values) > 1:
            raise Unsupported(f"several values of {pred} on one shape")
        return values[0] if values else None

    def items(self, node: Node | None) -> list[Node]:
        if node is None:
            raise Unsupported("missing list")
        return list(Collection(self.g, node))

    def constant(self, node: Node) -> Any:
        term = _term(node)
        if isinstance(term, str):
            self.plan.constants.add(term)
        elif term[2] in (None, _XSD_STRING) or term[3]:
            self.plan.string_tests = True  # a string constant: equality reads the text
        return term

    def classes(self, cls: Node) -> tuple[str, ...]:
        name = _iri(cls)
        return tuple(sorted(self.closure.get(name, frozenset()) | {name}))

    def path(self, node: Node, inverse: bool = False) -> Any:
        """The plan path of ``node`` (walked backwards if ``inverse``): inverses end up on predicates."""
        if isinstance(node, URIRef):
            self.plan.predicates.add(str(node))
            if not inverse:
                return ("pred", str(node))
            self.plan.inverse.add(str(node))
            self.plan.inverse_paths = True
            return ("inv", str(node))
        if (node, RDF.first, None) in self.g:
            steps = [self.path(p, inverse) for p in self.items(node)]
            return ("seq", tuple(reversed(steps) if inverse else steps))
        alternatives = self.one(node, SH.alternativePath)
        if alternatives is not None:
            return ("alt", tuple(self.path(p, inverse) for p in self.items(alternatives)))
        backwards = self.one(node, SH.inversePath)
        if backwards is not None:
            return self.path(backwards, not inverse)
        for pred, kind in ((SH.zeroOrMorePath, "zom"), (SH.oneOrMorePath, "oom"), (SH.zeroOrOnePath, "zoo")):
            value = self.one(node, pred)
            if value is not None:
                return (kind, self.path(value, inverse))
        raise Unsupported("unknown path form")

    def shape(self, shape: Node) -> str:
        """Read ``shape`` into the table (once) and return its id; a shape it cannot read is refused."""
        key = _id(shape)
        if key in self.busy:
            raise Unsupported("recursive shapes")
        if key in self.plan.shapes:
            return key
        self.busy.add(key)
        path: Any = None
        constraints: list[Any] = []
        try:
            path_node = self.one(shape, SH.path)
            path = self.path(path_node) if path_node is not None else None
            if not _true(self.one(shape, SH.deactivated)):
                constraints = self.constraints(shape, path is not None)
        except Unsupported as error:
            self.plan.refused[key] = str(error)
            path = path or ("unsupported",)
        finally:
            self.busy.discard(key)
        self.plan.shapes[key] = (path, tuple(constraints))
        return key

    def constraints(self, shape: Node, is_property: bool) -> list[Any]:
        out: list[Any] = []
        sh = str(SH)
        locals_ = {str(p)[len(sh):] for p in self.g.predicates(shape, None) if isinstance(p, URIRef) and str(p).startswith(sh)}
        for local in sorted(locals_ - _IGNORED):
            parser = COMPONENTS.get(local)
            if parser is None:
                raise Unsupported(f"sh:{local} is not supported")
            out += parser(self, shape, list(self.g.objects(shape, SH[local])), is_property)
        out += [("property", self.shape(p)) for p in sorted(self.g.objects(shape, SH.property), key=str)]
        out.sort(key=_cost)  # cheap checks first: the first failure decides conformance
        return out


# ---------------------------------------------------------------------------------------------
# The component table: sh: local name -> parser (reader, shape, values, is_property) -> constraints
# ---------------------------------------------------------------------------------------------

Parser = Callable[[_Reader, Node, list[Node], bool], list[tuple[Any, ...]]]


def _property_only(local: str, is_property: bool) -> None:
    if not is_property:
        raise Unsupported(f"sh:{local} on a node shape")


def _class(r: _Reader, _shape: Node, values: list[Node], _p: bool) -> list[tuple[Any, ...]]:
    return [("class", r.classes(v)) for v in values]


def _datatype(_r: _Reader, _shape: Node, values: list[Node], _p: bool) -> list[tuple[Any, ...]]:
    return [("datatype", _iri(v)) for v in values]


def _node_kind(_r: _Reader, _shape: Node, values: list[Node], _p: bool) -> list[tuple[Any, ...]]:
    out = []
    for v in values:
        kind = str(v)[len(str(SH)):] if str(v).startswith(str(SH)) else ""
        if kind not in _NODE_KINDS:
            raise Unsupported("unknown sh:nodeKind")
        out.append(("nodeKind", kind))
    return out


def _in(r: _Reader, _shape: Node, values: list[Node], _p: bool) -> list[tuple[Any, ...]]:
    return [("in", tuple(r.constant(t) for t in r.items(v))) for v in values]


def _has_value(r: _Reader, _shape: Node, values: list[Node], _p: bool) -> list[tuple[Any, ...]]:
    return [("hasValue", r.constant(v)) for v in values]


def _range(local: str) -> Parser:
    def parse(r: _Reader, _shape: Node, values: list[Node], _p: bool) -> list[tuple[Any, ...]]:
        out = []
        for v in values:
            if not isinstance(v, Literal):
                raise Unsupported(f"sh:{local} needs a literal")
            if isinstance(v.toPython(), str):
                r.plan.string_tests = True
            out.append((local, _term(v)))
        return out

    return parse


def _length(local: str) -> Parser:
    def parse(r: _Reader, _shape: Node, values: list[Node], _p: bool) -> list[tuple[Any, ...]]:
        r.plan.string_tests = True
        return [(local, _int(v)) for v in values]

    return parse


def _pattern(r: _Reader, shape: Node, values: list[Node], _p: bool) -> list[tuple[Any, ...]]:
    r.plan.string_tests = True
    flags = r.one(shape, SH.flags)
    return [("pattern", str(v), str(flags) if flags is not None else "") for v in values]


def _language_in(r: _Reader, _shape: Node, values: list[Node], _p: bool) -> list[tuple[Any, ...]]:
    r.plan.string_tests = True
    return [("languageIn", tuple(str(t).lower() for t in r.items(v))) for v in values]


def _unique_lang(r: _Reader, _shape: Node, values: list[Node], is_property: bool) -> list[tuple[Any, ...]]:
    _property_only("uniqueLang", is_property)
    if len(values) != 1 or not isinstance(values[0], Literal) or not isinstance(values[0].toPython(), bool):
        raise Unsupported("sh:uniqueLang must be one boolean")
    r.plan.string_tests = True
    return [("uniqueLang",)] if _true(values[0]) else []


def _shape_ref(kind: str) -> Parser:
    def parse(r: _Reader, _shape: Node, values: list[Node], _p: bool) -> list[tuple[Any, ...]]:
        return [(kind, r.shape(v)) for v in values]

    return parse


def _shape_list(kind: str) -> Parser:
    def parse(r: _Reader, _shape: Node, values: list[Node], _p: bool) -> list[tuple[Any, ...]]:
        return [(kind, tuple(r.shape(s) for s in r.items(v))) for v in values]

    return parse


def _count(local: str) -> Parser:
    def parse(_r: _Reader, _shape: Node, values: list[Node], is_property: bool) -> list[tuple[Any, ...]]:
        _property_only(local, is_property)
        return [(local, _int(v)) for v in values]

    return parse


def _qualified(r: _Reader, shape: Node, values: list[Node], is_property: bool) -> list[tuple[Any, ...]]:
    _property_only("qualifiedValueShape", is_property)
    if _true(r.one(shape, SH.qualifiedValueShapesDisjoint)):
        raise Unsupported("disjoint qualified value shapes")
    low, high = r.one(shape, SH.qualifiedMinCount), r.one(shape, SH.qualifiedMaxCount)
    return [("qualified", r.shape(v), _int(low) if low is not None else None, _int(high) if high is not None else None)
            for v in values]


def _closed(r: _Reader, shape: Node, values: list[Node], _p: bool) -> list[tuple[Any, ...]]:
    closed = values[0] if len(values) == 1 else None
    if not (isinstance(closed, Literal) and isinstance(closed.toPython(), bool)):
        raise Unsupported("sh:closed must be one boolean")
    if not closed.toPython():
        return []
    g = r.g
    ignored = tuple(_iri(t) for v in g.objects(shape, SH.ignoredProperties) for t in r.items(v))
    allowed = tuple(str(p) for prop in g.objects(shape, SH.property) for p in g.objects(prop, SH.path) if isinstance(p, URIRef))
    r.plan.all_predicates = True
    return [("closed", tuple(sorted(set(ignored) | set(allowed))))]


def _compare(local: str) -> Parser:
    def parse(r: _Reader, _shape: Node, values: list[Node], is_property: bool) -> list[tuple[Any, ...]]:
        _property_only(local, is_property)
        r.plan.compares_values = True
        out = []
        for v in values:
            r.plan.predicates.add(_iri(v))
            out.append((local, _iri(v)))
        return out

    return parse


COMPONENTS: dict[str, Parser] = {
    "class": _class,
    "datatype": _datatype,
    "nodeKind": _node_kind,
    "in": _in,
    "hasValue": _has_value,
    **{local: _range(local) for local in ("minInclusive", "maxInclusive", "minExclusive", "maxExclusive")},
    "minLength": _length("minLength"),
    "maxLength": _length("maxLength"),
    "pattern": _pattern,
    "languageIn": _language_in,
    "uniqueLang": _unique_lang,
    "node": _shape_ref("node"),
    "not": _shape_ref("not"),
    "and": _shape_list("and"),
    "or": _shape_list("or"),
    "xone": _shape_list("xone"),
    "minCount": _count("minCount"),
    "maxCount": _count("maxCount"),
    "qualifiedValueShape": _qualified,
    "closed": _closed,
    "equals": _compare("equals"),
    "disjoint": _compare("disjoint"),
}
"""How each supported constraint component is read: ``sh:`` local name -> parser."""


def _cost(constraint: tuple[Any, ...]) -> int:
    order = {"class": 0, "nodeKind": 1, "hasValue": 1, "in": 1, "minCount": 1, "maxCount": 1, "datatype": 2}
    return order.get(constraint[0], 3)


def _refs(constraint: tuple[Any, ...]) -> Iterator[str]:
    kind = constraint[0]
    if kind in ("node", "not", "property", "qualified"):
        yield constraint[1]
    elif kind in ("and", "or", "xone"):
        yield from constraint[1]


# ---------------------------------------------------------------------------------------------
# Targets, units, the plan
# ---------------------------------------------------------------------------------------------


def shape_name(shapes: Graph, shape: Node) -> str:
    """The field name of a patient-model shape in error rows: its ``sh:name`` (or its parent's), else its label."""
    name = shapes.value(shape, SH.name)
    if name is None:
        for parent in shapes.subjects(SH.property, shape):
            name = shapes.value(parent, SH.name)
            if name is not None:
                break
    label = shapes.value(shape, RDFS.label)
    return str(name) if name is not None else (str(label) if label is not None else "a structure rule")


def shape_roots(shapes: Graph) -> list[Node]:
    """The shapes that have targets: explicit ``sh:target*`` or implicit class targets."""
    roots: list[Node] = []
    for pred in (SH.targetClass, SH.targetNode, SH.targetSubjectsOf, SH.targetObjectsOf):
        roots += [s for s in dict.fromkeys(shapes.subjects(pred, None)) if s not in roots]
    for cls_type in (RDFS.Class, OWL.Class):
        for s in shapes.subjects(RDF.type, cls_type):
            if s not in roots and ((s, RDF.type, SH.NodeShape) in shapes or (s, SH.property, None) in shapes):
                roots.append(s)
    return roots


def _targets(r: _Reader, shape: Node) -> tuple[Any, ...]:
    g = r.g
    if (shape, SH.target, None) in g:
        raise Unsupported("sh:target (SHACL-AF custom targets) is not supported")
    specs: list[Any] = [("class", r.classes(cls)) for cls in g.objects(shape, SH.targetClass)]
    if (shape, RDF.type, RDFS.Class) in g or (shape, RDF.type, OWL.Class) in g:
        specs.append(("class", r.classes(shape)))
    nodes = list(g.objects(shape, SH.targetNode))
    if nodes:
        specs.append(("node", tuple(r.constant(n) for n in nodes)))
    for pred in g.objects(shape, SH.targetSubjectsOf):
        r.plan.predicates.add(_iri(pred))
        specs.append(("subjectsOf", _iri(pred)))
    for pred in g.objects(shape, SH.targetObjectsOf):
        r.plan.predicates.add(_iri(pred))
        r.plan.inverse.add(_iri(pred))
        specs.append(("objectsOf", _iri(pred)))
    return tuple(specs)


def read_plan(shapes: Graph, closure: Mapping[str, frozenset[str]]) -> Plan:
    """Read every result-producing shape of ``shapes`` into a :class:`Plan`.

    ``closure`` maps each class IRI to itself and its subclasses (the class hierarchy
    ``sh:class`` and class targets follow, see :func:`npc_kg.shacl.shapes.subclass_closure`).
    """
    r = _Reader(shapes, closure)
    r.plan.implemented = frozenset(str(o) for o in shapes.objects(None, NPC.criterion) if isinstance(o, URIRef))
    r.plan.predicates |= {str(RDF.type), str(NPC.hasFinding)}
    r.plan.inverse.add(str(NPC.hasFinding))  # the owners of a finding record (npc_kg.core.rules.owners_of)
    for root in sorted(shape_roots(shapes), key=str):
        if _true(shapes.value(root, SH.deactivated)):
            continue
        key = _id(root)
        reason = None
        try:
            r.plan.targets[key] = _targets(r, root)
        except Unsupported as error:
            r.plan.targets[key] = ()
            reason = str(error)
        _units(r, root, root, (), reason)
    return r.plan


def _units(r: _Reader, root: Node, shape: Node, chain: tuple[Any, ...], inherited: str | None) -> None:
    g = r.g
    if _true(g.value(shape, SH.deactivated)):
        return
    key = r.shape(shape)
    path, constraints = r.plan.shapes[key]
    reason = inherited or _refused(r.plan, [c for c in constraints if c[0] != "property"], {key})
    if reason is None and key in r.plan.refused:
        reason = r.plan.refused[key]
    severity = g.value(shape, SH.severity)
    criterion = g.value(shape, NPC.criterion)
    r.plan.units.append(Unit(
        key, _id(root), chain, str(severity) if isinstance(severity, URIRef) else str(SH.Violation),
        str(criterion) if isinstance(criterion, URIRef) else None, shape_name(g, shape),
        tuple(sorted(str(m) for m in g.objects(shape, SH.message))),
        tuple(sorted(str(i) for i in g.objects(shape, NPC.missingDataItem))),
        reason,
    ))
    step = chain + ((path,) if path is not None else ())
    below = inherited or (r.plan.refused.get(key) if path == ("unsupported",) else None)
    for prop in sorted(g.objects(shape, SH.property), key=str):
        _units(r, root, prop, step, below)


def _refused(plan: Plan, constraints: list[Any], seen: set[str]) -> str | None:
    """The reason a refused shape reachable through ``constraints`` gives, or None."""
    for constraint in constraints:
        for ref in _refs(constraint):
            if ref in seen:
                continue
            seen.add(ref)
            if ref in plan.refused:
                return plan.refused[ref]
            found = _refused(plan, list(plan.shapes.get(ref, (None, ()))[1]), seen)
            if found is not None:
                return found
    return None
