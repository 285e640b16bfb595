"""OWL reasoning over the ontology and the knowledge base with HermiT (through owlready2).

:func:`reason` loads ``ontology/*.ttl`` and ``ontology/kb/*.ttl`` (never patient data) into a
private owlready2 ``World``, runs HermiT and returns a :class:`ReasoningReport`: consistency,
the inferred class hierarchy (direct superclasses of every named class) and the subsumptions the
reasoner added. An inconsistent ontology, or one with unsatisfiable classes, raises
:class:`~npc_kg.errors.InconsistentOntologyError` (CLI exit code 5) naming the classes.

Safety (see the design brief):

- the graph is converted with rdflib to N-Triples in memory; ``owl:imports`` triples are
  dropped, so nothing is fetched, and owlready2's own annotations (``python_module`` would import
  Python code) are stripped;
- owlready2 writes the world to a temporary file for Java. Every temporary file (owlready2's and
  the JVM's) goes into a private folder that is deleted afterwards, even when HermiT fails.
"""

from __future__ import annotations

import functools
import io
import os
import shutil
import tempfile
import threading
import time
import types
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import combinations

from rdflib import OWL, RDF, RDFS, Graph, URIRef
from rdflib.collection import Collection
from rdflib.term import Node

from npc_kg.errors import InconsistentOntologyError, NpcKgError
from npc_kg.kg.load import ontology_files
from npc_kg.namespace import ONTOLOGY_IRI, OWLREADY, PREFIXES
from npc_kg.rdfio import parse_file, parse_text

__all__ = ["ReasoningReport", "reason", "reasoning_graph"]

_LOCK = threading.Lock()
REASONER = "HermiT (owlready2)"


@dataclass(frozen=True)
class ReasoningReport:
    """What HermiT concluded about the ontology and knowledge base.

    ``hierarchy`` maps the IRI of every named class to the IRIs of its direct named superclasses
    after reasoning (an empty tuple for a top class). ``inferred`` lists the direct subsumptions
    ``(subclass, superclass)`` that were not asserted. ``unsatisfiable`` is empty in a returned
    report: unsatisfiable classes raise :class:`InconsistentOntologyError`.
    """

    consistent: bool
    reasoner: str
    classes: int
    hierarchy: dict[str, tuple[str, ...]]
    inferred: tuple[tuple[str, str], ...]
    unsatisfiable: tuple[str, ...] = ()
    seconds: float = 0.0
    equivalents: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def hierarchy_graph(self) -> Graph:
        """Return the inferred hierarchy as ``rdfs:subClassOf`` triples between named classes."""
        from npc_kg.kg.prefixes import prefix_map

        graph = Graph()
        for prefix, iri in {**prefix_map(), **PREFIXES}.items():
            graph.bind(prefix, iri, override=True)
        for sub, supers in self.hierarchy.items():
            graph.add((URIRef(sub), RDF.type, OWL.Class))
            for sup in supers:
                graph.add((URIRef(sub), RDFS.subClassOf, URIRef(sup)))
        for cls, others in self.equivalents.items():
            for other in others:
                graph.add((URIRef(cls), OWL.equivalentClass, URIRef(other)))
        return graph

    def to_turtle(self) -> str:
        """Return :meth:`hierarchy_graph` as stable (long) Turtle with ``@prefix`` lines."""
        from npc_kg.kg.turtle import turtle_text

        return turtle_text(self.hierarchy_graph())

    def summary(self) -> str:
        """Return a short human-readable summary."""
        lines = [
            f"reasoner       {self.reasoner}",
            f"consistent     {'yes' if self.consistent else 'no'}",
            f"classes        {self.classes}",
            f"unsatisfiable  {len(self.unsatisfiable)}",
            f"inferred       {len(self.inferred)} subsumption(s) not asserted",
            f"time           {self.seconds:.1f} s",
        ]
        lines += [f"  {_short(sub)} rdfs:subClassOf {_short(sup)}" for sub, sup in self.inferred]
        return "\n".join(lines)


def _short(iri: str) -> str:
    from npc_kg.kg.prefixes import compress

    curie = compress(iri)
    return curie if curie is not None and "/" not in curie.split(":", 1)[1] else f"<{iri}>"


def reasoning_graph(*, extra_turtle: str | None = None) -> Graph:
    """Return the graph HermiT reasons over: ontology + knowledge base (+ ``extra_turtle``).

    ``owl:imports`` and owlready2's own annotations are removed.
    """
    graph = Graph()
    for path in ontology_files():
        parse_file(path, "turtle", graph=graph, limited=False)
    if extra_turtle is not None:
        parse_text(extra_turtle, "turtle", graph=graph, where="<extra_turtle>")
    graph.remove((None, OWL.imports, None))
    for predicate in {p for p in graph.predicates() if str(p).startswith(str(OWLREADY))}:
        graph.remove((None, predicate, None))
    return graph


def reason(*, extra_turtle: str | None = None) -> ReasoningReport:
    """Classify the ontology and knowledge base with HermiT and check their consistency.

    ``extra_turtle`` adds axioms (Turtle, with its own prefixes) for this run only; tests use it
    to plant an inconsistency. Raises :class:`InconsistentOntologyError` when the ontology is
    inconsistent or has unsatisfiable classes, and :class:`NpcKgError` when Java or HermiT fails.
    """
    import owlready2

    graph = reasoning_graph(extra_turtle=extra_turtle)
    data = graph.serialize(format="nt", encoding="utf-8")
    if shutil.which(owlready2.JAVA_EXE) is None:
        raise NpcKgError(f"HermiT needs a Java runtime: {owlready2.JAVA_EXE!r} is not on PATH")

    started = time.perf_counter()
    world = owlready2.World()
    try:
        world.get_ontology(str(ONTOLOGY_IRI)).load(fileobj=io.BytesIO(data), format="ntriples")
        with _LOCK, _private_temp_dir() as private:
            try:
                owlready2.sync_reasoner_hermit(world, infer_property_values=False, debug=0)
            except owlready2.OwlReadyInconsistentOntologyError:
                raise InconsistentOntologyError(_inconsistency_message(graph)) from None
            except owlready2.OwlReadyJavaError as error:
                text = " ".join(str(error).replace(private, "<tmp>").split())
                raise NpcKgError(f"HermiT failed: {text[:500]}") from None
        unsatisfiable = sorted(
            {c.iri for c in world.inconsistent_classes() if isinstance(c, owlready2.ThingClass)} - {str(OWL.Nothing)}
        )
        if unsatisfiable:
            names = ", ".join(_short(iri) for iri in unsatisfiable)
            causes = _disjointness_causes(graph, (URIRef(iri) for iri in unsatisfiable))
            raise InconsistentOntologyError(
                f"the ontology has {len(unsatisfiable)} unsatisfiable class(es) (equivalent to owl:Nothing): {names}"
                + (f"; {causes}" if causes else "")
            )
        hierarchy, equivalents = _hierarchy(world, owlready2)
    finally:
        world.close()
    seconds = time.perf_counter() - started
    asserted = {(str(s), str(o)) for s, o in graph.subject_objects(RDFS.subClassOf) if isinstance(o, URIRef)}
    inferred = tuple(sorted((sub, sup) for sub, supers in hierarchy.items() for sup in supers if (sub, sup) not in asserted))
    return ReasoningReport(
        consistent=True,
        reasoner=REASONER,
        classes=len(hierarchy),
        hierarchy=hierarchy,
        inferred=inferred,
        unsatisfiable=(),
        seconds=seconds,
        equivalents=equivalents,
    )


@contextmanager
def _private_temp_dir() -> Iterator[str]:
    """Send owlready2's and the JVM's temporary files to a private folder, deleted afterwards.

    Must be called with ``_LOCK`` held: it swaps owlready2's ``tempfile`` module reference and
    sets ``JAVA_TOOL_OPTIONS`` for the duration of the run.
    """
    import owlready2.reasoning as owl_reasoning

    private = tempfile.mkdtemp(prefix="npc-kg-reason-")
    shim = types.SimpleNamespace(NamedTemporaryFile=functools.partial(tempfile.NamedTemporaryFile, dir=private))
    saved_module = owl_reasoning.tempfile
    saved_options = os.environ.get("JAVA_TOOL_OPTIONS")
    java_options = f"-Djava.io.tmpdir={private} -XX:-UsePerfData"
    owl_reasoning.tempfile = shim  # type: ignore[assignment]
    os.environ["JAVA_TOOL_OPTIONS"] = f"{saved_options} {java_options}" if saved_options else java_options
    try:
        yield private
    finally:
        owl_reasoning.tempfile = saved_module
        if saved_options is None:
            os.environ.pop("JAVA_TOOL_OPTIONS", None)
        else:
            os.environ["JAVA_TOOL_OPTIONS"] = saved_options
        shutil.rmtree(private, ignore_errors=True)


def _hierarchy(world: object, owlready2: types.ModuleType) -> tuple[dict[str, tuple[str, ...]], dict[str, tuple[str, ...]]]:
    """Return the direct named superclasses and the named equivalents of every named class."""
    thing = owlready2.Thing
    classes = [c for c in world.classes() if isinstance(c, owlready2.ThingClass)]  # type: ignore[attr-defined]
    ancestors = {c: {a for a in c.ancestors() if isinstance(a, owlready2.ThingClass)} - {thing} for c in classes}
    hierarchy: dict[str, tuple[str, ...]] = {}
    equivalents: dict[str, tuple[str, ...]] = {}
    for cls in classes:
        same = {a for a in ancestors[cls] if a is not cls and cls in ancestors.get(a, set())}
        strict = ancestors[cls] - same - {cls}
        direct = {
            a for a in strict if not any(a in ancestors.get(b, set()) and b not in same for b in strict if b is not a)
        }
        hierarchy[cls.iri] = tuple(sorted(a.iri for a in direct))
        if same:
            equivalents[cls.iri] = tuple(sorted(a.iri for a in same))
    return hierarchy, equivalents


# ---------------------------------------------------------------------------------------------
# Explaining an inconsistency (HermiT only says "inconsistent")
# ---------------------------------------------------------------------------------------------


def _disjoint_pairs(graph: Graph) -> set[frozenset[Node]]:
    pairs: set[frozenset[Node]] = set()
    for a, b in graph.subject_objects(OWL.disjointWith):
        pairs.add(frozenset((a, b)))
    for node in graph.subjects(RDF.type, OWL.AllDisjointClasses):
        members = graph.value(node, OWL.members)
        if members is not None:
            for a, b in combinations(list(Collection(graph, members)), 2):  # type: ignore[arg-type]
                pairs.add(frozenset((a, b)))
    return pairs


def _ancestors(graph: Graph, classes: Iterable[Node]) -> set[Node]:
    seen: set[Node] = set()
    stack = list(classes)
    while stack:
        cls = stack.pop()
        if cls in seen:
            continue
        seen.add(cls)
        stack.extend(o for o in graph.objects(cls, RDFS.subClassOf) if isinstance(o, URIRef))
        stack.extend(o for o in graph.objects(cls, OWL.equivalentClass) if isinstance(o, URIRef))
    return seen


def _clash(graph: Graph, pairs: set[frozenset[Node]], classes: Iterable[Node]) -> list[tuple[str, str]]:
    found = _ancestors(graph, classes)
    clashes = []
    for pair in pairs:
        if pair <= found and len(pair) == 2:
            a, b = sorted(str(x) for x in pair)
            clashes.append((a, b))
    return sorted(clashes)


def _disjointness_causes(graph: Graph, classes: Iterable[URIRef]) -> str:
    pairs = _disjoint_pairs(graph)
    parts = []
    for cls in classes:
        for a, b in _clash(graph, pairs, [cls]):
            parts.append(f"{_short(str(cls))} is a subclass of the disjoint classes {_short(a)} and {_short(b)}")
    return "; ".join(parts)


def _inconsistency_message(graph: Graph) -> str:
    """Name the classes and individuals that explain an inconsistency, as far as asserted axioms tell."""
    pairs = _disjoint_pairs(graph)
    parts = []
    for cls in sorted({s for s in graph.subjects(RDF.type, OWL.Class) if isinstance(s, URIRef)}, key=str):
        for a, b in _clash(graph, pairs, [cls]):
            parts.append(f"class {_short(str(cls))} is a subclass of the disjoint classes {_short(a)} and {_short(b)}")
    typed: dict[Node, set[Node]] = {}
    for subject, type_ in graph.subject_objects(RDF.type):
        if isinstance(type_, URIRef) and not str(type_).startswith((str(OWL), str(RDF), str(RDFS))):
            typed.setdefault(subject, set()).add(type_)
    for subject in sorted(typed, key=str):
        for a, b in _clash(graph, pairs, typed[subject]):
            parts.append(f"individual {_short(str(subject))} is an instance of the disjoint classes {_short(a)} and {_short(b)}")
    detail = "; ".join(parts) or (
        "HermiT gives no explanation; check disjointness axioms, functional properties and the types of individuals"
    )
    return f"the ontology is inconsistent (it has no model): {detail}"
