"""The one adapter between the SHACL tests and npc-kg's evaluators.

Every test under ``tests/shacl/`` (and ``benchmarks/differential.py``) calls the evaluators only
through this module, so a change of the evaluators' API changes this file alone.

- :func:`evaluate` runs one evaluator on a shapes graph and a data graph (the W3C SHACL Core
  test suite, the regression cases) and returns an :class:`Outcome`: conformance, the set of
  ``(focus node, source shape, severity)`` results, and whether the evaluator refused the
  shapes (they are outside its subset: the closures raise ``Unsupported``; the SPARQL engine
  marks a shape it cannot compile as a pySHACL fallback).
- :func:`rows` runs one evaluator at the cohort level, on N-Triples bytes, through the
  package's own cohort path (``npc_kg.cohort.assess_batch``), and returns
  ``{patient IRI: (verdict, {criterion IRI: status})}``.

Terms are compared as :data:`Key` tuples, so that rdflib, pyoxigraph and the closures' index
terms compare equal when they are the same RDF term.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rdflib import RDF, RDFS, XSD, BNode, Graph, Literal, URIRef
from rdflib.collection import Collection
from rdflib.term import Node

from npc_kg.namespace import SH

__all__ = ["EVALUATORS", "Key", "Outcome", "Result", "evaluate", "path_key", "pyshacl_rows", "rows", "term_key"]

EVALUATORS = ("reference", "closures", "sparql")
"""pySHACL (the reference), the plan compiled to Python closures, the plan compiled to SPARQL."""

COHORT_ENGINES = {"reference": "reference", "closures": "local", "sparql": "sparql"}
"""The name of each evaluator in ``npc_kg.cohort.assess_batch``."""

Key = tuple[str, ...]
"""An RDF term: ``("iri", iri)``, ``("bnode", label)`` or ``("lit", lexical, datatype, language)``."""

Result = tuple[Key, Key, Key]
"""``(focus node, source shape, severity)`` of a validation result."""

_STRING, _LANG_STRING = str(XSD.string), str(RDF.langString)
_SUBCLASS = str(RDFS.subClassOf)


@dataclass(frozen=True)
class Outcome:
    """What one evaluator says about one data graph.

    ``details`` is only filled by the reference (pySHACL reports one result per value node):
    ``(focus, shape, severity, component, path, value)`` per result.
    """

    conforms: bool
    results: frozenset[Result]
    refused: str | None = None
    details: tuple[tuple[Key, Key, Key, Key | None, Any, Key | None], ...] | None = None


def term_key(term: Any) -> Key:
    """The key of an rdflib term, a pyoxigraph term, or a closures index term (IRI string, ``_:label``)."""
    import pyoxigraph as ox

    if isinstance(term, URIRef):
        return ("iri", str(term))
    if isinstance(term, BNode):
        return ("bnode", str(term))
    if isinstance(term, Literal):
        language = term.language or ""
        datatype = _LANG_STRING if language else str(term.datatype) if term.datatype is not None else _STRING
        return ("lit", str(term), datatype, language.lower())
    if isinstance(term, ox.NamedNode):
        return ("iri", term.value)
    if isinstance(term, ox.BlankNode):
        return ("bnode", term.value)
    if isinstance(term, ox.Literal):
        language = term.language or ""
        return ("lit", term.value, _LANG_STRING if language else term.datatype.value, language.lower())
    if isinstance(term, str):
        return ("bnode", term[2:]) if term.startswith("_:") else ("iri", term)
    raise TypeError(f"not an RDF term: {type(term).__name__}")


def path_key(graph: Graph, node: Node | None) -> Any:
    """A SHACL property path as a nested tuple (``("inv", p)``, ``("seq", ...)``, ...), or None."""
    if node is None:
        return None
    if isinstance(node, URIRef):
        return str(node)
    if (node, RDF.first, None) in graph:
        return ("seq", *(path_key(graph, item) for item in Collection(graph, node)))
    for predicate, kind in ((SH.inversePath, "inv"), (SH.zeroOrMorePath, "zom"), (SH.oneOrMorePath, "oom"),
                            (SH.zeroOrOnePath, "zoo")):
        value = graph.value(node, predicate)
        if value is not None:
            return (kind, path_key(graph, value))
    options = graph.value(node, SH.alternativePath)
    if options is not None:
        return ("alt", *(path_key(graph, item) for item in Collection(graph, options)))
    return ("unknown",)


# -- one data graph -------------------------------------------------------------------------------

def evaluate(name: str, shapes: Graph, data: Graph) -> Outcome:
    """Run evaluator ``name`` (one of :data:`EVALUATORS`) on ``data`` against ``shapes``.

    ``data`` keeps its own ``rdfs:subClassOf`` triples (SHACL's class semantics read them from
    the data graph); no other ontology is added.
    """
    return _EVALUATE[name](shapes, data)


def _outcome(results: Iterable[Result], **extra: Any) -> Outcome:
    found = frozenset(results)
    return Outcome(conforms=not found, results=found, **extra)


def _reference(shapes: Graph, data: Graph) -> Outcome:
    from npc_kg.shacl.reference import validate

    run = validate(data, shapes=shapes, subclasses=Graph())
    details = tuple(sorted(
        (term_key(r.focus), term_key(r.source_shape), term_key(r.severity),
         term_key(r.component) if r.component is not None else None,
         path_key(run.report, r.path), _value_key(run.report, r.node))
        for r in run.results
    ))
    return _outcome(((f, s, v) for f, s, v, *_rest in details), details=details)


def _value_key(report: Graph, node: Node) -> Key | None:
    value = report.value(node, SH.value)
    return term_key(value) if value is not None else None


def _closures(shapes: Graph, data: Graph) -> Outcome:
    from npc_kg.shacl.closures import rdflib_triples
    from npc_kg.shacl.engines import Engines
    from npc_kg.shacl.plan import Unsupported

    try:
        engine = Engines.build(shapes, Graph(), subclasses=data).closures()
        # The data's subclass triples are the engine's class closure; it indexes them only if a shape reads them.
        keep = _SUBCLASS in engine.needed or engine.plan.all_predicates
        idx = engine.index(t for t in rdflib_triples(data) if keep or t.predicate.value != _SUBCLASS)
        _patients, hits = engine.hits(idx)
    except Unsupported as error:
        return Outcome(conforms=False, results=frozenset(), refused=str(error) or type(error).__name__)
    return _outcome((term_key(focus), term_key(unit.shape), term_key(URIRef(unit.severity))) for unit, focus, _o in hits)


def _sparql(shapes: Graph, data: Graph) -> Outcome:
    from npc_kg.shacl.closures import rdflib_triples
    from npc_kg.shacl.engines import Engines
    from npc_kg.shacl.plan import Unsupported
    from npc_kg.shacl.sparql import SparqlEvaluator

    engine = SparqlEvaluator(Engines.build(shapes, Graph(), subclasses=data).plan, notices=False)
    if engine.fallback:
        return Outcome(conforms=False, results=frozenset(), refused="; ".join(sorted(
            {str(c.unsupported) for c in engine.units if c.query is None and c.unsupported is not None})))
    try:
        _patients, hits = engine.store_hits(list(rdflib_triples(data)))
    except Unsupported as error:  # generalised RDF, or data that uses the evaluator's private IRIs
        return Outcome(conforms=False, results=frozenset(), refused=str(error) or type(error).__name__)
    return _outcome((term_key(focus), term_key(unit.shape), term_key(URIRef(unit.severity))) for unit, focus, _o in hits)


_EVALUATE: dict[str, Callable[[Graph, Graph], Outcome]] = {
    "reference": _reference, "closures": _closures, "sparql": _sparql,
}


# -- a cohort -------------------------------------------------------------------------------------

def rows(name: str, data: bytes, *, batch_size: int = 1000) -> dict[str, tuple[str, dict[str, str]]]:
    """Assess every patient of N-Triples ``data`` with evaluator ``name`` through the cohort path.

    Returns ``{patient IRI: (verdict, {criterion IRI: status})}``; a patient that breaks the
    patient model has the verdict ``"error"`` and no statuses. The batches come from the cohort
    reader (``npc_kg.cohort.reader.iter_batches``) and are assessed by
    ``npc_kg.cohort.assess_batch``, except that the closures are called directly: ``assess_batch``
    would hand a batch they refuse to the SPARQL engine without a word, and the test would then
    check the wrong evaluator. For the same reason the SPARQL engine must compile every shape.
    """
    from npc_kg.cohort import assess_batch
    from npc_kg.cohort.evaluate import batch_quads, error_rows
    from npc_kg.cohort.reader import iter_batches
    from npc_kg.core.rules import rows_of
    from npc_kg.shacl.engines import package_engines

    engines = package_engines()
    assess: Callable[[Any], list[Any]]
    if name == "closures":
        closures = engines.closures()  # raises Unsupported instead of falling back

        def assess(batch: Any) -> list[Any]:
            quads, batch = batch_quads(batch)
            patients, hits = closures.hits(closures.index(quads))
            return rows_of(patients, hits, engines.criteria(), engines.plan.implemented, batch.roots) + error_rows(batch)
    else:
        if name == "sparql":
            fallback = engines.sparql.fallback
            assert not fallback, f"the SPARQL engine hands {len(fallback)} shape(s) to pySHACL"
        engine = COHORT_ENGINES[name]

        def assess(batch: Any) -> list[Any]:
            return assess_batch(batch, engine)

    out: dict[str, tuple[str, dict[str, str]]] = {}
    with tempfile.TemporaryDirectory(prefix="npc-kg-diff-") as folder:  # synthetic patients only
        path = Path(folder) / "cohort.nt"
        path.write_bytes(data)
        for batch in iter_batches(path, "nt", batch_size=batch_size):
            for row in assess(batch):
                out[row.patient] = (row.verdict, dict(row.statuses))
    return out


def pyshacl_rows(data: bytes) -> dict[str, tuple[str, dict[str, str]]]:
    """The answer the differential checks every evaluator against: pySHACL on the data as written.

    The N-Triples are parsed by rdflib with every lexical form kept (no store in between), the
    statuses come from ``npc_kg.assessment.assess.reference_statuses`` (one pySHACL run, as
    ``npc_kg.assess(..., engine="reference")`` judges a graph), and a patient is an ``"error"``
    row if a patient-model shape (``shapes/patient.ttl``) reports a result on it or on one of
    its finding records, as a cohort row says.
    """
    import rdflib

    from npc_kg.assessment.assess import reference_statuses
    from npc_kg.namespace import NPC
    from npc_kg.resources import data_path
    from npc_kg.shacl.reference import validate

    saved, rdflib.NORMALIZE_LITERALS = rdflib.NORMALIZE_LITERALS, False
    try:
        graph = Graph()
        graph.parse(data=data.decode("utf-8"), format="nt")
        model = Graph()
        model.parse(data_path("shapes", "patient.ttl"), format="turtle")
    finally:
        rdflib.NORMALIZE_LITERALS = saved
    patients = {p for p in graph.subjects(RDF.type, NPC.Patient) if isinstance(p, URIRef)}
    errors = set()
    for result in validate(graph, shapes=model).results:
        owners = {result.focus} | set(graph.subjects(NPC.hasFinding, result.focus))
        errors |= {str(owner) for owner in owners if owner in patients}
    out: dict[str, tuple[str, dict[str, str]]] = {}
    for patient, found in reference_statuses(graph, strict=False).items():
        statuses = dict(found)
        verdict = statuses.pop("verdict")
        out[patient] = ("error", {}) if patient in errors else (verdict, statuses)
    return out
