"""``assess_cohort``: stream a cohort through the evaluators, write one row per patient, count the attrition.

Reads N-Triples, N-Quads, Turtle, CSV (or DataFrames) and FHIR (Bulk Data exports, bundle files;
:mod:`npc_kg.cohort.fhir_input`) in batches, assesses each batch
(:func:`npc_kg.cohort.evaluate.assess_batch`: ``engine="local"``, the default, compiled
closures; ``engine="sparql"``, compiled SPARQL on a pyoxigraph store; ``engine="reference"``,
pySHACL), writes one row per patient and returns the attrition table. With ``endpoint=URL`` the
compiled queries run on a remote SPARQL endpoint that already holds the patient data. Site
mapping files (``mapping=``, ``--mapping``) extend the CSV or the FHIR mapping, by their
``format`` (:mod:`npc_kg.cohort.site_mappings`). The run works in one configuration (the
package's criteria packs plus ``packs``) and for one treatment (``treatment``, or the only one
the loaded packs state criteria of). See ``docs/cohort.md``, ``docs/fhir.md`` and ``docs/packs.md``.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from npc_kg.cohort.csv_mapping import CsvMapping
from npc_kg.cohort.evaluate import ENGINES, assess_records
from npc_kg.cohort.frames import FrameInput, is_frame, rows_frame
from npc_kg.cohort.handoff import Handoff
from npc_kg.cohort.reader import is_line_key, suffix_format
from npc_kg.cohort.writer import OUTPUT_FORMATS, Attrition, RowWriter, render
from npc_kg.core.rules import rows_of
from npc_kg.errors import InputError, WorkerError
from npc_kg.kg.packs import PackInput, using_packs
from npc_kg.limits import seconds
from npc_kg.namespace import DEFAULT_GRAPH_IRI
from npc_kg.notices import notice
from npc_kg.shacl.engines import engines_for
from npc_kg.shacl.plan import Unsupported

if TYPE_CHECKING:
    from concurrent.futures import Future

    from npc_kg.cohort.fhir_input import FhirCohort
    from npc_kg.cohort.reader import Batch
    from npc_kg.cohort.site_mappings import SiteMappings

__all__ = ["ENGINES", "INPUT_FORMATS", "REPEATED", "CohortSummary", "assess_cohort"]

_ENDPOINT_TIMEOUT = 60.0
"""Seconds each request to ``endpoint`` may take, unless ``timeout`` says otherwise."""

INPUT_FORMATS = ("nt", "nq", "ttl", "csv", "fhir")
"""``--input-format``: the RDF and CSV formats of the reader, and FHIR (Bulk Data NDJSON, bundle files)."""

_THREADS = os.cpu_count() or 1
"""Threads per process for the compiled queries (1 inside worker processes)."""
_FHIR: list[FhirCohort] = []
"""The FHIR inputs of the running cohort: set before workers are forked, so they share its index."""
_WORKER_HANDOFF: list[Handoff] = []
"""In a worker process only: the shared memory its run hands batch data through (:mod:`npc_kg.cohort.handoff`)."""

Job = Any
"""A unit of work: a :class:`Batch`, or a ``(start, stop)`` range of the run's FHIR records."""
_WORKER_ENGINES: dict[Any, Any] = {}
"""In a worker process only: the run's engines, found once when it starts (resolving the packs for every batch
stats their files)."""


@dataclass
class CohortSummary:
    """What a cohort run produced: row count and the attrition table."""

    rows: int
    attrition: Attrition
    out: Path | None
    provenance: Any = None
    """The run's :class:`~npc_kg.assessment.provenance.Provenance` (also beside or inside every output)."""


REPEATED = ("appears more than once in the input (npc-kg reads all the lines of a patient as one run: group the "
            "input by patient)")
"""The error reason of a patient whose records are in more than one place in the input."""


def _batches(inputs: Sequence[Any], batch_size: int, input_format: str | None,
             csv_mapping: CsvMapping | None, encoding: str) -> Iterator[Batch]:
    from npc_kg.cohort.reader import iter_batches

    for path in inputs:
        if isinstance(path, FrameInput):
            yield from path.batches(batch_size, mapping=csv_mapping)
        else:
            yield from iter_batches(path, input_format, batch_size=batch_size, mapping=csv_mapping, encoding=encoding)


def _jobs(fhir: FhirCohort | None, others: Sequence[Any], batch_size: int, input_format: str | None,
          csv_mapping: CsvMapping | None, encoding: str) -> Iterator[Job]:
    """The FHIR record ranges first (read where they are assessed), then the batches of the other inputs."""
    if fhir is not None:
        yield from fhir.ranges(batch_size)
    yield from _batches(others, batch_size, input_format, csv_mapping, encoding)


class _Seen:
    """The records seen so far, by 128-bit hashes of their keys (roots and patients), and the keys seen twice."""

    def __init__(self) -> None:
        self.hashes: set[int] = set()
        self.repeated: set[str] = set()
        self.dropped: list[tuple[str, int]] = []

    def add(self, done: _Done) -> None:
        hashes = self.hashes
        for key in done.keys:
            if not key or is_line_key(key):  # an error record that names no patient: never a repeat
                continue
            digest = hash(key) << 64 ^ hash(key + "\x00") & 0xFFFFFFFFFFFFFFFF
            if digest in hashes:
                self.repeated.add(key)
            else:
                hashes.add(digest)
        self.dropped += [(done.where, line) for line in done.dropped]

    def notice(self) -> None:
        """One note (:mod:`npc_kg.notices`) if readable records named no patient (line numbers only)."""
        if self.dropped:
            where, line = self.dropped[0]
            notice(f"note: {len(self.dropped)} record(s) name no patient (no rdf:type npc:Patient, no "
                   f"npc:hasFinding) and were not assessed; the first at {Path(where).name}:{line}")


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


def _split(paths: Sequence[Any], input_format: str | None) -> tuple[list[Any], list[Any]]:
    """(FHIR inputs, other inputs): FHIR by ``--input-format fhir``, else detected (folders, .ndjson, FHIR .json)."""
    from npc_kg.cohort.fhir_input import is_fhir_input

    if input_format == "fhir":
        return [p for p in paths if not isinstance(p, FrameInput)], [p for p in paths if isinstance(p, FrameInput)]
    if input_format is not None:
        return [], list(paths)
    fhir = [p for p in paths if not isinstance(p, FrameInput) and is_fhir_input(p)]
    return fhir, [p for p in paths if p not in fhir]


def _csv_files(paths: Sequence[Any], input_format: str | None) -> list[Any]:
    """The CSV files of ``paths`` (by ``--input-format csv``, else by extension); DataFrames are not files."""
    return [p for p in paths if not isinstance(p, FrameInput)
            and (input_format == "csv" or (input_format is None and suffix_format(p) == "csv"))]


def _check_mappings_read(sites: SiteMappings, paths: Sequence[Any], fhir_paths: Sequence[Any], others: Sequence[Any],
                         input_format: str | None) -> None:
    """:class:`InputError` for a site mapping that no input would be read with (it was ignored with no word)."""
    if any(not isinstance(p, FrameInput) and not Path(p).exists() for p in paths):
        return  # a missing input is the first thing to say: the reader says it ("no such file")
    if sites.csv and not (_csv_files(others, input_format) or any(isinstance(p, FrameInput) for p in others)):
        raise InputError("a CSV mapping (npc-kg-cohort-csv/1), and no input is CSV: it would not be read; "
                         "drop this --mapping", path=str(sites.csv[0]))
    if sites.fhir and not fhir_paths:
        raise InputError("a FHIR mapping (npc-kg-fhir-mapping/1), and no input is FHIR: it would not be read; "
                         "drop this --mapping", path=str(sites.fhir[0]))


def _endpoint_source_ids(endpoint: str, timeout: float, graph: str | None) -> dict[str, str]:
    """Each patient's ``dcterms:identifier`` in ``graph`` of the endpoint (None: its default graph; the
    least, if several): its ``source_id``, as the local engines read it."""
    from rdflib import DCTERMS

    from npc_kg.namespace import NPC
    from npc_kg.sparql.backends.remote import RemoteBackend

    query = f"SELECT ?p ?id WHERE {{ ?p a <{NPC.Patient}> ; <{DCTERMS.identifier}> ?id }}"
    out: dict[str, str] = {}
    for patient, identifier in RemoteBackend(endpoint, graph=graph, timeout=timeout).select(query).rows:
        key, text = str(patient), str(identifier)
        out[key] = min(text, out.get(key, text))
    return out


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
    timeout: float | None = None,
    report: str | Path | None = None,
    at: str | None = None,
    as_dataframe: bool = False,
    mapping: str | Path | Sequence[str | Path] | None = None,
    strict: bool = False,
    treatment: str | None = None,
    packs: Sequence[PackInput] | None = None,
    graph: str | None = DEFAULT_GRAPH_IRI,
    encoding: str = "utf-8",
) -> Any:
    """Assess every patient of ``inputs`` (or of ``endpoint``); write rows to ``out``; return the summary.

    ``inputs`` are cohort files (N-Triples, N-Quads, Turtle, CSV), FHIR Bulk Data exports (folders
    or ``.ndjson`` files, all read as one export) and FHIR bundle files (``.json``); a pandas
    DataFrame shaped like the registry CSV (or a list holding some) is read as CSV. ``mapping``
    is a site mapping file (or files) that extends the CSV or the FHIR mapping, by its
    ``format``; ``strict`` refuses CSV columns the mapping does not name (else they are ignored,
    with one notice). Every row has ``source_id``: the registry's id, the FHIR Patient id, or
    the RDF patient's ``dcterms:identifier``. ``report`` writes the HTML cohort view; ``at``
    sets the time in the provenance (FHIR ages are counted to its date). With
    ``as_dataframe=True``, or no ``out``, the rows come back as a DataFrame of strings
    (``attrs``: ``provenance``, ``attrition``) instead of a :class:`CohortSummary`. ``packs`` are
    criteria-pack folders loaded beside the package's (``docs/packs.md``); ``treatment`` (an IRI or
    CURIE) picks the treatment whose criteria are the columns, and must be given when the loaded
    packs state criteria of several (:class:`~npc_kg.errors.InputError` lists the choices).
    ``graph`` is the named graph of ``endpoint`` that holds the patients (default: where
    ``npc-kg load`` writes; ``None`` or ``"default"``: the endpoint's default graph), and
    ``timeout`` the seconds each request to it may take (default 60); without ``endpoint``,
    either one is refused.
    ``encoding`` is that of CSV inputs (ASCII-compatible: utf-8, latin-1, cp1252, ...).

    One row per patient: a record that cannot be read is an error row, and a patient whose
    records are in more than one place of the input gets one error row (:data:`REPEATED`).
    """
    with using_packs(packs):
        return _assess_cohort(inputs, out, fmt, attrition, batch_size, endpoint, engine, workers, input_format,
                              progress, timeout, report, at, as_dataframe, treatment, mapping, strict, graph, encoding)


def _given_inputs(inputs: Any) -> list[Any]:
    """``inputs`` as a list of file names and DataFrames; :class:`InputError` for anything else (never echoed)."""
    if type(inputs).__name__ == "Series" or isinstance(inputs, Mapping) or not (
            inputs is None or is_frame(inputs) or isinstance(inputs, str | os.PathLike | Iterable)):  # items: file names
        raise InputError(f"assess_cohort takes files, folders or a DataFrame, not a {type(inputs).__name__}")
    given: list[Any] = [] if inputs is None else [inputs] if isinstance(inputs, str | Path) or is_frame(inputs) else list(inputs)
    for item in given:
        if isinstance(item, str) and ("\n" in item or item.lstrip().startswith(("<", "@", "{", "["))):
            raise InputError("an input of assess_cohort is a file or a folder, and this one looks like RDF or JSON "
                             "text (not shown: it may hold patient data); npc_kg.assess reads text")
        if not isinstance(item, str | os.PathLike) and not is_frame(item):
            raise InputError(f"assess_cohort takes files, folders or a DataFrame, not a {type(item).__name__}")
    return given


def _check_arguments(encoding: Any, timeout: Any, workers: Any, batch_size: Any, input_format: str | None,
                     endpoint: str | None, graph: str | None) -> None:
    """:class:`InputError` for an argument of :func:`assess_cohort` of the wrong kind, or one that has no use."""
    if not isinstance(encoding, str):
        raise InputError(f"encoding= is the name of a text encoding (utf-8, latin-1...), not {type(encoding).__name__}")
    if timeout is not None:
        seconds(timeout, "timeout= (CLI --timeout)", above_zero=True)
    if not isinstance(workers, int) or workers < 1:
        raise InputError(f"workers must be a whole number of 1 or more, not {workers!r}")
    if not isinstance(batch_size, int) or batch_size < 1:
        raise InputError(f"batch_size must be a whole number of 1 or more, not {batch_size!r}")
    if input_format is not None and input_format not in INPUT_FORMATS:
        raise InputError(f"unknown input format {input_format!r} (use one of {', '.join(INPUT_FORMATS)})")
    if endpoint is None and graph != DEFAULT_GRAPH_IRI:
        raise InputError("--graph names the graph of --endpoint that holds the patients; without --endpoint the "
                         "patients come from the input files: drop --graph, or give --endpoint (in Python: graph=, "
                         "endpoint=)")
    if endpoint is None and timeout is not None:
        raise InputError("timeout= is the time limit of each request to endpoint=, and no endpoint= is given "
                         "(a library call has no clock on its local work: docs/reliability.md)")


def _assess_cohort(inputs: Any, out: str | Path | None, fmt: str | None, attrition: str | Path | None, batch_size: int,
                   endpoint: str | None, engine: str, workers: int, input_format: str | None, progress: bool | None,
                   timeout: float | None, report: str | Path | None, at: str | None, as_dataframe: bool,
                   treatment: str | None, mapping: str | Path | Sequence[str | Path] | None, strict: bool,
                   graph: str | None, encoding: str) -> Any:
    from npc_kg.atomic import atomic_output, check_distinct_outputs, check_not_input, check_output_path
    from npc_kg.cohort.csv_mapping import load_mapping
    from npc_kg.cohort.outputs import PARQUET_KEY, cohort_provenance, finish_outputs, rows_sidecar, sidecar_path
    from npc_kg.cohort.progress import Progress
    from npc_kg.cohort.site_mappings import site_mappings

    given = _given_inputs(inputs)
    _check_arguments(encoding, timeout, workers, batch_size, input_format, endpoint, graph)
    timeout = _ENDPOINT_TIMEOUT if timeout is None else timeout
    paths: list[Any] = [FrameInput(p) if is_frame(p) else p for p in given]
    engines = engines_for()
    target = str(engines.treatment(treatment))
    prov = cohort_provenance(engine, at, target)
    sites = site_mappings(mapping)
    csv_mapping = load_mapping(extra=sites.csv, strict=strict) if sites.csv or strict else None
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
        raise InputError("give at least one input file, or --endpoint (in Python: endpoint=)")
    fhir_paths, others = _split(paths, input_format)
    if encoding.lower().replace("_", "-") not in ("utf-8", "utf8") and not _csv_files(others, input_format):
        raise InputError(f"--encoding {encoding} applies to CSV inputs, and none is given (RDF and FHIR JSON are UTF-8; "
                         "in Python: encoding=)")
    if endpoint is not None and paths:
        raise InputError("--endpoint reads the patients from the server: give no input files with it "
                         "(load them first with npc-kg load; in Python: endpoint=)")
    if endpoint is not None and engine == "reference":
        raise InputError("--endpoint runs the compiled SPARQL: use --engine sparql (in Python: engine=\"sparql\")")
    _check_mappings_read(sites, paths, fhir_paths, others, input_format)
    criteria = engines.criteria_of(target)
    summary = Attrition(criteria)
    total = 0
    all_inputs: list[str | Path] = [p for p in paths if not isinstance(p, FrameInput)] + list(sites.files)
    # every file the run will write, sidecars too, checked before any work: none may be another,
    # an input, a folder or a link (a late refusal would leave the outputs written before it)
    outputs = {"the rows (--out)": out, "the rows' provenance sidecar": rows_sidecar(out, fmt), "--attrition": attrition,
               "--attrition's provenance sidecar": sidecar_path(attrition) if attrition is not None else None,
               "--report": report}
    check_distinct_outputs(*outputs.values(), names=outputs)
    for extra in list(outputs.values())[1:]:
        if extra is not None:
            check_not_input(extra, all_inputs)
            check_output_path(extra)
    binary = fmt == "parquet"
    sink = nullcontext(sink_out) if isinstance(sink_out, io.StringIO) else atomic_output(
        out_path, mode="wb" if binary else "w", inputs=all_inputs, encoding=None if binary else "utf-8",
        newline=None if binary else "")
    with sink as handle:
        writer = RowWriter(handle, getattr(handle, "name", str(out_path)), fmt, criteria,
                           metadata={PARQUET_KEY: json.dumps(prov.to_dict()).encode()})
        try:
            if endpoint is not None:
                named = None if graph in (None, "", "default") else graph
                patients, hits = engines.sparql.endpoint_hits(endpoint, timeout=timeout, threads=min(4, _THREADS + 2),
                                                              graph=named)
                rows = rows_of(patients, hits, criteria, engines.plan.implemented)
                identifiers = _endpoint_source_ids(endpoint, timeout, named)
                for row in rows:
                    row.source_id = identifiers.get(row.patient, "")
                writer.write(rows)
                summary.add(rows)
                total = len(rows)
                if not rows:
                    where = f"the named graph <{named}>" if named else "the endpoint's default graph"
                    notice(f"warning: no patient (rdf:type npc:Patient) in {where}; give the graph that holds "
                           "them with --graph (npc-kg load writes to --graph, default "
                           f"<{DEFAULT_GRAPH_IRI}>; --graph default reads the default graph)")
            else:
                from npc_kg.cohort.fhir_input import FhirCohort

                fhir = FhirCohort(fhir_paths, mappings=sites.fhir,
                                  at=datetime.fromisoformat(prov.generated_at.replace("Z", "+00:00")).date()
                                  ) if fhir_paths else None
                records = len(fhir) if fhir is not None else 0  # pass 1: the index, before any worker is forked
                bar = Progress(records + _total_bytes(others), enabled=progress)
                jobs = _jobs(fhir, others, batch_size, None if input_format == "fhir" else input_format, csv_mapping,
                             encoding)
                config = _Configuration(tuple(str(pack.folder) for pack in engines.packs), target)
                seen = _Seen()
                _FHIR[:] = [fhir] if fhir is not None else []
                try:
                    for done in _run(jobs, engine, workers, fmt, config, fhir):
                        writer.write_rendered(done.payload)
                        summary.merge(done.counts)
                        seen.add(done)
                        total += done.rows
                        bar.update(total, done.position if done.fhir else records + done.position)
                finally:
                    _FHIR.clear()
                bar.close()
                if seen.repeated:
                    summary = writer.merge_repeats(seen.repeated, REPEATED)
                    total = summary.total
                seen.notice()
        finally:
            writer.close()
    if attrition is not None:
        summary.write_csv(attrition, inputs=all_inputs)
    finish_outputs(prov, summary, sink_out, fmt, total, attrition_csv=attrition, report=report, inputs=all_inputs)
    if as_dataframe:
        return rows_frame(sink_out, fmt, {"provenance": prov.to_dict(), "attrition": summary.table()})
    return CohortSummary(rows=total, attrition=summary, out=out_path, provenance=prov)


def _worker_started(config: _Configuration | None = None, handoff: Handoff | None = None) -> None:
    """In a new worker: leave Ctrl-C to the main process (which stops the workers), find the run's engines once,
    keep the run's shared memory (``handoff``: inherited, never pickled), and move what the worker inherited
    (engine, memos) out of the garbage collector's sight."""
    import gc

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    if config is not None:
        _WORKER_ENGINES[config] = config.engines()
    if handoff is not None:
        _WORKER_HANDOFF[:] = [handoff]
    gc.freeze()


@dataclass(frozen=True)
class _Configuration:
    """What a worker needs to find its engines: the configuration's pack folders and the treatment."""

    packs: tuple[str, ...]
    treatment: str

    def engines(self) -> Any:
        return engines_for(self.packs)


@dataclass
class _Done:
    """One assessed batch, ready to write: rendered rows, their attrition counts, and progress."""

    payload: str | list[list[str]]
    counts: Attrition
    rows: int
    position: int
    keys: list[str]
    """Every root subject and patient of the batch (a key seen twice is a patient split across the input)."""
    dropped: list[int]
    """First lines of the batch's readable records that name no patient."""
    where: str
    fhir: bool = False
    """The batch was a range of FHIR records (``position``: records read, not bytes)."""


def _work(job: Job, engine: str, fmt: str, config: _Configuration) -> _Done:
    """Read (a FHIR range), assess, render and count one batch (in a worker process, so the main process only writes)."""
    if _WORKER_HANDOFF:
        job = _WORKER_HANDOFF[0].receive(job)
    batch = _FHIR[0].batch(*job) if isinstance(job, tuple) else job
    engines = _WORKER_ENGINES.get(config) or config.engines()
    criteria = engines.criteria_of(config.treatment)
    done = assess_records(batch, engine, engines=engines, criteria=criteria, threads=_THREADS)
    counts = Attrition(criteria)
    counts.add(done.rows)
    return _Done(render(done.rows, fmt, criteria), counts, len(done.rows), batch.position, done.keys, done.dropped,
                 batch.where, isinstance(job, tuple))


def _prepare(engine: str, fhir: FhirCohort | None, config: _Configuration) -> None:
    """Build the evaluators once (and those of the FHIR bridges), before workers are forked."""
    engines = config.engines()
    engines.criteria_of(config.treatment)
    variants = [engines, *([engines.for_subclasses(fhir.subclasses)] if fhir is not None and fhir.subclasses else [])]
    for variant in variants:
        if engine in ("local", "fast"):
            with contextlib.suppress(Unsupported):
                variant.closures()
        else:
            variant.sparql  # noqa: B018 - compiled and its queries checked once, before the fork


def _run(jobs: Iterator[Job], engine: str, workers: int, fmt: str, config: _Configuration,
         fhir: FhirCohort | None = None) -> Iterator[_Done]:
    """Rows per batch, in input order; with ``workers`` > 1 a bounded window of batches runs in parallel."""
    global _THREADS
    if workers <= 1:
        if engine != "sparql" or config.engines().sparql.fallback or _THREADS <= 1:  # pySHACL flips rdflib globals: no threads
            for job in jobs:
                yield _work(job, engine, fmt, config)
            return
        # Two batches in flight: one loads its store while the other runs its queries.
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=2) as threads:
            in_flight: list[Future[_Done]] = []
            for job in jobs:
                in_flight.append(threads.submit(_work, job, engine, fmt, config))
                while len(in_flight) >= 2:
                    yield in_flight.pop(0).result()
            while in_flight:
                yield in_flight.pop(0).result()
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    saved, _THREADS = _THREADS, 1  # forked workers inherit this: one query thread each
    handoff: Handoff | None = None
    try:
        context = multiprocessing.get_context("fork") if "fork" in multiprocessing.get_all_start_methods() else None
        if context is not None:  # built once here, inherited by every forked worker (the FHIR index too)
            _prepare(engine, fhir, config)
        elif fhir is not None:  # a FHIR range is read where it is assessed: without fork, in this process
            notice("note: FHIR input needs forked workers (not available here): running one process")
            _THREADS = saved
            for job in jobs:
                yield _work(job, engine, fmt, config)
            return
        pending: list[tuple[Future[_Done], Job]] = []
        handoff = _handoff(workers) if context is not None else None  # forked workers inherit the shared memory
        pool = ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_worker_started,
                                   initargs=(config, handoff))
        try:
            for job in jobs:
                sent = handoff.send(job) if handoff is not None else job
                with _interrupts_held():  # a worker forked here starts with Ctrl-C held, then ignores it
                    pending.append((pool.submit(_work, sent, engine, fmt, config), sent))
                while len(pending) >= 2 * workers:
                    yield _result(*pending.pop(0), handoff)
            while pending:
                yield _result(*pending.pop(0), handoff)
        except BrokenProcessPool:  # a worker ended: it said why on stderr (e.g. a query past --timeout)
            pool.shutdown(wait=True, cancel_futures=True)
            raise WorkerError("a worker process ended before its batch was done (its reason is on the line above, "
                              "for example a query past --timeout; or the system ran out of memory)") from None
        except BaseException:  # Ctrl-C, an error, or the caller stopped reading: no more batches
            pool.shutdown(wait=True, cancel_futures=True)
            raise
        pool.shutdown(wait=True)
    finally:
        _THREADS = saved
        if handoff is not None:
            handoff.close()  # this process's mapping; each worker's goes when it ends


def _handoff(workers: int) -> Handoff | None:
    """Shared memory for the batches in flight, or None (then they go through the pipe) if it cannot be mapped."""
    try:
        return Handoff(2 * workers)
    except OSError:  # e.g. no overcommit and little memory: the pipe still works
        return None


def _result(future: Future[_Done], sent: Job, handoff: Handoff | None) -> _Done:
    """The result of a batch sent to a worker; its handoff slot is free again."""
    done = future.result()
    if handoff is not None:
        handoff.done(sent)
    return done


@contextlib.contextmanager
def _interrupts_held() -> Iterator[None]:
    """Hold SIGINT (Ctrl-C) back in this thread, so that a process forked meanwhile never sees it before it can
    ignore it; a Ctrl-C that came meanwhile is delivered when the block ends."""
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
