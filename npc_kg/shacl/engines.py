"""The evaluators of one configuration: a shapes graph, its class hierarchy and a knowledge graph.

:class:`Engines` reads the shapes into ONE :class:`~npc_kg.shacl.plan.Plan` and builds every
evaluator from it: the compiled closures (the default), the compiled SPARQL and the pySHACL
reference. It also knows the configuration's treatments and their criteria
(:func:`npc_kg.core.rules.criteria_for`) and chains the evaluators: what the closures cannot
evaluate goes to SPARQL, and what SPARQL cannot express to pySHACL, each time with a note
(:mod:`npc_kg.notices`; closures -> SPARQL -> pySHACL).

:func:`engines_for` gives the engines of a configuration (the package's criteria packs plus the
packs a caller names; ``packs=None`` is the active configuration, :func:`npc_kg.kg.packs.using_packs`),
cached per process and (the plan, compiled queries and criteria) in the user cache keyed by the
files' contents; :func:`package_engines` is the package's own. A caller with other shapes or
another knowledge graph builds its own with :meth:`Engines.build`.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterable, Sequence
from functools import cached_property
from pathlib import Path
from typing import Any

from rdflib import RDFS, Graph, URIRef

from npc_kg.core.rules import Criterion, Hit, PatientRow, criteria_for, resolve_treatment, rows_of
from npc_kg.errors import InputError
from npc_kg.kg.packs import Pack, PackInput, pack_key, pack_prefixes, resolve_packs
from npc_kg.namespace import NPC, curie
from npc_kg.notices import notice
from npc_kg.shacl.closures import ClosureEvaluator
from npc_kg.shacl.plan import Plan, Unsupported, read_plan
from npc_kg.shacl.reference import ReferenceEvaluator
from npc_kg.shacl.shapes import subclass_closure, subclass_graph
from npc_kg.shacl.sparql import SparqlEvaluator, subclass_pairs
from npc_kg.shacl.sparql_queries import CompiledUnit
from npc_kg.sparql.safety import remember
from npc_kg.suggest import did_you_mean

__all__ = ["Engines", "engines_for", "package_engines"]

_LOCK = threading.Lock()
_BY_CONFIGURATION: dict[tuple[str, ...], Engines] = {}


class Engines:
    """One plan of the shapes and the evaluators built from it (see the module docstring).

    ``shapes``, ``subclasses`` and ``kg`` of None stand for those of the configuration of ``packs``
    (default: the package's packs), loaded on first use.
    """

    def __init__(self, plan: Plan, *, shapes: Graph | None = None, subclasses: Graph | None = None,
                 kg: Graph | None = None, queries: Sequence[CompiledUnit] | None = None,
                 treatments: Sequence[str] | None = None, criteria: dict[str, list[Criterion]] | None = None,
                 packs: Sequence[Pack] | None = None) -> None:
        self.plan = plan
        self.packs: tuple[Pack, ...] = tuple(packs) if packs is not None else resolve_packs(())
        """The criteria packs of the configuration (for engines built from graphs: the package's)."""
        self._shapes = shapes
        self._subclasses = subclasses
        self._kg = kg
        self._queries = queries
        self._treatments = list(treatments) if treatments is not None else None
        self._criteria: dict[str, list[Criterion]] = dict(criteria or {})
        self._variants: dict[frozenset[tuple[str, str]], Engines] = {}
        self._closures: ClosureEvaluator | None = None
        self._refusal: str | None = None
        self._prefixes: dict[str, str] | None = None
        self._lock = threading.Lock()

    @classmethod
    def build(cls, shapes: Graph, kg: Graph | None = None, *, subclasses: Graph | None = None) -> Engines:
        """The engines of ``shapes``, with the class hierarchy of ``subclasses`` (default: of ``kg``)."""
        if subclasses is None:
            subclasses = subclass_graph(kg if kg is not None else Graph())
        return cls(read_plan(shapes, subclass_closure(subclasses)), shapes=shapes, subclasses=subclasses,
                   kg=kg if kg is not None else Graph())

    # -- the configuration ---------------------------------------------------------------------------
    @property
    def shapes(self) -> Graph:
        """The shapes graph (the package's, unless built with others)."""
        from npc_kg.shacl.shapes import shapes_graph

        return self._shapes if self._shapes is not None else shapes_graph(self.packs)

    @property
    def subclasses(self) -> Graph:
        """The ``rdfs:subClassOf`` triples the plan's class closure is built from."""
        return self._subclasses if self._subclasses is not None else subclass_graph(packs=self.packs)

    @property
    def kg(self) -> Graph | None:
        """The knowledge graph, or None for the configuration's (read by pyoxigraph, never parsed twice)."""
        return self._kg

    def treatments(self) -> list[str]:
        """The treatments whose criteria the shapes implement (``npc:criterion`` -> ``npc:appliesToTreatment``)."""
        if self._treatments is None:
            from npc_kg.kg.load import load

            kg = self._kg if self._kg is not None else load(packs=self.packs)
            found = {str(t) for c in self.plan.implemented for t in kg.objects(URIRef(c), NPC.appliesToTreatment)}
            self._treatments = sorted(found)
        return list(self._treatments)

    def treatment(self, treatment: str | URIRef | None = None) -> URIRef:
        """``treatment`` resolved (an :class:`InputError` suggests the closest if no shape implements a
        criterion of it), or the one treatment the shapes implement criteria of (an error lists the
        choices when there are several)."""
        found = self.treatments()
        if treatment is not None:
            target = self.resolve(treatment)
            if str(target) not in found and not self.criteria_of(target):
                raise InputError(f"no eligibility criteria apply to treatment <{target}>{_suggestion(str(target), found)}")
            return target
        if len(found) != 1:
            raise InputError(f"name the treatment with --treatment (in Python: treatment=): the loaded packs state "
                             f"criteria of {len(found)} treatments (choices: {', '.join(curie(t) for t in found) or 'none'})")
        return URIRef(found[0])

    def resolve(self, treatment: str | URIRef) -> URIRef:
        """The IRI of ``treatment`` (an IRI or a CURIE, with the packs' own prefixes too)."""
        if self._prefixes is None:
            self._prefixes = pack_prefixes(self.packs)
        return resolve_treatment(treatment, self._prefixes)

    def criteria(self, treatment: str | URIRef | None = None) -> list[Criterion]:
        """The criteria of ``treatment`` (default: :meth:`treatment`) in the knowledge graph."""
        return self.criteria_of(self.treatment(treatment))

    def criteria_of(self, treatment: str | URIRef) -> list[Criterion]:
        """The criteria of ``treatment`` (an IRI or CURIE) in the knowledge graph, possibly none."""
        target = str(self.resolve(treatment))
        found = self._criteria.get(target)
        if found is None:
            found = self._criteria[target] = criteria_for(URIRef(target), self._kg, packs=self.packs)
        return list(found)

    # -- the evaluators --------------------------------------------------------------------------------
    def closures(self) -> ClosureEvaluator:
        """The closure evaluator; :class:`Unsupported` if the plan is outside its subset (remembered)."""
        with self._lock:
            if self._refusal is not None:
                raise Unsupported(self._refusal)
            if self._closures is None:
                try:
                    self._closures = ClosureEvaluator(self.plan)
                except Unsupported as error:
                    self._refusal = str(error)
                    notice(f"note: the local engine cannot evaluate these shapes ({error}); using the SPARQL engine")
                    raise
            return self._closures

    @cached_property
    def sparql(self) -> SparqlEvaluator:
        """The SPARQL evaluator."""
        return SparqlEvaluator(self.plan, units=self._queries)

    @cached_property
    def reference(self) -> ReferenceEvaluator:
        """The pySHACL reference, its results mapped onto the plan."""
        return ReferenceEvaluator(self.plan, shapes=lambda: self.shapes, subclasses=lambda: self.subclasses)

    def for_subclasses(self, pairs: Iterable[tuple[str, str]]) -> Engines:
        """These engines, with ``rdfs:subClassOf`` pairs (found in the data) added to the class hierarchy."""
        extra = frozenset(pairs)
        if not extra:
            return self
        with self._lock:
            found = self._variants.get(extra)
            if found is None:
                subclasses = Graph()
                for triple in self.subclasses:
                    subclasses.add(triple)
                for sub, sup in extra:
                    subclasses.add((URIRef(sub), RDFS.subClassOf, URIRef(sup)))
                found = Engines(read_plan(self.shapes, subclass_closure(subclasses)), shapes=self.shapes,
                                subclasses=subclasses, kg=self._kg, treatments=self._treatments, criteria=self._criteria,
                                packs=self.packs)
                self._variants[extra] = found
            return found

    # -- running them ----------------------------------------------------------------------------------
    def sparql_hits(self, quads: Sequence[Any], fallback_graph: Graph | None = None, *,
                    threads: int = 1) -> tuple[set[Any], list[Hit]]:
        """Patients and hits of the SPARQL evaluator on pyoxigraph ``quads``; its fallback units on pySHACL.

        ``fallback_graph`` is the same data as an rdflib graph (built from the quads if None).
        """
        engines = self.for_subclasses(subclass_pairs(quads))
        evaluator = engines.sparql
        patients, hits = evaluator.store_hits(quads, threads=threads)
        if evaluator.fallback:
            graph = fallback_graph if fallback_graph is not None else rdflib_graph(quads)
            wanted = {unit.shape for unit in evaluator.fallback}
            _patients, extra = engines.reference.graph_hits(graph, units=wanted)
            hits += extra
        return patients, hits

    def graph_hits(self, graph: Graph, engine: str = "closures") -> tuple[set[Any], list[Hit]]:
        """Patients and hits of an rdflib graph: ``closures`` (-> ``sparql`` for what it cannot answer),
        ``sparql`` (-> pySHACL for what it cannot express), or ``reference``."""
        if engine == "closures":
            try:
                return self.closures().graph_hits(graph)
            except Unsupported:
                engine = "sparql"
        if engine == "sparql":
            from npc_kg.shacl.closures import rdflib_triples

            return self.sparql_hits(list(rdflib_triples(graph)), graph)
        return self.reference.graph_hits(graph)

    def graph_rows(self, graph: Graph, engine: str = "closures", treatment: str | URIRef | None = None) -> list[PatientRow]:
        """One row per patient of an rdflib graph (:meth:`graph_hits`, then :func:`~npc_kg.core.rules.rows_of`)."""
        patients, hits = self.graph_hits(graph, engine)
        return rows_of(patients, hits, self.criteria(treatment), self.plan.implemented)


def rdflib_graph(quads: Iterable[Any]) -> Graph:
    """pyoxigraph quads (or triples), all graphs merged, as an rdflib graph that keeps every literal as written."""
    import pyoxigraph as ox

    triples = [ox.Triple(q.subject, q.predicate, q.object) for q in quads]
    data = ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES) or b""
    from npc_kg.rdfio import literals_as_written

    graph = Graph()
    with literals_as_written():
        graph.parse(data=data.decode("utf-8"), format="nt")
    return graph


_CODE = ("plan.py", "sparql_queries.py", "sparql.py", "values.py", "engines.py")


def _suggestion(target: str, choices: Sequence[str]) -> str:
    """``; did you mean 'X'?`` for the choices closest to ``target`` (as CURIEs), then the choices."""
    names = [curie(c) for c in choices]
    hint = did_you_mean(curie(target), names)
    return (f"; {hint}" if hint else "") + f" (choices: {', '.join(names) or 'none'})"


def package_engines() -> Engines:
    """The engines of the package's shapes and knowledge graph (its own criteria packs only)."""
    return engines_for(())


def engines_for(packs: Iterable[PackInput] | None = None) -> Engines:
    """The engines of the configuration of ``packs`` (None: the active one): built once per process,
    their plan, compiled queries and criteria from the user cache when it is up to date."""
    from npc_kg.kg.load import cached, graph_files
    from npc_kg.resources import data_path
    from npc_kg.shacl.shapes import shape_files, shapes_graph

    chosen = resolve_packs(packs)
    key = pack_key(chosen)
    with _LOCK:
        found = _BY_CONFIGURATION.get(key)
        if found is not None:
            return found

        def build() -> dict[str, object]:
            engines = Engines(read_plan(shapes_graph(chosen), subclass_closure(subclass_graph(packs=chosen))), packs=chosen)
            treatments = engines.treatments()
            return {"plan": engines.plan, "queries": engines.sparql.units, "checks": engines.sparql.checks(),
                    "treatments": treatments, "criteria": {t: engines.criteria_of(t) for t in treatments}}

        files = [*graph_files(chosen), *shape_files(chosen)]
        here = Path(__file__).parent
        code = [here / name for name in _CODE] + [here.parent / "core" / "rules.py",
                                                  data_path("queries", "criteria-for-treatment.rq")]
        builtin = all(pack.builtin for pack in chosen)
        name = "engines" if builtin else "engines-" + hashlib.sha256("\n".join(key).encode()).hexdigest()[:16]
        if not builtin:
            shapes_graph(chosen)  # refuses packs that define the same IRI before anything is compiled
        state = cached(name, [*files, *code], build)
        for verdict in state["checks"]:
            remember(verdict)  # the compiled queries' safety checks: no SPARQL parse in this process
        engines = Engines(state["plan"], queries=state["queries"], treatments=state["treatments"],
                          criteria=state["criteria"], packs=chosen)
        _BY_CONFIGURATION[key] = engines
        return engines
