"""Assess one batch of a cohort: read it for the chosen evaluator, collect hits, make rows (the core's rules).

- ``local`` (alias ``fast``): the compiled closures over an index of the batch (strict
  N-Triples reader, else pyoxigraph's parser); a batch or shapes they cannot answer go to ``sparql``;
- ``sparql``: the compiled SPARQL on a pyoxigraph store of the batch; units it cannot express
  go to pySHACL;
- ``reference``: one pySHACL run over the batch.

Rows: the batch's patients in input order, then its damaged records as error rows
(:mod:`npc_kg.cohort.damage`: a record with a line that cannot be read is never assessed).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pyoxigraph as ox

from npc_kg.cohort.damage import screen, split
from npc_kg.cohort.ntriples import NotStrict
from npc_kg.cohort.reader import Batch
from npc_kg.core.rules import ERROR, Criterion, Hit, PatientRow, rows_of
from npc_kg.shacl.closures import ClosureEvaluator, Index, gc_paused
from npc_kg.shacl.engines import Engines, package_engines, rdflib_graph
from npc_kg.shacl.plan import Unsupported

__all__ = ["ENGINES", "Assessed", "assess_batch", "assess_records", "batch_quads", "error_rows"]

ENGINES = ("local", "sparql", "reference", "fast")
"""``local`` (the default; ``fast`` is its alias): shapes compiled to Python closures; ``sparql``:
shapes compiled to SPARQL on a pyoxigraph store (also the first fallback of ``local``, and the
engine of ``--endpoint``); ``reference``: pySHACL."""

_OX_FORMAT = {"nt": ox.RdfFormat.N_TRIPLES, "nq": ox.RdfFormat.N_QUADS, "csv": ox.RdfFormat.N_TRIPLES}


def error_rows(batch: Batch) -> list[PatientRow]:
    """The error rows of a batch's unreadable records."""
    return [PatientRow(e.subject, ERROR, {}, e.reason) for e in batch.errors]


def _parse(data: bytes, fmt: str) -> Iterator[Any]:
    if not data:
        return iter(())
    return iter(ox.parse(input=data, format=_OX_FORMAT.get(fmt, ox.RdfFormat.N_TRIPLES)))


def batch_quads(batch: Batch) -> tuple[list[Any], Batch]:
    """The batch's data as pyoxigraph quads, and the batch without its damaged records (:mod:`npc_kg.cohort.damage`)."""
    batch = screen(batch)
    if batch.quads:
        return batch.quads, batch
    try:
        return list(_parse(batch.data, batch.fmt)), batch
    except SyntaxError:
        batch = split(batch)
        return list(_parse(batch.data, batch.fmt)), batch


def _closure_hits(evaluator: ClosureEvaluator, batch: Batch) -> tuple[set[Any], list[Hit], Batch]:
    """Hits of the closures; strict one-triple-per-line N-Triples is read without pyoxigraph."""
    batch = screen(batch)
    with gc_paused():  # the index is freed before the collector resumes
        idx: Index | None = None
        if batch.quads:
            idx = evaluator.index(batch.quads)
        else:
            if batch.fmt in ("nt", "csv"):
                with contextlib.suppress(NotStrict):
                    idx = evaluator.index_strict(batch.data)
            if idx is None:
                quads, batch = batch_quads(batch)
                idx = evaluator.index(quads)
        patients, hits = evaluator.hits(idx)
    return patients, hits, batch


@dataclass
class Assessed:
    """One assessed batch: its rows, every root and patient it saw (to find patients that come
    back later in the input), and the first lines of its readable records that name no patient."""

    rows: list[PatientRow]
    keys: list[str]
    dropped: list[int]


def assess_batch(batch: Batch, engine_name: str = "local", *, engines: Engines | None = None,
                 criteria: list[Criterion] | None = None, threads: int = 1) -> list[PatientRow]:
    """Assess one batch: rows for its patients (in input order), then its damaged records.

    ``local`` (alias ``fast``) falls back to ``sparql`` for shapes or a batch it cannot answer
    (e.g. ``rdfs:subClassOf`` triples in the data); ``sparql`` falls back to pySHACL per unit.
    ``engines`` default to the package's; ``criteria`` (the columns) to those of its one treatment.
    """
    return assess_records(batch, engine_name, engines=engines, criteria=criteria, threads=threads).rows


def assess_records(batch: Batch, engine_name: str = "local", *, engines: Engines | None = None,
                   criteria: list[Criterion] | None = None, threads: int = 1) -> Assessed:
    """:func:`assess_batch`, with the keys and dropped records of the batch (for the cohort runner)."""
    engines = engines or package_engines()
    criteria = criteria if criteria is not None else engines.criteria()
    batch = screen(batch)
    result: tuple[set[Any], list[Hit], Batch] | None = None
    if engine_name in ("local", "fast"):
        try:
            result = _closure_hits(engines.closures(), batch)
        except Unsupported:
            engine_name = "sparql"  # this batch goes to the SPARQL evaluator
    if result is None:
        quads, batch = batch_quads(batch)
        if engine_name == "reference":
            patients, hits = engines.reference.graph_hits(rdflib_graph(quads))
        else:
            patients, hits = engines.sparql_hits(quads, threads=threads)
        result = (patients, hits, batch)
    patients, hits, batch = result
    rows = rows_of(patients, hits, criteria, engines.plan.implemented, batch.roots) + error_rows(batch)
    known = set(batch.keys)
    return Assessed(rows, batch.keys + [r.patient for r in rows if r.patient not in known], batch.dropped)
