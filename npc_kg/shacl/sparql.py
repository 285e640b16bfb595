"""The plan compiled to SPARQL (:mod:`npc_kg.shacl.sparql_queries`), run on a pyoxigraph store or a remote endpoint.

Every query goes through :mod:`npc_kg.sparql` (one safety check, one HTTP client): the
evaluator's own store is an :class:`~npc_kg.sparql.backends.oxigraph_backend.OxigraphBackend`,
an endpoint a :class:`~npc_kg.sparql.backends.remote.RemoteBackend`.

Own store (*faithful* mode): the data is parsed by pyoxigraph and every literal is replaced by
its stand-in IRI (:func:`~npc_kg.shacl.sparql_queries.stand_in`) before it enters the store, so
the store judges structure, identity and counts, and the literal tests are pySHACL's, computed
in Python. A data IRI that looks like a stand-in is refused (:class:`Unsupported`).

Endpoint: the data is already there; only the compiled queries (which name no patient) are
sent. Literals are judged by the endpoint's SPARQL functions on the literals as it stores them.

Both return *hits* (:data:`npc_kg.core.rules.Hit`); a unit the compiler cannot express is left
to pySHACL by the caller (:class:`npc_kg.shacl.engines.Engines`), with a note (:mod:`npc_kg.notices`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pyoxigraph as ox
from rdflib import RDFS

from npc_kg.core.rules import Hit, owners_of
from npc_kg.namespace import ENGINE, NPC
from npc_kg.notices import notice
from npc_kg.shacl.plan import Plan, Unsupported
from npc_kg.shacl.sparql_queries import LITERAL_PREFIX, CompiledUnit, LiteralTests, compile_units, stand_in, stood_in
from npc_kg.shacl.values import canonical, node_key

__all__ = ["PATIENTS_QUERY", "SparqlEvaluator", "subclass_pairs"]

PATIENTS_QUERY = f"SELECT DISTINCT ?p WHERE {{ ?p a <{NPC.Patient}> }}"
"""Every patient: asserted ``rdf:type npc:Patient``, as every evaluator reads it."""

_SUBCLASS = str(RDFS.subClassOf)
_ENGINE = str(ENGINE)

Select = Callable[[str], list[tuple[Any, ...]]]
_MEMO_LIMIT = 200_000


def _owners_query(query: str) -> str:
    """A unit's query, extended with the owners (``npc:hasFinding``) of each focus node."""
    return f"SELECT ?focus ?owner WHERE {{ {{ {query} }} OPTIONAL {{ ?owner <{NPC.hasFinding}> ?focus }} }}"


def _vetted(units: Iterable[CompiledUnit]) -> list[CompiledUnit]:
    """The units, each query parsed and safety-checked once (the check of :mod:`npc_kg.sparql` every query
    passes; its parse is cached, so worker processes forked later inherit it). A query that check cannot
    read leaves its unit to pySHACL instead of failing the run."""
    from npc_kg.errors import QueryError
    from npc_kg.sparql.safety import check_safe, checked

    check_safe(checked(PATIENTS_QUERY))
    out = []
    for compiled in units:
        if compiled.query is not None:
            try:
                check_safe(checked(_owners_query(compiled.query)))
            except (QueryError, RecursionError) as error:
                compiled = CompiledUnit(compiled.unit, None, f"the compiled query cannot be checked ({error})")
        out.append(compiled)
    return out


def subclass_pairs(quads: Iterable[Any]) -> frozenset[tuple[str, str]]:
    """The ``rdfs:subClassOf`` triples between IRIs in pyoxigraph quads (the class closure must include them)."""
    named = ox.NamedNode
    return frozenset((q.subject.value, q.object.value) for q in quads
                     if q.predicate.value == _SUBCLASS and type(q.subject) is named and type(q.object) is named)


class SparqlEvaluator:
    """The plan's units compiled to SPARQL; units it cannot compile are in :attr:`fallback`."""

    def __init__(self, plan: Plan, *, units: Sequence[CompiledUnit] | None = None, notices: bool = True) -> None:
        self.plan = plan
        self.tests = LiteralTests(plan)
        self.units = _vetted(units if units is not None else compile_units(plan, self.tests))
        self.fallback = [c.unit for c in self.units if c.query is None and c.unsupported is not None]
        self._endpoint_units: list[CompiledUnit] | None = None
        self._stand_ins: dict[ox.Literal, tuple[ox.NamedNode, ox.Literal]] = {}
        self._keep = None if plan.all_predicates else frozenset(plan.predicates)
        if notices:
            self.notify()

    def notify(self) -> None:
        """A note (:mod:`npc_kg.notices`) for each unit that pySHACL checks instead of SPARQL."""
        for compiled in self.units:
            if compiled.query is None and compiled.unsupported is not None:
                notice(f"note: shape {compiled.unit.shape} is checked with pySHACL ({compiled.unsupported})")

    def checks(self) -> list[Any]:
        """The safety check's verdicts on every query this evaluator sends to its own stores
        (:func:`npc_kg.sparql.safety.verdict`: plain data, kept in the user cache with the plan)."""
        from npc_kg.sparql.safety import parse, verdict

        return [verdict(parse(query)) for query in
                [PATIENTS_QUERY, *(_owners_query(c.query) for c in self.units if c.query is not None)]]

    @property
    def endpoint_units(self) -> list[CompiledUnit]:
        """The units compiled for an endpoint that holds real literals."""
        if self._endpoint_units is None:
            self._endpoint_units = _vetted(compile_units(self.plan, None))
        return self._endpoint_units

    # -- own store ---------------------------------------------------------------------------------
    def load(self, quads: Iterable[Any]) -> tuple[ox.Store, dict[str, ox.Literal]]:
        """A new store holding ``quads`` (pyoxigraph quads or triples, in the default graph), literals
        replaced by stand-ins; and the literal of each stand-in. Triples of predicates no shape
        reads are left out (unless a shape is closed: then it reads every predicate)."""
        named, blank, literal = ox.NamedNode, ox.BlankNode, ox.Literal
        stand_ins = self._stand_ins
        if len(stand_ins) > _MEMO_LIMIT:
            stand_ins.clear()
        keep = self._keep
        literals: dict[str, ox.Literal] = {}
        out = []
        for quad in quads:
            subject, obj = quad.subject, quad.object
            if type(subject) is named and subject.value.startswith(_ENGINE):
                raise Unsupported("the data uses the SPARQL evaluator's private IRIs")
            if keep is not None and quad.predicate.value not in keep:
                if type(obj) is named and obj.value.startswith(_ENGINE):
                    raise Unsupported("the data uses the SPARQL evaluator's private IRIs")
                continue
            kind = type(obj)
            if kind is literal:
                found = stand_ins.get(obj)
                if found is None:
                    found = stand_ins[obj] = (named(stand_in(obj, self.tests)), canonical(obj))
                obj = found[0]
                literals[obj.value] = found[1]
            elif kind is named:
                if obj.value.startswith(_ENGINE):
                    raise Unsupported("the data uses the SPARQL evaluator's private IRIs")
            elif kind is not blank:
                raise Unsupported("RDF-star triple terms")
            if type(subject) not in (named, blank):
                raise Unsupported("RDF-star triple terms")
            out.append(ox.Quad(subject, quad.predicate, obj))
        store = ox.Store()
        store.bulk_extend(out)
        return store, literals

    def store_hits(self, quads: Iterable[Any], *, threads: int = 1) -> tuple[set[Any], list[Hit]]:
        """The patients and hits of the compiled units on ``quads`` (fallback units excluded)."""
        from npc_kg.sparql.backends.oxigraph_backend import OxigraphBackend
        from npc_kg.sparql.bounded import watched

        store, literals = self.load(quads)
        # The package's own compiled queries run in this process, without the query timeout's fork (it cost
        # 10-20 % of a cohort run), under the in-process deadline of the command line (docs/reliability.md).
        backend = OxigraphBackend(store=store, include_kg=False, timeout=None)
        with watched("the compiled shapes on a batch"):
            return self._run(lambda query: backend.select_native(query)[1], self.units, literals, threads)

    # -- endpoint ------------------------------------------------------------------------------------
    def endpoint_hits(self, url: str, *, timeout: float = 60.0, threads: int = 1,
                      graph: str | None = None) -> tuple[set[Any], list[Hit]]:
        """The patients and hits of the compiled units on a SPARQL endpoint that holds the data.

        ``graph``: the named graph that holds the data (sent as ``default-graph-uri``); ``None``:
        the endpoint's default graph. Units that only pySHACL can check are refused: the data
        is not here to run it on.
        """
        from npc_kg.errors import NpcKgError
        from npc_kg.sparql.backends.remote import RemoteBackend

        units = self.endpoint_units
        refused = [c for c in units if c.query is None and c.unsupported is not None]
        if refused:
            reasons = "; ".join(f"{c.unit.shape}: {c.unsupported}" for c in refused)
            raise NpcKgError(f"these shapes cannot be compiled to SPARQL, and pySHACL needs the data locally: {reasons}")
        backend = RemoteBackend(url, graph=graph, timeout=timeout)
        return self._run(lambda query: backend.select(query).rows, units, {}, threads)

    # -- both ------------------------------------------------------------------------------------
    def _run(self, select: Select, units: Sequence[CompiledUnit], literals: dict[str, ox.Literal],
             threads: int) -> tuple[set[Any], list[Hit]]:
        def key(term: Any) -> Any:
            """A result term as an index term; a stand-in IRI as the literal it stands for."""
            found = node_key(term)
            if type(found) is str and found.startswith(LITERAL_PREFIX):
                literal = literals.get(found)
                return literal if literal is not None else stood_in(found)  # a literal named by a shape only
            return found

        patients = {key(row[0]) for row in select(PATIENTS_QUERY)}
        compiled = [c for c in units if c.query is not None]

        def answers(unit: CompiledUnit) -> list[tuple[Any, ...]]:
            return select(_owners_query(unit.query or ""))

        if threads > 1:  # pyoxigraph releases the GIL while it evaluates; so does urllib while it waits
            with ThreadPoolExecutor(max_workers=threads) as pool:
                results = list(pool.map(answers, compiled))
        else:
            results = [answers(c) for c in compiled]
        hits: list[Hit] = []
        for unit, rows in zip(compiled, results, strict=True):
            by_focus: dict[Any, list[Any]] = {}
            for focus, owner in rows:
                found = by_focus.setdefault(key(focus), [])
                if owner is not None:
                    found.append(key(owner))
            hits += [(unit.unit, focus, owners_of(focus, patients, owners)) for focus, owners in by_focus.items()]
        return patients, hits
