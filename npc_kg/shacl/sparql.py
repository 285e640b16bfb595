"""Assess patients with the SHACL shapes compiled to SPARQL (pyoxigraph store or remote endpoint).

Statuses follow the same rule as the pySHACL reference path (``npc_kg.assessment.assess``): a criterion
is *violated* if any ``sh:Violation`` result comes from one of its shapes, else *unknown* if any
``sh:Warning`` does, else *satisfied* (``sh:Info`` never changes a status). The verdict is
*ineligible* if any criterion is violated, *indeterminate* if any is unknown, else *eligible*.
A result from a shape without ``npc:criterion`` (the patient model, ``shapes/patient.ttl``)
makes the patient an *error* row. A result whose focus node is a finding record counts for the
patient(s) that have it as ``npc:hasFinding``.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Protocol

import pyoxigraph as ox
from rdflib import RDFS, Graph, URIRef
from rdflib.term import BNode

from npc_kg.core.rules import STATUSES, VERDICTS, Criterion, PatientRow, criteria_of, verdict_of
from npc_kg.errors import NpcKgError
from npc_kg.namespace import NPC, SH
from npc_kg.shacl.sparql_compiler import CompiledShape, compile_shapes, shape_name, subclass_closure

__all__ = [
    "STATUSES",
    "VERDICTS",
    "Criterion",
    "Engine",
    "PatientRow",
    "QueryRunner",
    "criteria_of",
    "verdict_of",
]

class QueryRunner(Protocol):
    """Runs a SPARQL SELECT and yields rows as ``{variable: term string}`` (IRIs bare)."""

    def __call__(self, query: str) -> Iterable[dict[str, str]]: ...  # pragma: no cover


def _key(term: object) -> str:
    """A stable string for a pyoxigraph or rdflib term: the IRI, or ``_:label``."""
    if isinstance(term, ox.NamedNode | URIRef):
        return term.value if isinstance(term, ox.NamedNode) else str(term)
    if isinstance(term, ox.BlankNode):
        return f"_:{term.value}"
    if isinstance(term, BNode):
        return f"_:{term}"
    if isinstance(term, ox.Literal):
        return term.value
    return str(term)


class Engine:
    """The eligibility and patient-model shapes, compiled once, applied to batches of patients."""

    def __init__(self, shapes: Graph | None = None, kb: Graph | None = None, *,
                 subclasses: Graph | None = None, notices: bool = True) -> None:
        self._shapes = shapes
        if kb is None:
            from npc_kg.kg.load import load

            kb = load()
        self._subclasses = subclasses
        self.closure = subclass_closure(self.subclasses)
        self.criteria = criteria_of(kb, self.shapes)
        self.units = compile_shapes(self.shapes, self.closure)
        self.fallback = [u for u in self.units if u.query is None]
        self.implemented = {str(o) for o in self.shapes.objects(None, NPC.criterion)}
        self._names = {u.shape: shape_name(self.shapes, u.shape) for u in self.units if u.criterion is None}
        self._extra: dict[frozenset[tuple[str, str]], Engine] = {}
        if notices:
            self.notify()

    _STATE = ("criteria", "units", "fallback", "closure", "implemented", "_names")

    @classmethod
    def cached(cls, *, notices: bool = True) -> Engine:
        """The engine for the package's shapes and KB, from the user cache when it is up to date."""
        from npc_kg.kg.load import cached, graph_files
        from npc_kg.shacl.shapes import shape_files

        def build() -> dict[str, object]:
            engine = cls(notices=False)
            return {name: getattr(engine, name) for name in cls._STATE}

        code = [Path(__file__).with_name("sparql_compiler.py"), Path(__file__)]  # a change to the compiler invalidates the cache
        state = cached("engine", [*graph_files(), *shape_files(), *code], build)
        engine = cls.__new__(cls)
        engine.__dict__.update(state)
        engine._shapes = engine._subclasses = None
        engine._extra = {}
        if notices:
            engine.notify()
        return engine

    def notify(self) -> None:
        """Print a notice on stderr for each shape that pySHACL checks instead of SPARQL."""
        for unit in self.fallback:
            print(f"npc-kg: note: shape {unit.shape} is checked with pySHACL ({unit.unsupported})", file=sys.stderr)

    @property
    def shapes(self) -> Graph:
        """The shapes graph (the package's, unless the engine was built with others)."""
        from npc_kg.shacl.shapes import shapes_graph

        return self._shapes if self._shapes is not None else shapes_graph()

    @property
    def subclasses(self) -> Graph:
        """The ``rdfs:subClassOf`` triples the class closure is built from."""
        from npc_kg.shacl.shapes import subclass_graph

        return self._subclasses if self._subclasses is not None else subclass_graph()

    # -- queries ---------------------------------------------------------------------------------
    def patients_query(self) -> str:
        """SELECT ?p: every patient (asserted ``rdf:type npc:Patient``, as the reference path reads it)."""
        return f"SELECT DISTINCT ?p WHERE {{ ?p a <{NPC.Patient}> }}"

    def unit_query(self, unit: CompiledShape) -> str:
        """The unit's query, extended with the owner (``npc:hasFinding``) of each focus node."""
        assert unit.query is not None
        return f"SELECT ?focus ?owner WHERE {{ {{ {unit.query} }} OPTIONAL {{ ?owner <{NPC.hasFinding}> ?focus }} }}"

    # -- assessment ------------------------------------------------------------------------------
    def assess(self, run: QueryRunner, *, order: Iterable[str] = (),
               fallback_graph: Graph | None = None, threads: int = 1) -> list[PatientRow]:
        """Assess every patient visible to ``run``; rows follow ``order`` first, then IRI order.

        ``threads`` > 1 runs the compiled queries concurrently.
        """
        patients = {row["p"] for row in run(self.patients_query())}
        hits: list[tuple[CompiledShape, str, str | None]] = []
        compiled = [u for u in self.units if u.query is not None]

        def results(unit: CompiledShape) -> list[dict[str, str]]:
            return list(run(self.unit_query(unit)))

        if threads > 1:  # pyoxigraph releases the GIL while it evaluates; so does urllib while it waits
            with ThreadPoolExecutor(max_workers=threads) as pool:
                answers = list(pool.map(results, compiled))
        else:
            answers = [results(u) for u in compiled]
        for unit, rows in zip(compiled, answers, strict=True):
            hits += [(unit, row["focus"], row.get("owner")) for row in rows]
        if self.fallback:
            hits += self._fallback_hits(fallback_graph)
        return self._rows(patients, hits, order)

    def _fallback_hits(self, graph: Graph | None) -> list[tuple[CompiledShape, str, str | None]]:
        if graph is None:
            reasons = "; ".join(f"{u.shape}: {u.unsupported}" for u in self.fallback)
            raise NpcKgError(f"these shapes cannot be compiled to SPARQL, and pySHACL needs the data locally: {reasons}")
        from npc_kg.shacl.reference import validate

        by_shape = {u.shape: u for u in self.fallback}
        hits: list[tuple[CompiledShape, str, str | None]] = []
        run = validate(graph) if self._shapes is None else validate(graph, shapes=self.shapes, subclasses=self.subclasses)
        for result in run.results:
            unit = by_shape.get(result.source_shape)
            if unit is None:
                continue
            hits.append((unit, _key(result.focus), None))
            for owner in graph.subjects(NPC.hasFinding, result.focus):
                hits.append((unit, _key(result.focus), _key(owner)))
        return hits

    def _rows(self, patients: set[str], hits: list[tuple[CompiledShape, str, str | None]],
              order: Iterable[str]) -> list[PatientRow]:
        errors: dict[str, set[str]] = {}
        severities: dict[tuple[str, str], set[str]] = {}
        for unit, focus, owner in hits:
            targets = [p for p in (focus, owner) if p is not None and p in patients]
            for patient in targets:
                if unit.criterion is None:
                    errors.setdefault(patient, set()).add(self._names.get(unit.shape, "a structure rule"))
                else:
                    severities.setdefault((patient, str(unit.criterion)), set()).add(str(unit.severity))
        ordered = [p for p in dict.fromkeys(order) if p in patients]
        ordered += sorted(patients - set(ordered))
        rows = []
        violation, warning = str(SH.Violation), str(SH.Warning)
        for patient in ordered:
            if patient in errors:
                reason = "breaks the patient model: " + ", ".join(sorted(errors[patient]))
                rows.append(PatientRow(patient, "error", {}, reason))
                continue
            statuses = {}
            for criterion in self.criteria:
                found = severities.get((patient, criterion.iri), set())
                unknown = warning in found or criterion.iri not in self.implemented
                statuses[criterion.iri] = "violated" if violation in found else "unknown" if unknown else "satisfied"
            rows.append(PatientRow(patient, verdict_of(statuses), statuses))
        return rows

    # -- pyoxigraph ------------------------------------------------------------------------------
    def for_store(self, store: ox.Store) -> Engine:
        """This engine, or one whose class closure also has the store's own ``rdfs:subClassOf`` triples."""
        extra = frozenset(
            (_key(q.subject), _key(q.object))
            for q in store.quads_for_pattern(None, ox.NamedNode(str(RDFS.subClassOf)), None)
            if isinstance(q.subject, ox.NamedNode) and isinstance(q.object, ox.NamedNode)
        )
        if not extra:
            return self
        engine = self._extra.get(extra)
        if engine is None:
            subclasses = Graph()
            for triple in self.subclasses:
                subclasses.add(triple)
            for sub, sup in extra:
                subclasses.add((URIRef(sub), RDFS.subClassOf, URIRef(sup)))
            engine = Engine.__new__(Engine)
            engine.__dict__.update(self.__dict__)
            engine._subclasses = subclasses
            engine.closure = subclass_closure(subclasses)
            engine.units = compile_shapes(self.shapes, engine.closure)
            engine.fallback = [u for u in engine.units if u.query is None]
            engine._extra = {}
            self._extra[extra] = engine
        return engine


def store_runner(store: ox.Store, *, union: bool = False) -> QueryRunner:
    """A :class:`QueryRunner` over a pyoxigraph store."""

    def run(query: str) -> Iterable[dict[str, str]]:
        solutions = store.query(query, use_default_graph_as_union=union)
        assert isinstance(solutions, ox.QuerySolutions)
        names = [v.value for v in solutions.variables]
        for solution in solutions:
            row = {}
            for name in names:
                value = solution[name]
                if value is not None:
                    row[name] = _key(value)
            yield row

    return run
