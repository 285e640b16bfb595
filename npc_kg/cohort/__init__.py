"""Cohort screening: stream many patients through the compiled eligibility shapes.

``assess_cohort(inputs, out)`` reads N-Triples, N-Quads, Turtle or CSV in batches, assesses each
batch (``engine="local"``, the default: shapes compiled to Python closures over an in-memory
index, :mod:`npc_kg.shacl.closures`; ``engine="sparql"``: shapes compiled to SPARQL on an
in-memory pyoxigraph store;
``engine="reference"``: one pySHACL run per batch), writes one row per patient and returns the
attrition table. With ``endpoint=URL`` the compiled queries run on a remote SPARQL endpoint that
already holds the patient data. See ``docs/cohort.md``.
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Iterator, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rdflib import RDF, URIRef

from npc_kg.cohort.frames import FrameInput, is_frame, rows_frame
from npc_kg.cohort.writer import OUTPUT_FORMATS, Attrition, RowWriter, render
from npc_kg.core.rules import PatientRow
from npc_kg.errors import InputError

if TYPE_CHECKING:  # imported where used: `import npc_kg.shacl.closures` (npc_kg.assess) stays light
    from concurrent.futures import Future

    from npc_kg.cohort.reader import Batch
    from npc_kg.shacl.sparql import Engine

__all__ = ["CohortSummary", "assess_batch", "assess_cohort"]

ENGINES = ("local", "sparql", "reference", "fast")
"""``local`` (the default; ``fast`` is its alias): shapes compiled to Python closures
(:mod:`npc_kg.shacl.closures`); ``sparql``: shapes compiled to SPARQL on a pyoxigraph store (also
the first fallback of ``local``, and the engine of ``--endpoint``); ``reference``: pySHACL."""

_ENGINE: Engine | None = None
_LOCAL: Any = None  # LocalEngine, or False if the shapes are outside its subset
_THREADS = os.cpu_count() or 1
"""Threads per process for the compiled queries (1 inside worker processes)."""


@dataclass
class CohortSummary:
    """What a cohort run produced: row count and the attrition table."""

    rows: int
    attrition: Attrition
    out: Path | None
    provenance: Any = None
    """The run's :class:`~npc_kg.assessment.provenance.Provenance` (also beside or inside every output)."""


def _engine() -> Engine:
    global _ENGINE
    if _ENGINE is None:
        from npc_kg.shacl.sparql import Engine

        _ENGINE = Engine.cached()
    return _ENGINE


def _error_rows(batch: Batch) -> list[PatientRow]:
    return [PatientRow(e.subject, "error", {}, e.reason) for e in batch.errors]


def _local_engine() -> Any:
    """The local engine, or None (with a notice on stderr, once) if the shapes are outside its subset."""
    global _LOCAL
    if _LOCAL is None:
        from npc_kg.shacl.closures import Unsupported, default_engine

        try:
            _LOCAL = default_engine()  # the one per process, shared with npc_kg.assess
        except Unsupported as error:
            import sys

            print(f"npc-kg: note: the local engine cannot evaluate these shapes ({error}); using the SPARQL engine",
                  file=sys.stderr)
            _LOCAL = False
    return _LOCAL or None


def assess_batch(batch: Batch, engine_name: str = "local") -> list[PatientRow]:
    """Assess one batch: rows for its patients (in input order), then its unreadable records.

    ``local`` (alias ``fast``) falls back to ``sparql`` for shapes or a batch it cannot answer
    (e.g. ``rdfs:subClassOf`` triples in the data); ``sparql`` falls back to pySHACL per shape.
    """
    if engine_name in ("local", "fast"):
        from npc_kg.shacl.closures import Unsupported

        local = _local_engine()
        if local is not None:
            try:
                return local.assess_batch(batch)
            except Unsupported:
                pass  # this batch goes to the SPARQL engine
        engine_name = "sparql"
    engine = _engine()
    if engine_name == "reference":
        return _reference_batch(batch, engine)
    from npc_kg.shacl.sparql import store_runner

    store, batch = _load_store(batch)
    graph = None
    if engine.fallback:
        graph = _rdflib_graph(store)
    local = engine.for_store(store)
    rows = local.assess(store_runner(store, union=batch.fmt == "nq"), order=batch.roots, fallback_graph=graph,
                        threads=_THREADS)
    return rows + _error_rows(batch)


def _load_store(batch: Batch) -> tuple[Any, Batch]:
    """Bulk-load a batch into a new pyoxigraph store.

    On a syntax error the batch is repaired (its unparsable records become error records) and
    loaded again; the repaired batch is returned so its error rows are not lost.
    """
    import pyoxigraph as ox

    store = ox.Store()
    if batch.quads:
        store.bulk_extend(batch.quads)
    elif batch.data:
        fmt = ox.RdfFormat.N_QUADS if batch.fmt == "nq" else ox.RdfFormat.N_TRIPLES
        try:
            store.bulk_load(batch.data, format=fmt)
        except SyntaxError:
            batch = batch.repair()
            store = ox.Store()
            if batch.data:
                store.bulk_load(batch.data, format=fmt)
    return store, batch


def _rdflib_graph(store: Any) -> Any:
    """The store's triples (all graphs) as an rdflib Graph, for pySHACL."""
    import pyoxigraph as ox
    from rdflib import Graph

    triples = [ox.Triple(q.subject, q.predicate, q.object) for q in store]
    data = ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES) or b""
    graph = Graph()
    graph.parse(data=data.decode("utf-8"), format="nt")
    return graph


def _reference_batch(batch: Batch, engine: Engine) -> list[PatientRow]:
    """The pySHACL reference path on one batch, with its error rows; statuses as ``npc_kg.assessment.assess``."""
    from npc_kg.assessment import assess as assessment
    from npc_kg.namespace import NPC, SH
    from npc_kg.shacl.reference import validate
    from npc_kg.shacl.shapes import shapes_graph

    store, batch = _load_store(batch)
    graph = _rdflib_graph(store)
    patients = list(graph.subjects(RDF.type, NPC.Patient))
    run = validate(graph)
    grouped = assessment._results_by_patient(run, graph, patients)
    implemented = assessment._implemented()
    shapes = shapes_graph()
    errors: dict[str, set[str]] = {}
    known = {str(p) for p in patients}
    for result in run.results:
        if shapes.value(result.source_shape, NPC.criterion) is not None:
            continue
        owners = [result.focus] if str(result.focus) in known else list(graph.subjects(NPC.hasFinding, result.focus))
        for owner in owners:
            if str(owner) in known:
                name = shapes.value(result.source_shape, SH.name)
                errors.setdefault(str(owner), set()).add(str(name) if name is not None else "a structure rule")
    order = [p for p in dict.fromkeys(batch.roots) if p in known]
    order += sorted(known - set(order))
    by_key = {str(p): p for p in patients}
    rows = []
    for key in order:
        if key in errors:
            rows.append(PatientRow(key, "error", {}, "breaks the patient model: " + ", ".join(sorted(errors[key]))))
            continue
        statuses = {c.iri: assessment._status(grouped[by_key[key]].get(URIRef(c.iri), []), c.iri in {str(i) for i in implemented})
                    for c in engine.criteria}
        rows.append(PatientRow(key, assessment._verdict(statuses.values()), statuses))
    return rows + _error_rows(batch)


def _batches(inputs: Sequence[Any], batch_size: int, input_format: str | None) -> Iterator[Batch]:
    from npc_kg.cohort.reader import iter_batches

    for path in inputs:
        yield from path.batches(batch_size) if isinstance(path, FrameInput) else iter_batches(path, input_format,
                                                                                                batch_size=batch_size)


def _total_bytes(inputs: Sequence[Any]) -> int:
    total = 0
    for path in inputs:
        if isinstance(path, FrameInput):
            total += len(path)
            continue
        try:
            total += os.path.getsize(path)
        except OSError:
            raise InputError("no such file", path=str(path)) from None
    return total


def assess_cohort(
    inputs: Sequence[str | Path] | str | Path | Any,
    out: str | Path | None = None,
    *,
    fmt: str | None = None,
    attrition: str | Path | None = None,
    batch_size: int = 1000,
    endpoint: str | None = None,
    engine: str = "local",
    workers: int = 1,
    input_format: str | None = None,
    progress: bool | None = None,
    timeout: float = 60.0,
    report: str | Path | None = None,
    at: str | None = None,
    as_dataframe: bool = False,
) -> Any:
    """Assess every patient of ``inputs`` (or of ``endpoint``); write rows to ``out``; return the summary.

    ``inputs`` may also be a pandas DataFrame shaped like the registry CSV (or a list holding
    some). ``report`` writes the HTML cohort view; ``at`` sets the time in the provenance.
    With ``as_dataframe=True``, or no ``out``, the rows come back as a DataFrame of strings
    (``attrs``: ``provenance``, ``attrition``) instead of a :class:`CohortSummary`.
    """
    from npc_kg.atomic import atomic_output
    from npc_kg.cohort.outputs import PARQUET_KEY, cohort_provenance, finish_outputs
    from npc_kg.cohort.progress import Progress

    given: list[Any] = [inputs] if isinstance(inputs, str | Path) or is_frame(inputs) else list(inputs)
    paths: list[Any] = [FrameInput(p) if is_frame(p) else p for p in given]
    prov = cohort_provenance(engine, at)
    sink_out: str | Path | io.StringIO = io.StringIO() if out is None else out
    if out is None:
        fmt, as_dataframe = "csv", True
    out_path = Path(sink_out) if not isinstance(sink_out, io.StringIO) else Path("<memory>.csv")
    fmt = fmt or (out_path.suffix.lstrip(".").lower() if out_path.suffix.lstrip(".").lower() in OUTPUT_FORMATS else "csv")
    if fmt not in OUTPUT_FORMATS:
        raise InputError(f"unknown output format {fmt!r} (use one of {', '.join(OUTPUT_FORMATS)})")
    if engine not in ENGINES:
        raise InputError(f"unknown engine {engine!r} (use one of {', '.join(ENGINES)})")
    if endpoint is None and not paths:
        raise InputError("give at least one input file, or --endpoint")
    if endpoint is not None and engine == "reference":
        raise InputError("--endpoint runs the compiled SPARQL: use --engine sparql")
    eng = _engine()
    summary = Attrition(eng.criteria)
    total = 0
    all_inputs: list[str | Path] = [p for p in paths if not isinstance(p, FrameInput)]
    from npc_kg.atomic import check_not_input

    for extra in (attrition, report):
        if extra is not None:
            check_not_input(extra, all_inputs)
    binary = fmt == "parquet"
    sink = nullcontext(sink_out) if isinstance(sink_out, io.StringIO) else atomic_output(
        out_path, mode="wb" if binary else "w", inputs=all_inputs, encoding=None if binary else "utf-8",
        newline=None if binary else "")
    with sink as handle:
        writer = RowWriter(handle, getattr(handle, "name", str(out_path)), fmt, eng.criteria,
                           metadata={PARQUET_KEY: json.dumps(prov.to_dict()).encode()})
        try:
            if endpoint is not None:
                from npc_kg.cohort.endpoint import endpoint_runner

                rows = eng.assess(endpoint_runner(endpoint, timeout=timeout), threads=min(4, _THREADS + 2))
                writer.write(rows)
                summary.add(rows)
                total = len(rows)
            else:
                bar = Progress(_total_bytes(paths), enabled=progress)
                for done in _run(paths, batch_size, input_format, engine, workers, fmt):
                    writer.write_rendered(done.payload)
                    summary.merge(done.counts)
                    total += done.rows
                    bar.update(total, done.position)
                bar.close()
        finally:
            writer.close()
    if attrition is not None:
        summary.write_csv(attrition, inputs=all_inputs)
    finish_outputs(prov, summary, sink_out, fmt, total, attrition_csv=attrition, report=report, inputs=all_inputs)
    if as_dataframe:
        return rows_frame(sink_out, fmt, {"provenance": prov.to_dict(), "attrition": summary.table()})
    return CohortSummary(rows=total, attrition=summary, out=out_path, provenance=prov)


def _worker_started() -> None:
    """In a new worker: move what it inherited (engine, memos) out of the garbage collector's sight."""
    import gc

    gc.freeze()


@dataclass
class _Done:
    """One assessed batch, ready to write: rendered rows, their attrition counts, and progress."""

    payload: str | list[list[str]]
    counts: Attrition
    rows: int
    position: int


def _work(batch: Batch, engine: str, fmt: str) -> _Done:
    """Assess, render and count one batch (in a worker process, so the main process only writes)."""
    rows = assess_batch(batch, engine)
    criteria = _engine().criteria
    counts = Attrition(criteria)
    counts.add(rows)
    return _Done(render(rows, fmt, criteria), counts, len(rows), batch.position)


def _run(paths: Sequence[Any], batch_size: int, input_format: str | None, engine: str,
         workers: int, fmt: str) -> Iterator[_Done]:
    """Rows per batch, in input order; with ``workers`` > 1 a bounded window of batches runs in parallel."""
    global _THREADS
    batches = _batches(paths, batch_size, input_format)
    if workers <= 1:
        if engine != "sparql" or _engine().fallback or _THREADS <= 1:  # pySHACL flips rdflib globals: no threads
            for batch in batches:
                yield _work(batch, engine, fmt)
            return
        # Two batches in flight: one loads its store while the other runs its queries.
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=2) as threads:
            in_flight: list[Future[_Done]] = []
            for batch in batches:
                in_flight.append(threads.submit(_work, batch, engine, fmt))
                while len(in_flight) >= 2:
                    yield in_flight.pop(0).result()
            while in_flight:
                yield in_flight.pop(0).result()
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    saved, _THREADS = _THREADS, 1  # forked workers inherit this: one query thread each
    try:
        context = multiprocessing.get_context("fork") if "fork" in multiprocessing.get_all_start_methods() else None
        if context is not None and engine in ("local", "fast"):
            _local_engine()  # loaded once here, inherited by every forked worker
        pending: list[Future[_Done]] = []
        with ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_worker_started) as pool:
            for batch in batches:
                pending.append(pool.submit(_work, batch, engine, fmt))
                while len(pending) >= 2 * workers:
                    yield pending.pop(0).result()
            while pending:
                yield pending.pop(0).result()
    finally:
        _THREADS = saved
