"""``assess_cohort``: stream a cohort through the evaluators, write one row per patient, count the attrition.

Reads N-Triples, N-Quads, Turtle or CSV in batches, assesses each batch
(:func:`npc_kg.cohort.evaluate.assess_batch`: ``engine="local"``, the default, compiled
closures; ``engine="sparql"``, compiled SPARQL on a pyoxigraph store; ``engine="reference"``,
pySHACL), writes one row per patient and returns the attrition table. With ``endpoint=URL`` the
compiled queries run on a remote SPARQL endpoint that already holds the patient data. See
``docs/cohort.md``.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
from collections.abc import Iterator, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from npc_kg.cohort.evaluate import ENGINES, assess_batch
from npc_kg.cohort.frames import FrameInput, is_frame, rows_frame
from npc_kg.cohort.writer import OUTPUT_FORMATS, Attrition, RowWriter, render
from npc_kg.core.rules import rows_of
from npc_kg.errors import InputError
from npc_kg.shacl.engines import package_engines
from npc_kg.shacl.plan import Unsupported

if TYPE_CHECKING:
    from concurrent.futures import Future

    from npc_kg.cohort.reader import Batch

__all__ = ["ENGINES", "CohortSummary", "assess_cohort"]

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
    from npc_kg.atomic import atomic_output, check_distinct_outputs, check_not_input
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
    engines = package_engines()
    criteria = engines.criteria()
    summary = Attrition(criteria)
    total = 0
    all_inputs: list[str | Path] = [p for p in paths if not isinstance(p, FrameInput)]
    check_distinct_outputs(out, attrition, report, names=("the rows (--out)", "--attrition", "--report"))
    for extra in (attrition, report):
        if extra is not None:
            check_not_input(extra, all_inputs)
    binary = fmt == "parquet"
    sink = nullcontext(sink_out) if isinstance(sink_out, io.StringIO) else atomic_output(
        out_path, mode="wb" if binary else "w", inputs=all_inputs, encoding=None if binary else "utf-8",
        newline=None if binary else "")
    with sink as handle:
        writer = RowWriter(handle, getattr(handle, "name", str(out_path)), fmt, criteria,
                           metadata={PARQUET_KEY: json.dumps(prov.to_dict()).encode()})
        try:
            if endpoint is not None:
                patients, hits = engines.sparql.endpoint_hits(endpoint, timeout=timeout, threads=min(4, _THREADS + 2))
                rows = rows_of(patients, hits, criteria, engines.plan.implemented)
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
    engines = package_engines()
    criteria = engines.criteria()
    rows = assess_batch(batch, engine, engines=engines, criteria=criteria, threads=_THREADS)
    counts = Attrition(criteria)
    counts.add(rows)
    return _Done(render(rows, fmt, criteria), counts, len(rows), batch.position)


def _run(paths: Sequence[Any], batch_size: int, input_format: str | None, engine: str,
         workers: int, fmt: str) -> Iterator[_Done]:
    """Rows per batch, in input order; with ``workers`` > 1 a bounded window of batches runs in parallel."""
    global _THREADS
    batches = _batches(paths, batch_size, input_format)
    if workers <= 1:
        if engine != "sparql" or package_engines().sparql.fallback or _THREADS <= 1:  # pySHACL flips rdflib globals: no threads
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
        if context is not None:  # built once here, inherited by every forked worker
            engines = package_engines()
            engines.criteria()
            if engine in ("local", "fast"):
                with contextlib.suppress(Unsupported):
                    engines.closures()
            else:
                engines.sparql  # noqa: B018 - compiled and its queries checked once, before the fork
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
