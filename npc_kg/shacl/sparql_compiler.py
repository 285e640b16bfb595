"""Compile SHACL Core shapes to SPARQL SELECT queries that return the focus nodes a shape reports.

The shapes stay the single source of truth: every shape that produces validation results (a
shape with targets, the property shapes under it, and property shapes nested under those) becomes
one :class:`CompiledShape` whose query returns exactly the focus nodes for which SHACL would
report a result from that shape. Severity and criterion come from the shape at run time.

Conformance of a shape is compiled to a SPARQL boolean expression that never raises an error
(every comparison is wrapped in ``COALESCE(..., false)``), so that ``FILTER(!conforms)`` cannot
silently drop a value node the way a naive ``FILTER NOT EXISTS`` / ``UNION`` query does:

- value-node constraints of a property shape: ``NOT EXISTS { ?x path ?v FILTER(!(c1 && c2)) }``;
- counts: ``n`` pairwise ``!sameTerm`` values (term equality, as SHACL), up to :data:`MAX_COUNT`;
- ``sh:class``: the ``rdfs:subClassOf`` closure from the ontology is inlined as ``VALUES``,
  so the data store (or a remote endpoint) needs no ontology.

Anything outside the supported subset (SPARQL-based constraints, ``sh:lessThan``, disjoint
qualified shapes, blank-node values, unknown ``sh:`` terms, large counts) makes the shape
:attr:`CompiledShape.unsupported`; the engine then asks pySHACL for that shape.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from rdflib import OWL, RDF, RDFS, XSD, BNode, Graph, Literal, URIRef
from rdflib.collection import Collection
from rdflib.term import Node

from npc_kg.namespace import NPC, SH

__all__ = ["MAX_COUNT", "CompiledShape", "Unsupported", "compile_shapes", "shape_name", "shape_roots", "subclass_closure"]

MAX_COUNT = 4
"""Largest sh:minCount/sh:maxCount+1 compiled as pairwise-distinct values; larger falls back."""

_XSD = str(XSD)
_RDF_LANGSTRING = str(RDF.langString)

# sh: predicates that carry no constraint (or are handled where they are read).
_NON_CONSTRAINT = {
    "path", "targetClass", "targetNode", "targetSubjectsOf", "targetObjectsOf", "severity", "message",
    "name", "description", "order", "group", "deactivated", "defaultValue", "property", "ignoredProperties",
    "qualifiedMinCount", "qualifiedMaxCount", "qualifiedValueShapesDisjoint", "flags",
}
_NUMERIC = {"integer", "decimal", "float", "double", "int", "long", "short", "byte", "nonNegativeInteger",
            "positiveInteger", "negativeInteger", "nonPositiveInteger", "unsignedInt", "unsignedLong",
            "unsignedShort", "unsignedByte"}
_CASTABLE = {"boolean", "date", "dateTime", "time"}
_PYSHACL_CHECKED = {"string", "integer", "float", "decimal", "boolean", "date", "time", "dateTime"}


class Unsupported(Exception):
    """A shape uses something this compiler does not translate; pySHACL handles it instead."""


@dataclass(frozen=True)
class CompiledShape:
    """One shape that produces validation results, and the query that finds its focus nodes."""

    shape: Node
    severity: URIRef
    criterion: URIRef | None
    missing_data_item: URIRef | None
    root: Node
    query: str | None
    unsupported: str | None = None
    chain: tuple[str, ...] = field(default=())


def subclass_closure(graph: Graph) -> dict[str, frozenset[str]]:
    """Map each class IRI to itself and all its (transitive) ``rdfs:subClassOf`` descendants."""
    children: dict[str, set[str]] = {}
    for sub, sup in graph.subject_objects(RDFS.subClassOf):
        if isinstance(sub, URIRef) and isinstance(sup, URIRef):
            children.setdefault(str(sup), set()).add(str(sub))
    closure: dict[str, frozenset[str]] = {}

    def descend(cls: str) -> frozenset[str]:
        if cls in closure:
            return closure[cls]
        seen, stack = {cls}, [cls]
        while stack:
            for child in children.get(stack.pop(), ()):
                if child not in seen:
                    seen.add(child)
                    stack.append(child)
        closure[cls] = frozenset(seen)
        return closure[cls]

    for cls in list(children):
        descend(cls)
    return closure


def _iri(node: Node) -> str:
    if isinstance(node, URIRef):
        return f"<{node}>"
    raise Unsupported("blank node used as a value in a shape")


def _term(node: Node) -> str:
    if isinstance(node, Literal):
        text = str(node).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
        if node.language:
            return f'"{text}"@{node.language}'
        if node.datatype:
            return f'"{text}"^^<{node.datatype}>'
        return f'"{text}"'
    return _iri(node)


class _Compiler:
    def __init__(self, shapes: Graph, closure: Mapping[str, frozenset[str]]) -> None:
        self.g = shapes
        self.closure = closure
        self.counter = 0
        self.stack: list[Node] = []

    def var(self) -> str:
        self.counter += 1
        return f"?v{self.counter}"

    def one(self, shape: Node, pred: URIRef) -> Node | None:
        values = list(self.g.objects(shape, pred))
        if len(values) > 1:
            raise Unsupported(f"several values of {pred}")
        return values[0] if values else None

    def items(self, node: Node) -> list[Node]:
        return list(Collection(self.g, node))

    def typed(self, v: str, cls: Node) -> str:
        """A pattern: ``v`` is an instance of ``cls`` or of a subclass (closure inlined)."""
        members = sorted(self.closure.get(str(cls), frozenset({str(cls)})) | {str(cls)})
        if len(members) == 1:
            return f" {v} a <{members[0]}> ."
        t = self.var()
        return f" {v} a {t} . FILTER({t} IN ({', '.join(f'<{c}>' for c in members)}))"

    def classes(self, cls: Node) -> str:
        members = sorted(self.closure.get(str(cls), frozenset({str(cls)})) | {str(cls)})
        return " ".join(f"<{c}>" for c in members)

    # -- paths -------------------------------------------------------------------------------
    def path(self, node: Node) -> str:
        if isinstance(node, URIRef):
            return f"<{node}>"
        if (node, RDF.first, None) in self.g:
            return "(" + "/".join(self.path(p) for p in self.items(node)) + ")"
        for pred, fmt in ((SH.inversePath, "^({})"), (SH.zeroOrMorePath, "({})*"), (SH.oneOrMorePath, "({})+"),
                          (SH.zeroOrOnePath, "({})?")):
            inner = self.one(node, pred)
            if inner is not None:
                return fmt.format(self.path(inner))
        alternatives = self.one(node, SH.alternativePath)
        if alternatives is not None:
            return "(" + "|".join(self.path(p) for p in self.items(alternatives)) + ")"
        raise Unsupported("unknown path form")

    # -- conformance ---------------------------------------------------------------------------
    def check_terms(self, shape: Node) -> None:
        for pred in set(self.g.predicates(shape)):
            if str(pred).startswith(str(SH)):
                local = str(pred)[len(str(SH)):]
                if local not in _NON_CONSTRAINT and local not in _VALUE_CONSTRAINTS and local not in _PATH_CONSTRAINTS:
                    raise Unsupported(f"constraint sh:{local}")

    def conforms(self, shape: Node, var: str, *, nested_property: bool = True) -> str:
        """A boolean SPARQL expression: ``var`` conforms to ``shape``."""
        if self.one(shape, SH.deactivated) == Literal(True):
            return "true"
        if shape in self.stack:
            raise Unsupported("recursive shapes")
        self.stack.append(shape)
        try:
            self.check_terms(shape)
            path = self.one(shape, SH.path)
            if path is None:
                for pred in _PATH_CONSTRAINTS:
                    if (shape, SH[pred], None) in self.g:
                        raise Unsupported(f"sh:{pred} on a node shape")
                parts = self.value_conditions(shape, var, nested_property=nested_property)
                if (shape, SH.hasValue, None) in self.g:
                    parts.append(" && ".join(f"sameTerm({var}, {_term(v)})" for v in self.g.objects(shape, SH.hasValue)))
                return _and(parts)
            return self.property_conforms(shape, var, self.path(path), nested_property=nested_property)
        finally:
            self.stack.pop()

    def property_conforms(self, shape: Node, var: str, path: str, *, nested_property: bool) -> str:
        parts: list[str] = []
        v = self.var()
        conditions = self.value_conditions(shape, v, nested_property=nested_property)
        if conditions:
            parts.append(f"NOT EXISTS {{ {var} {path} {v} . FILTER(!({_and(conditions)})) }}")
        min_count = self.count(shape, SH.minCount)
        if min_count:
            parts.append(self.at_least(var, path, min_count, None))
        max_count = self.count(shape, SH.maxCount)
        if max_count is not None:
            parts.append(f"!({self.at_least(var, path, max_count + 1, None)})")
        for value in self.g.objects(shape, SH.hasValue):
            parts.append(f"EXISTS {{ {var} {path} {_term(value)} }}")
        qualified = self.one(shape, SH.qualifiedValueShape)
        if qualified is not None:
            if self.one(shape, SH.qualifiedValueShapesDisjoint) == Literal(True):
                raise Unsupported("sh:qualifiedValueShapesDisjoint")
            qmin = self.count(shape, SH.qualifiedMinCount)
            qmax = self.count(shape, SH.qualifiedMaxCount)
            if qmin:
                parts.append(self.at_least(var, path, qmin, qualified))
            if qmax is not None:
                parts.append(f"!({self.at_least(var, path, qmax + 1, qualified)})")
        if self.one(shape, SH.uniqueLang) == Literal(True):
            a, b = self.var(), self.var()
            parts.append(f"NOT EXISTS {{ {var} {path} {a} . {var} {path} {b} . FILTER(!sameTerm({a}, {b}) && "
                         f"isLiteral({a}) && isLiteral({b}) && lang({a}) != \"\" && lcase(lang({a})) = lcase(lang({b}))) }}")
        for pred, negate in ((SH.equals, False), (SH.disjoint, True)):
            for other in self.g.objects(shape, pred):
                o = self.var()
                p2 = self.path(other)
                if negate:
                    parts.append(f"NOT EXISTS {{ {var} {path} {o} . {var} {p2} {o} }}")
                else:
                    parts.append(f"NOT EXISTS {{ {var} {path} {o} . FILTER NOT EXISTS {{ {var} {p2} {o} }} }} && "
                                 f"NOT EXISTS {{ {var} {p2} {o} . FILTER NOT EXISTS {{ {var} {path} {o} }} }}")
        return _and(parts)

    def count(self, shape: Node, pred: URIRef) -> int | None:
        value = self.one(shape, pred)
        if value is None:
            return None
        if not isinstance(value, Literal) or not isinstance(value.value, int):
            raise Unsupported(f"non-integer {pred}")
        return int(value.value)

    def at_least(self, var: str, path: str, n: int, qualified: Node | None) -> str:
        """``var`` has at least ``n`` distinct values over ``path`` (that conform to ``qualified``)."""
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

    def value_conditions(self, shape: Node, v: str, *, nested_property: bool) -> list[str]:
        """Conditions each value node ``v`` must meet (error-free boolean expressions)."""
        g = self.g
        parts: list[str] = []
        for cls in g.objects(shape, SH["class"]):
            t = self.var()
            parts.append(f"EXISTS {{ {v} a {t} . VALUES {t} {{ {self.classes(_as_iri(cls))} }} }}")
        for dt in g.objects(shape, SH.datatype):
            parts.append(_datatype(v, _as_iri(dt)))
        for kind in g.objects(shape, SH.nodeKind):
            parts.append(_node_kind(v, kind))
        for values in g.objects(shape, SH["in"]):
            members = self.items(values)
            parts.append("(" + " || ".join(f"sameTerm({v}, {_term(m)})" for m in members) + ")" if members else "false")
        for pred, op in ((SH.minInclusive, ">="), (SH.maxInclusive, "<="), (SH.minExclusive, ">"), (SH.maxExclusive, "<")):
            for bound in g.objects(shape, pred):
                parts.append(f"COALESCE({v} {op} {_term(bound)}, false)")
        for pred, op in ((SH.minLength, ">="), (SH.maxLength, "<=")):
            for bound in g.objects(shape, pred):
                parts.append(f"(!isBlank({v}) && COALESCE(STRLEN(STR({v})) {op} {int(bound)}, false))")  # type: ignore[call-overload]
        for pattern in g.objects(shape, SH.pattern):
            flags = self.one(shape, SH.flags)
            if any(token in str(pattern) for token in ("(?", "\\b", "\\B", "\\1", "\\A", "\\Z", "\\d", "\\w", "\\s")):
                raise Unsupported("regular expression syntax that may differ between engines")
            flag_arg = f", {_term(Literal(str(flags)))}" if flags is not None else ""
            parts.append(f"(!isBlank({v}) && COALESCE(REGEX(STR({v}), {_term(Literal(str(pattern)))}{flag_arg}), false))")
        for langs in g.objects(shape, SH.languageIn):
            tags = [str(t) for t in self.items(langs)]
            tests = " || ".join(f"langMatches(lang({v}), {_term(Literal(t))})" for t in tags) or "false"
            parts.append(f"(isLiteral({v}) && COALESCE({tests}, false))")
        for node in g.objects(shape, SH.node):
            parts.append(self.conforms(node, v))
        for node in g.objects(shape, SH["not"]):
            parts.append(f"!({self.conforms(node, v)})")
        for lst in g.objects(shape, SH["and"]):
            parts.append(_and([self.conforms(m, v) for m in self.items(lst)]))
        for lst in g.objects(shape, SH["or"]):
            alternatives = [self.conforms(m, v) for m in self.items(lst)]
            parts.append("(" + " || ".join(f"({m})" for m in alternatives) + ")" if alternatives else "false")
        for lst in g.objects(shape, SH.xone):
            exactly = [self.conforms(m, v) for m in self.items(lst)]
            parts.append("((" + " + ".join(f"IF({m}, 1, 0)" for m in exactly) + ") = 1)" if exactly else "false")
        if self.one(shape, SH.closed) == Literal(True):
            allowed = {str(p) for prop in g.objects(shape, SH.property)
                       for p in g.objects(prop, SH.path) if isinstance(p, URIRef)}
            for ignored in g.objects(shape, SH.ignoredProperties):
                allowed |= {str(p) for p in self.items(ignored)}
            p, o = self.var(), self.var()
            listed = ", ".join(f"<{a}>" for a in sorted(allowed))
            condition = f"FILTER({p} NOT IN ({listed}))" if listed else ""
            parts.append(f"NOT EXISTS {{ {v} {p} {o} . {condition} }}")
        if nested_property:
            for prop in g.objects(shape, SH.property):
                parts.append(self.conforms(prop, v))
        return parts


_VALUE_CONSTRAINTS = {"class", "datatype", "nodeKind", "in", "minInclusive", "maxInclusive", "minExclusive",
                      "maxExclusive", "minLength", "maxLength", "pattern", "languageIn", "node", "not", "and", "or",
                      "xone", "closed", "hasValue"}
_PATH_CONSTRAINTS = ("minCount", "maxCount", "qualifiedValueShape", "uniqueLang", "equals", "disjoint")


def _as_iri(node: Node) -> URIRef:
    if not isinstance(node, URIRef):
        raise Unsupported("blank node where an IRI is expected")
    return node


def _and(parts: Iterable[str]) -> str:
    items = [p for p in parts if p != "true"]
    if not items:
        return "true"
    return " && ".join(f"({p})" for p in items)


def _datatype(v: str, dt: URIRef) -> str:
    """sh:datatype as pySHACL reads it: matching datatype and, for types it knows, a well-formed value."""
    name = str(dt)
    if name == str(RDFS.Literal):
        return f"isLiteral({v})"
    if name == _RDF_LANGSTRING:
        return f"(isLiteral({v}) && lang({v}) != \"\")"
    base = f"(isLiteral({v}) && COALESCE(datatype({v}) = <{name}>, false) && lang({v}) = \"\")"
    if not name.startswith(_XSD):
        return base
    local = name[len(_XSD):]
    if local not in _PYSHACL_CHECKED:
        return base
    if local in _NUMERIC:
        return f"({base} && isNumeric({v}))"
    if local in _CASTABLE:
        return f"({base} && COALESCE(BOUND(?_) || isLiteral(<{name}>({v})), false))"
    return base


def _node_kind(v: str, kind: Node) -> str:
    tests = {
        "IRI": f"isIRI({v})",
        "BlankNode": f"isBlank({v})",
        "Literal": f"isLiteral({v})",
        "BlankNodeOrIRI": f"(isBlank({v}) || isIRI({v}))",
        "BlankNodeOrLiteral": f"(isBlank({v}) || isLiteral({v}))",
        "IRIOrLiteral": f"(isIRI({v}) || isLiteral({v}))",
    }
    local = str(kind)[len(str(SH)):] if str(kind).startswith(str(SH)) else ""
    if local not in tests:
        raise Unsupported("unknown sh:nodeKind")
    return tests[local]


def _targets(g: Graph, shape: Node, compiler: _Compiler) -> list[str]:
    patterns: list[str] = []
    for cls in g.objects(shape, SH.targetClass):
        patterns.append(compiler.typed("?this", _as_iri(cls)))
    if (shape, RDF.type, RDFS.Class) in g or (shape, RDF.type, OWL.Class) in g:
        patterns.append(compiler.typed("?this", _as_iri(shape)))
    nodes = list(g.objects(shape, SH.targetNode))
    if nodes:
        patterns.append("VALUES ?this { " + " ".join(_term(n) for n in nodes) + " }")
    for pred in g.objects(shape, SH.targetSubjectsOf):
        patterns.append(f"?this {_iri(pred)} {compiler.var()} .")
    for pred in g.objects(shape, SH.targetObjectsOf):
        patterns.append(f"{compiler.var()} {_iri(pred)} ?this .")
    return patterns


def _severity(g: Graph, shape: Node) -> URIRef:
    value = g.value(shape, SH.severity)
    return value if isinstance(value, URIRef) else SH.Violation


def criterion_of(g: Graph, shape: Node) -> URIRef | None:
    """The ``npc:criterion`` of a shape (as the reference path reads it: on the shape itself)."""
    value = g.value(shape, NPC.criterion)
    return value if isinstance(value, URIRef) else None


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


def compile_shapes(shapes: Graph, closure: Mapping[str, frozenset[str]]) -> list[CompiledShape]:
    """Compile every result-producing shape of ``shapes`` (see the module docstring)."""
    roots = shape_roots(shapes)
    out: list[CompiledShape] = []
    for root in sorted(roots, key=str):
        if shapes.value(root, SH.deactivated) == Literal(True):
            continue
        compiler = _Compiler(shapes, closure)
        targets = _targets(shapes, root, compiler)
        target = targets[0] if len(targets) == 1 else " UNION ".join(f"{{ {p} }}" for p in targets)
        _report(shapes, compiler, root, root, target, (), out)
    return out


def _report(
    g: Graph,
    compiler: _Compiler,
    root: Node,
    shape: Node,
    target: str,
    chain: tuple[str, ...],
    out: list[CompiledShape],
) -> None:
    """Add the compiled query of ``shape`` (focus nodes: ``target`` then ``chain`` paths) and recurse."""
    if g.value(shape, SH.deactivated) == Literal(True):
        return
    severity = _severity(g, shape)
    criterion = criterion_of(g, shape)
    missing = g.value(shape, NPC.missingDataItem)
    missing_iri = missing if isinstance(missing, URIRef) else None
    path_node = g.value(shape, SH.path)
    query: str | None = None
    reason: str | None = None
    try:
        # Fast form first (joins and MINUS); the EXISTS form covers the rest of SHACL Core.
        query = _clause_query(g, compiler.closure, shape, target, chain, compiler.counter + 1000)
    except Unsupported:
        try:
            query = _exists_query(compiler, shape, target, chain)
        except Unsupported as error:
            reason = str(error)
    if query is not None or reason is not None:
        out.append(CompiledShape(shape, severity, criterion, missing_iri, root, query, reason, chain))
    try:
        step_chain = chain + ((compiler.path(path_node),) if path_node is not None else ())
    except Unsupported as error:
        for prop in g.objects(shape, SH.property):
            out.append(CompiledShape(prop, _severity(g, prop), criterion_of(g, prop), None, root, None, str(error), chain))
        return
    for prop in sorted(g.objects(shape, SH.property), key=str):
        _report(g, compiler, root, prop, target, step_chain, out)


# ---------------------------------------------------------------------------------------------
# Clause compilation: joins and MINUS instead of EXISTS (much faster on Oxigraph)
# ---------------------------------------------------------------------------------------------
#
# A check of node ?v, which the enclosing group has bound through a generator pattern ``gen``
# (the path step that produced it, or the target pattern), is a pair of clauses (conf, fail)
# appended to that group: ``conf`` keeps the rows whose ?v conforms, ``fail`` those whose ?v
# does not. ``""`` keeps every row and ``NEVER`` none. Conjunction of conf clauses is
# concatenation; a negation is ``MINUS { gen <clauses> }``, which shares ?v (and the generator's
# variables) with the left side, so it is evaluated once as an anti-join.

NEVER = " FILTER(false)"

_CLAUSE_FILTERS = {"datatype", "nodeKind", "in", "minInclusive", "maxInclusive", "minExclusive", "maxExclusive",
                   "minLength", "maxLength", "pattern", "languageIn"}
_CLAUSE_SUPPORTED = _CLAUSE_FILTERS | {"class", "node", "not", "and", "or", "hasValue", "property", "minCount",
                                       "maxCount", "qualifiedValueShape"}


class _ClauseCompiler(_Compiler):
    """Compile shapes to (conf, fail) clauses (see the comment above)."""

    def filters(self, shape: Node, v: str) -> list[str]:
        sub = Graph()
        for pred, obj in self.g.predicate_objects(shape):
            if str(pred).startswith(str(SH)) and str(pred)[len(str(SH)):] in _CLAUSE_FILTERS | {"flags"}:
                sub.add((shape, pred, obj))
                node = obj
                while isinstance(node, BNode) and node != RDF.nil:
                    for p2 in (RDF.first, RDF.rest):
                        value = self.g.value(node, p2)
                        if value is not None:
                            sub.add((node, p2, value))
                    node = self.g.value(node, RDF.rest)  # type: ignore[assignment]
        return _Compiler(sub, self.closure).value_conditions(shape, v, nested_property=False)

    def check_clause_terms(self, shape: Node, *, node_shape: bool) -> None:
        for pred in set(self.g.predicates(shape)):
            if str(pred).startswith(str(SH)):
                local = str(pred)[len(str(SH)):]
                if local not in _NON_CONSTRAINT and local not in _CLAUSE_SUPPORTED:
                    raise Unsupported(f"sh:{local} (clause compiler)")
        if node_shape:
            for local in ("minCount", "maxCount", "qualifiedValueShape"):
                if (shape, SH[local], None) in self.g:
                    raise Unsupported(f"sh:{local} on a node shape")
        if self.one(shape, SH.qualifiedValueShapesDisjoint) == Literal(True):
            raise Unsupported("sh:qualifiedValueShapesDisjoint")

    @staticmethod
    def conj(parts: list[tuple[str, str]], gen: str) -> tuple[str, str]:
        parts = [p for p in parts if p[0] != ""]
        if not parts:
            return "", NEVER
        if len(parts) == 1:
            return parts[0]
        conf = "".join(c for c, _f in parts)
        return conf, f" MINUS {{ {gen}{conf} }}"

    def check(self, shape: Node, v: str, gen: str, *, nested_property: bool = True) -> tuple[str, str]:
        if self.one(shape, SH.deactivated) == Literal(True):
            return "", NEVER
        if shape in self.stack:
            raise Unsupported("recursive shapes")
        self.stack.append(shape)
        try:
            path = self.one(shape, SH.path)
            if path is not None:
                self.check_clause_terms(shape, node_shape=False)
                parts = self.property_parts(shape, v, self.path(path), nested_property=nested_property)
            else:
                self.check_clause_terms(shape, node_shape=True)
                parts = self.node_parts(shape, v, gen, nested_property=nested_property)
            return self.conj(parts, gen)
        finally:
            self.stack.pop()

    def node_parts(self, shape: Node, v: str, gen: str, *, nested_property: bool, values: bool = False) -> list[tuple[str, str]]:
        g = self.g
        out: list[tuple[str, str]] = []
        conditions = self.filters(shape, v)
        if not values:
            conditions += [f"sameTerm({v}, {_term(x)})" for x in g.objects(shape, SH.hasValue)]
        if conditions:
            cond = _and(conditions)
            out.append((f" FILTER({cond})", f" FILTER(!({cond}))"))
        for cls in g.objects(shape, SH["class"]):
            typed = self.typed(v, _as_iri(cls))
            out.append((typed, f" MINUS {{{typed} }}"))
        for node in g.objects(shape, SH.node):
            out.append(self.check(node, v, gen))
        for node in g.objects(shape, SH["not"]):
            conf, fail = self.check(node, v, gen)
            out.append((fail, conf))
        for lst in g.objects(shape, SH["and"]):
            out += [self.check(m, v, gen) for m in self.items(lst)]
        for lst in g.objects(shape, SH["or"]):
            members = [self.check(m, v, gen) for m in self.items(lst)]
            if any(c == "" for c, _f in members):
                continue
            fail = "".join(f for _c, f in members) if members else ""
            out.append((f" MINUS {{ {gen}{fail} }}", fail))
        if nested_property:
            for prop in g.objects(shape, SH.property):
                out.append(self.check(prop, v, gen))
        return out

    def property_parts(self, shape: Node, v: str, path: str, *, nested_property: bool) -> list[tuple[str, str]]:
        w = self.var()
        gen_w = f" {v} {path} {w} ."
        out: list[tuple[str, str]] = []
        _conf, fail = self.conj(self.node_parts(shape, w, gen_w, nested_property=nested_property, values=True), gen_w)
        if fail != NEVER:
            out.append((f" MINUS {{{gen_w}{fail} }}", f"{gen_w}{fail}"))
        min_count = self.count(shape, SH.minCount)
        if min_count:
            out.append(self.at_least_clauses(v, path, min_count, None))
        max_count = self.count(shape, SH.maxCount)
        if max_count is not None:
            conf, fail = self.at_least_clauses(v, path, max_count + 1, None)
            out.append((fail, conf))
        for value in self.g.objects(shape, SH.hasValue):
            has = f" {v} {path} {_term(value)} ."
            out.append((has, f" MINUS {{{has} }}"))
        qualified = self.one(shape, SH.qualifiedValueShape)
        if qualified is not None:
            qmin = self.count(shape, SH.qualifiedMinCount)
            qmax = self.count(shape, SH.qualifiedMaxCount)
            if qmin:
                out.append(self.at_least_clauses(v, path, qmin, qualified))
            if qmax is not None:
                conf, fail = self.at_least_clauses(v, path, qmax + 1, qualified)
                out.append((fail, conf))
        return out

    def at_least_clauses(self, v: str, path: str, n: int, qualified: Node | None) -> tuple[str, str]:
        """(conf, fail) of "at least ``n`` distinct values over ``path`` (conforming to ``qualified``)"."""
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


def _exists_query(compiler: _Compiler, shape: Node, target: str, chain: tuple[str, ...]) -> str | None:
    """The EXISTS-form query of one result-producing shape (None: it never reports)."""
    focus, walk = "?this", ""
    for i, step in enumerate(chain):
        walk += f" {focus} {step} ?c{i} ."
        focus = f"?c{i}"
    condition = compiler.conforms(shape, focus, nested_property=False)
    if condition == "true":
        return None
    return f"SELECT DISTINCT ({focus} AS ?focus) WHERE {{ {target}{walk} FILTER(!({condition})) }}"


def _clause_query(g: Graph, closure: Mapping[str, frozenset[str]], shape: Node, target: str, chain: tuple[str, ...],
                  counter: int) -> str | None:
    """The clause-compiled query of one result-producing shape (None: it never reports)."""
    compiler = _ClauseCompiler(g, closure)
    compiler.counter = counter
    focus, gen = "?this", f" {target}"
    for i, step in enumerate(chain):
        gen += f" {focus} {step} ?c{i} ."
        focus = f"?c{i}"
    conf, fail = compiler.check(shape, focus, gen, nested_property=False)
    if conf == "" and fail == NEVER:
        return None
    return f"SELECT DISTINCT ({focus} AS ?focus) WHERE {{{gen}{fail} }}"
