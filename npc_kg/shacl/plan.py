"""Compile SHACL Core shapes to a plain-data *plan* for the local evaluator (:mod:`npc_kg.shacl.closures`).

The plan holds only strings, numbers and tuples (so it pickles into the user cache): a table of
shapes by id, each with its path and its constraints, and the list of *units*, the shapes that
produce validation results (a shape with targets, each property shape under it, and property
shapes nested under those, whose focus nodes are the parent's value nodes, as in SHACL).
Terms: an IRI is its string, a literal is ``("lit", lexical, datatype, language)``.

Anything outside the subset below raises :class:`Unsupported`; the caller then uses another
engine (the SPARQL-compiled one, then pySHACL), never a guess.

Supported: targets (class with the ``rdfs:subClassOf`` closure, implicit class, node,
subjects-of, objects-of); paths (predicate, inverse, sequence, alternative, ``*``, ``+``, ``?``);
``class``, ``datatype``, ``nodeKind``, ``in``, ``hasValue``, min/max inclusive/exclusive,
min/max length, ``pattern`` (+ ``flags``), ``languageIn``, ``node``, ``not``, ``and``, ``or``,
``xone``, ``property``, ``minCount``/``maxCount``, qualified value shapes (not disjoint),
``closed`` + ``ignoredProperties``, ``equals``, ``disjoint``, ``deactivated``, ``severity``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from rdflib import OWL, RDF, RDFS, XSD, BNode, Graph, Literal, URIRef
from rdflib.collection import Collection
from rdflib.term import Node

from npc_kg.namespace import NPC, SH
from npc_kg.shacl.sparql_compiler import shape_name, shape_roots

__all__ = ["Plan", "Unit", "Unsupported", "compile_plan"]

_XSD_STRING = str(XSD.string)

# sh: predicates that carry no constraint of their own (or are read with another one).
_IGNORED = {
    "path", "targetClass", "targetNode", "targetSubjectsOf", "targetObjectsOf", "severity", "message",
    "name", "description", "order", "group", "deactivated", "defaultValue", "property", "ignoredProperties",
    "qualifiedMinCount", "qualifiedMaxCount", "flags",
}
_VALUE_TERM = {"minInclusive", "maxInclusive", "minExclusive", "maxExclusive"}
_NODE_KINDS = {"IRI", "BlankNode", "Literal", "BlankNodeOrIRI", "BlankNodeOrLiteral", "IRIOrLiteral"}


class Unsupported(Exception):
    """The shapes use something the local evaluator does not implement: use another engine."""


@dataclass(frozen=True)
class Unit:
    """A result-producing shape: its id, focus nodes (target spec + chain of paths), severity, criterion."""

    shape: str
    root: str
    chain: tuple[Any, ...]
    severity: str
    criterion: str | None
    name: str


@dataclass
class Plan:
    """The compiled shapes: shape table, units, target specs per root, and the predicates read."""

    shapes: dict[str, tuple[Any, tuple[Any, ...]]] = field(default_factory=dict)  # id -> (path, constraints)
    units: list[Unit] = field(default_factory=list)
    targets: dict[str, tuple[Any, ...]] = field(default_factory=dict)  # root id -> target specs
    predicates: set[str] = field(default_factory=set)
    inverse: set[str] = field(default_factory=set)
    all_predicates: bool = False  # sh:closed reads every predicate of a node
    inverse_paths: bool = False  # some shape walks an edge backwards
    compares_values: bool = False  # sh:equals / sh:disjoint compare value sets of two paths
    string_tests: bool = False  # some constraint reads the text of a value (length, pattern, language)
    constants: set[str] = field(default_factory=set)  # IRIs named by sh:in / sh:hasValue / targets


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


class _Compiler:
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

    def path(self, node: Node) -> Any:
        if isinstance(node, URIRef):
            self.plan.predicates.add(str(node))
            return ("pred", str(node))
        if (node, RDF.first, None) in self.g:
            return ("seq", tuple(self.path(p) for p in self.items(node)))
        for pred, kind in ((SH.alternativePath, "alt"),):
            value = self.one(node, pred)
            if value is not None:
                return (kind, tuple(self.path(p) for p in self.items(value)))
        inverse = self.one(node, SH.inversePath)
        if inverse is not None:
            if not isinstance(inverse, URIRef):
                raise Unsupported("complex inverse path")
            self.plan.inverse.add(str(inverse))
            self.plan.inverse_paths = True
            return ("inv", str(inverse))
        for pred, kind in ((SH.zeroOrMorePath, "zom"), (SH.oneOrMorePath, "oom"), (SH.zeroOrOnePath, "zoo")):
            value = self.one(node, pred)
            if value is not None:
                return (kind, self.path(value))
        raise Unsupported("unknown path form")

    def shape(self, shape: Node) -> str:
        """Compile ``shape`` into the table (once) and return its id."""
        key = _id(shape)
        if key in self.plan.shapes or key in self.busy:
            if key in self.busy:
                raise Unsupported("recursive shapes")
            return key
        self.busy.add(key)
        path_node = self.one(shape, SH.path)
        path = self.path(path_node) if path_node is not None else None
        deactivated = self.one(shape, SH.deactivated)
        constraints: list[Any] = []
        if not (isinstance(deactivated, Literal) and deactivated.toPython() is True):
            constraints = self.constraints(shape, path is not None)
        self.plan.shapes[key] = (path, tuple(constraints))
        self.busy.discard(key)
        return key

    def constraints(self, shape: Node, is_property: bool) -> list[Any]:
        g = self.g
        out: list[Any] = []
        preds = {p for p in g.predicates(shape, None) if isinstance(p, URIRef) and str(p).startswith(str(SH))}
        locals_ = {str(p)[len(str(SH)):] for p in preds}
        for local in sorted(locals_ - _IGNORED):
            values = list(g.objects(shape, SH[local]))
            if local == "class":
                out += [("class", self.classes(v)) for v in values]
            elif local == "datatype":
                out += [("datatype", _iri(v)) for v in values]
            elif local == "nodeKind":
                for v in values:
                    kind = str(v)[len(str(SH)):] if str(v).startswith(str(SH)) else ""
                    if kind not in _NODE_KINDS:
                        raise Unsupported("unknown sh:nodeKind")
                    out.append(("nodeKind", kind))
            elif local == "in":
                out += [("in", tuple(self.constant(t) for t in self.items(v))) for v in values]
            elif local == "hasValue":
                out += [("hasValue", self.constant(v)) for v in values]
            elif local in _VALUE_TERM:
                for v in values:
                    if not isinstance(v, Literal):
                        raise Unsupported(f"sh:{local} needs a literal")
                    if isinstance(v.toPython(), str):
                        self.plan.string_tests = True
                    out.append((local, _term(v)))
            elif local in ("minLength", "maxLength"):
                self.plan.string_tests = True
                out += [(local, _int(v)) for v in values]
            elif local == "pattern":
                self.plan.string_tests = True
                flags = self.one(shape, SH.flags)
                out += [("pattern", str(v), str(flags) if flags is not None else "") for v in values]
            elif local == "languageIn":
                self.plan.string_tests = True
                out += [("languageIn", tuple(str(t).lower() for t in self.items(v))) for v in values]
            elif local == "node":
                out += [("node", self.shape(v)) for v in values]
            elif local == "not":
                out += [("not", self.shape(v)) for v in values]
            elif local in ("and", "or", "xone"):
                out += [(local, tuple(self.shape(s) for s in self.items(v))) for v in values]
            elif local in ("minCount", "maxCount"):
                if not is_property:
                    raise Unsupported(f"sh:{local} on a node shape")
                out += [(local, _int(v)) for v in values]
            elif local == "qualifiedValueShape":
                if not is_property:
                    raise Unsupported("qualified value shape on a node shape")
                disjoint = self.one(shape, SH.qualifiedValueShapesDisjoint)
                if isinstance(disjoint, Literal) and disjoint.toPython() is True:
                    raise Unsupported("disjoint qualified value shapes")
                low, high = self.one(shape, SH.qualifiedMinCount), self.one(shape, SH.qualifiedMaxCount)
                for v in values:
                    out.append(("qualified", self.shape(v), _int(low) if low is not None else None,
                                _int(high) if high is not None else None))
            elif local == "qualifiedValueShapesDisjoint":
                continue  # read with sh:qualifiedValueShape
            elif local == "closed":
                closed = values[0] if len(values) == 1 else None
                if not (isinstance(closed, Literal) and isinstance(closed.toPython(), bool)):
                    raise Unsupported("sh:closed must be one boolean")
                if closed.toPython():
                    ignored = tuple(_iri(t) for v in g.objects(shape, SH.ignoredProperties) for t in self.items(v))
                    allowed = tuple(str(p) for prop in g.objects(shape, SH.property)
                                    for p in g.objects(prop, SH.path) if isinstance(p, URIRef))
                    out.append(("closed", tuple(sorted(set(ignored) | set(allowed)))))
                    self.plan.all_predicates = True
            elif local in ("equals", "disjoint"):
                if not is_property:
                    raise Unsupported(f"sh:{local} on a node shape")
                self.plan.compares_values = True
                for v in values:
                    self.plan.predicates.add(_iri(v))
                    out.append((local, _iri(v)))
            else:
                raise Unsupported(f"sh:{local} is not supported by the local evaluator")
        out += [("property", self.shape(p)) for p in sorted(g.objects(shape, SH.property), key=str)]
        out.sort(key=_cost)  # cheap checks first: the first failure decides conformance
        return out


def _cost(constraint: tuple[Any, ...]) -> int:
    order = {"class": 0, "nodeKind": 1, "hasValue": 1, "in": 1, "minCount": 1, "maxCount": 1, "datatype": 2}
    return order.get(constraint[0], 3)


def _targets(c: _Compiler, shape: Node) -> tuple[Any, ...]:
    g = c.g
    specs: list[Any] = [("class", c.classes(cls)) for cls in g.objects(shape, SH.targetClass)]
    if (shape, RDF.type, RDFS.Class) in g or (shape, RDF.type, OWL.Class) in g:
        specs.append(("class", c.classes(shape)))
    nodes = list(g.objects(shape, SH.targetNode))
    if nodes:
        specs.append(("node", tuple(c.constant(n) for n in nodes)))
    for pred in g.objects(shape, SH.targetSubjectsOf):
        c.plan.predicates.add(_iri(pred))
        specs.append(("subjectsOf", _iri(pred)))
    for pred in g.objects(shape, SH.targetObjectsOf):
        c.plan.predicates.add(_iri(pred))
        specs.append(("objectsOf", _iri(pred)))
    return tuple(specs)


def compile_plan(shapes: Graph, closure: Mapping[str, frozenset[str]]) -> Plan:
    """Compile every result-producing shape of ``shapes``; raise :class:`Unsupported` if any cannot be."""
    c = _Compiler(shapes, closure)
    roots = shape_roots(shapes)
    for sparql in (SH.sparql, SH.rule, SH.target):
        if (None, sparql, None) in shapes:
            raise Unsupported(f"{sparql} is not supported by the local evaluator")
    c.plan.predicates |= {str(RDF.type), str(NPC.hasFinding)}
    c.plan.inverse.add(str(NPC.hasFinding))
    for root in sorted(roots, key=str):
        deactivated = shapes.value(root, SH.deactivated)
        if isinstance(deactivated, Literal) and deactivated.toPython() is True:
            continue
        c.plan.targets[_id(root)] = _targets(c, root)
        _units(c, root, root, ())
    return c.plan


def _units(c: _Compiler, root: Node, shape: Node, chain: tuple[Any, ...]) -> None:
    g = c.g
    deactivated = g.value(shape, SH.deactivated)
    if isinstance(deactivated, Literal) and deactivated.toPython() is True:
        return
    key = c.shape(shape)
    path, _constraints = c.plan.shapes[key]
    severity = g.value(shape, SH.severity)
    criterion = g.value(shape, NPC.criterion)
    c.plan.units.append(Unit(key, _id(root), chain, str(severity) if isinstance(severity, URIRef) else str(SH.Violation),
                             str(criterion) if isinstance(criterion, URIRef) else None, shape_name(g, shape)))
    step = chain + ((path,) if path is not None else ())
    for prop in sorted(g.objects(shape, SH.property), key=str):
        _units(c, root, prop, step)
