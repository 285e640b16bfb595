"""Assess one batch of a cohort: read it for the chosen evaluator, collect hits, make rows (the core's rules).

- ``local`` (alias ``fast``): the compiled closures over an index of the batch (strict
  N-Triples reader, else pyoxigraph's parser); a batch or shapes they cannot answer go to ``sparql``;
- ``sparql``: the compiled SPARQL on a pyoxigraph store of the batch; units it cannot express
  go to pySHACL;
- ``reference``: one pySHACL run over the batch.

Rows: the batch's patients in input order, then its settled rows (FHIR patients out of scope),
then its damaged records as error rows (:mod:`npc_kg.cohort.damage`: a record with a line that
cannot be read is never assessed). Each row carries the patient's ``source_id``: the id the
batch's reader gave (registry CSV id cell, FHIR Patient id), else the patient's
``dcterms:identifier`` in the data, else empty. A batch's ``subclasses`` (the bridges of narrower
FHIR codes) are added to the evaluators' class hierarchy, never to the data.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyoxigraph as ox
from rdflib.namespace import DCTERMS

from npc_kg.cohort.damage import screen, split
from npc_kg.cohort.ntriples import NotStrict
from npc_kg.cohort.reader import Batch
from npc_kg.core.rules import ERROR, Criterion, Hit, PatientRow, rows_of
from npc_kg.shacl.closures import ClosureEvaluator, Index, gc_paused
from npc_kg.shacl.engines import Engines, engines_for, rdflib_graph
from npc_kg.shacl.plan import Unsupported

__all__ = ["ENGINES", "Assessed", "assess_batch", "assess_records", "batch_quads", "error_rows"]

ENGINES = ("local", "sparql", "reference", "fast")
"""``local`` (the default; ``fast`` is its alias): shapes compiled to Python closures; ``sparql``:
shapes compiled to SPARQL on a pyoxigraph store (also the first fallback of ``local``, and the
engine of ``--endpoint``); ``reference``: pySHACL."""

_OX_FORMAT = {"nt": ox.RdfFormat.N_TRIPLES, "nq": ox.RdfFormat.N_QUADS, "csv": ox.RdfFormat.N_TRIPLES}
_IDENTIFIER = str(DCTERMS.identifier)


def error_rows(batch: Batch) -> list[PatientRow]:
    """The error rows of a batch's unreadable records."""
    return [PatientRow(e.subject, ERROR, {}, e.reason, e.source_id) for e in batch.errors]


def _untyped_rows(batch: Batch, rows: list[PatientRow]) -> list[PatientRow]:
    """An error row for each N-Triples record whose root has findings but is typed no npc:Patient (the
    evaluators assess typed patients only): rows out equal patients in, never a silent drop."""
    if batch.fmt not in ("nt", "nq") or len(batch.records) != len(batch.roots):
        return []
    seen = {row.patient for row in rows}
    name = Path(batch.where).name
    return [PatientRow(root, ERROR, {}, f"{name}:{piece.first}: the subject has findings (npc:hasFinding) but no "
                                        "rdf:type npc:Patient; type it npc:Patient to assess it")
            for root, piece in zip(batch.roots, batch.records, strict=True) if piece.patient and root not in seen]


def _text(term: Any) -> str:
    """The lexical form of a literal as an index or pyoxigraph holds it."""
    value = getattr(term, "value", None)
    return str(value) if value is not None else str(term)


def _index_identifiers(idx: Index, patients: set[Any]) -> dict[str, str]:
    out: dict[str, str] = {}
    for patient in patients:
        values = idx.get(patient, {}).get(_IDENTIFIER)
        if values:
            out[str(patient)] = min(_text(v) for v in values)
    return out


def _quad_identifiers(quads: list[Any], patients: set[Any]) -> dict[str, str]:
    wanted = {str(p) for p in patients}
    out: dict[str, str] = {}
    for quad in quads:
        if quad.predicate.value == _IDENTIFIER and isinstance(quad.object, ox.Literal):
            subject = getattr(quad.subject, "value", None)
            if subject in wanted:
                text = quad.object.value
                out[subject] = min(text, out.get(subject, text))
    return out


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


def _closure_hits(evaluator: ClosureEvaluator, batch: Batch) -> tuple[set[Any], list[Hit], Batch, dict[str, str]]:
    """Hits of the closures (and the patients' ``dcterms:identifier``); strict one-triple-per-line
    N-Triples is read without pyoxigraph."""
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
        identifiers = _index_identifiers(idx, patients) if len(batch.source_ids) < len(patients) else {}
        del idx  # freed while the collector is paused: it never walks the batch's index
    return patients, hits, batch, identifiers


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
    engines = engines or engines_for()
    criteria = criteria if criteria is not None else engines.criteria()
    if batch.subclasses:
        engines = engines.for_subclasses(batch.subclasses)
    batch = screen(batch)
    result: tuple[set[Any], list[Hit], Batch, dict[str, str]] | None = None
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
        result = (patients, hits, batch, _quad_identifiers(quads, patients))
    patients, hits, batch, identifiers = result
    rows = rows_of(patients, hits, criteria, engines.plan.implemented, batch.roots)
    for row in rows:
        row.source_id = batch.source_ids.get(row.patient) or identifiers.get(row.patient, "")
    rows += batch.settled + error_rows(batch)
    rows += _untyped_rows(batch, rows)
    known = set(batch.keys)
    return Assessed(rows, batch.keys + [r.patient for r in rows if r.patient not in known], batch.dropped)
