"""Stream a cohort file as batches of patient records, in bounded memory.

A *record* is the contiguous run of triples of one patient: it starts at a triple whose subject
is not yet linked to the current record (neither its root subject nor an IRI or blank node that
appeared as an object in it) and lasts until the next such triple. So a patient's own triples
and the triples of its finding records must be contiguous, and a finding record's triples must
come after the patient's ``npc:hasFinding`` triple that names it (``npc-kg synth`` and any
"subject-grouped" serialisation write them so). A batch holds up to ``batch_size`` records.

- N-Triples / N-Quads are read in blocks and their lines grouped into records (by the C
  accelerator ``npc_kg.cohort._ntscan.records`` if built, else :func:`_scan_records`: the same
  answers); a batch is parsed when it is assessed, and a record with a line that cannot be
  parsed becomes an error record (its lines are dropped, the rest of the batch is kept). N-Quads
  graph names are kept; queries see the union of all graphs.
- Turtle is parsed by pyoxigraph's streaming parser; a syntax error stops the run (Turtle cannot
  be resynchronised after an error), with the line of the error.
- CSV rows are mapped to N-Triples by :mod:`npc_kg.cohort.csv_mapping`; a row with a bad cell
  is an error record. Lines starting with ``#`` before the header are comments. Columns the
  mapping does not name are ignored with one notice (refused when the mapping is strict).
- FHIR Bulk Data exports are read by :mod:`npc_kg.cohort.fhir_input` (whole exports, not file by
  file: a patient's resources are spread over the files).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph as ox

from npc_kg.cohort.csv_mapping import CsvMapping, RowError, load_mapping
from npc_kg.cohort.native import load_native
from npc_kg.core.rules import PatientRow
from npc_kg.errors import InputError

__all__ = ["Batch", "ErrorRecord", "INPUT_FORMATS", "guess_input_format", "iter_batches", "iter_csv_bytes"]

INPUT_FORMATS = ("nt", "nq", "ttl", "csv")
_SUFFIXES = {".nt": "nt", ".ntriples": "nt", ".nq": "nq", ".nquads": "nq", ".ttl": "ttl", ".turtle": "ttl", ".csv": "csv"}
_BLOCK = 1 << 20  # bytes read at a time
_OX_FORMAT = {"nt": ox.RdfFormat.N_TRIPLES, "nq": ox.RdfFormat.N_QUADS, "ttl": ox.RdfFormat.TURTLE}

# Subject, predicate and (if it is an IRI or blank node) object of an N-Triples/N-Quads line.
_LINE = re.compile(rb"\s*(<[^>]*>|_:[^\s<]+)\s*<[^>]*>\s*(<[^>]*>|_:[^\s<]+?(?=\s*[\s<.]))?")


@dataclass
class ErrorRecord:
    """A record that could not be read: its root subject as written, and why (no data values)."""

    subject: str
    reason: str
    source_id: str = ""
    """The record's id in its source (registry id, FHIR Patient id) when it can still be read; else ""."""


@dataclass
class Batch:
    """Up to ``batch_size`` records: parseable data (for a store) plus error records."""

    fmt: str
    data: bytes = b""
    quads: list[ox.Quad] = field(default_factory=list)
    roots: list[str] = field(default_factory=list)  # root subjects of the good records, in order
    errors: list[ErrorRecord] = field(default_factory=list)
    position: int = 0  # bytes of the input read so far (progress)
    where: str = ""
    records: list[tuple[int, int, int]] = field(default_factory=list)  # per root: (bytes of data, lines, first line)
    source_ids: dict[str, str] = field(default_factory=dict)  # root -> id in its source (CSV id cell, FHIR Patient id)
    settled: list[PatientRow] = field(default_factory=list)  # rows decided without evaluation (FHIR: out of scope)
    subclasses: tuple[tuple[str, str], ...] = ()  # rdfs:subClassOf pairs for the evaluators' class hierarchy

    def repair(self) -> Batch:
        """Return this batch without its unparseable records, which become error records."""
        if not self.records:
            raise InputError("cannot parse the batch", path=self.where)
        records, at = [], 0
        for root, (size, lines, first) in zip(self.roots, self.records, strict=True):
            records.append((root, self.data[at:at + size], lines, first))
            at += size
        repaired = _parse_carefully(records, self.fmt, self.where, self.position)
        repaired.errors = self.errors + repaired.errors
        repaired.source_ids, repaired.settled, repaired.subclasses = self.source_ids, self.settled, self.subclasses
        return repaired


def guess_input_format(path: str | Path) -> str:
    """Return ``nt``, ``nq``, ``ttl`` or ``csv`` from the file name, or raise :class:`InputError`."""
    fmt = _SUFFIXES.get(Path(path).suffix.lower())
    if fmt is None:
        raise InputError(f"unknown cohort file extension (use one of {', '.join(sorted(_SUFFIXES))})", path=str(path))
    return fmt


def iter_csv_bytes(data: bytes, where: str, *, batch_size: int = 1000, mapping: CsvMapping | None = None) -> Iterator[Batch]:
    """Yield batches of records from CSV held in memory (e.g. a DataFrame); ``where`` names it in errors."""
    if batch_size < 1:
        raise InputError("--batch-size must be at least 1")
    yield from _csv_batches(io.BufferedReader(io.BytesIO(data)), batch_size, where, mapping or load_mapping())  # type: ignore[arg-type]


def iter_batches(path: str | Path, fmt: str | None = None, *, batch_size: int = 1000,
                 mapping: CsvMapping | None = None) -> Iterator[Batch]:
    """Yield batches of records from ``path``."""
    if batch_size < 1:
        raise InputError("--batch-size must be at least 1")
    fmt = fmt or guess_input_format(path)
    try:
        handle = open(path, "rb")  # noqa: SIM115 - closed by the generator below
    except FileNotFoundError:
        raise InputError("no such file", path=str(path)) from None
    except OSError as error:
        raise InputError(error.strerror or str(error), path=str(path)) from None
    with handle:
        if fmt in ("nt", "nq"):
            yield from _line_batches(handle, fmt, batch_size, str(path))
        elif fmt == "ttl":
            yield from _turtle_batches(handle, batch_size, str(path))
        elif fmt == "csv":
            yield from _csv_batches(handle, batch_size, str(path), mapping or load_mapping())
        else:
            raise InputError(f"unknown cohort format {fmt!r} (use one of {', '.join(INPUT_FORMATS)})", path=str(path))


def _scan_records(block: bytes, state: list) -> list[tuple[bytes, bytes, int, int]]:
    """Group the lines of ``block`` (whole lines, each ending in a newline) into records.

    ``state`` is ``[root, linked, number, first, pending, lines]``: the open record's root
    subject, the subjects linked to it, the last line number read, the open record's first line
    number, its data so far and its line count. Returns the records this block completed as
    ``(root, data, lines, first)``. The C accelerator's ``records`` does exactly this.
    """
    root, linked, number, first, pending, lines = state
    out: list[tuple[bytes, bytes, int, int]] = []
    parts = block.split(b"\n")
    parts.pop()  # the block ends with a newline: the last part is empty
    for line in parts:
        number += 1
        stripped = line.strip()
        if not stripped or stripped.startswith(b"#"):
            continue
        raw = line + b"\n"
        match = _LINE.match(raw)
        subject = match.group(1) if match else raw.split(None, 1)[0]
        if root is None or subject not in linked:
            if root is not None:
                out.append((root, bytes(pending), lines, first))
            root, first, lines = subject, number, 0
            linked.clear()
            linked.add(subject)
            pending.clear()
        pending += raw
        lines += 1
        if match and match.group(2):
            linked.add(match.group(2))
    state[:] = [root, linked, number, first, pending, lines]
    return out


def _line_records(handle: io.BufferedReader, where: str) -> Iterator[tuple[bytes, bytes, int, int, int]]:
    """Yield (root subject, record data, line count, first line number, bytes read) for each record.

    The file is read in blocks of whole lines; a missing final newline is added. Blank lines and
    ``#`` comment lines are left out of the records (line numbers still count them).
    """
    native = load_native()
    scan = native.records if native is not None else _scan_records
    state: list = [None, set(), 0, 0, bytearray(), 0]
    held: list[bytes] = []  # the start of a line that continues in the next block
    position = 0
    while True:
        block = handle.read(_BLOCK)
        if not block:
            break
        position += len(block)
        cut = block.rfind(b"\n") + 1
        if cut == 0:
            held.append(block)
            continue
        whole = b"".join([*held, block[:cut]]) if held else block[:cut]
        held = [block[cut:]] if cut < len(block) else []
        for root, data, lines, first in scan(whole, state):
            yield root, data, lines, first, position
    if held:
        for root, data, lines, first in scan(b"".join(held) + b"\n", state):
            yield root, data, lines, first, position
    root, _linked, _number, first, pending, lines = state
    if root is not None:
        yield root, bytes(pending), lines, first, position


def _line_batches(handle: io.BufferedReader, fmt: str, batch_size: int, where: str) -> Iterator[Batch]:
    batch: list[tuple[bytes, bytes, int, int]] = []
    position = 0
    for root, data, lines, first, position in _line_records(handle, where):
        batch.append((root, data, lines, first))
        if len(batch) >= batch_size:
            yield _parse_line_batch(batch, fmt, where, position)
            batch = []
    if batch:
        yield _parse_line_batch(batch, fmt, where, position)


def _subject_text(root: bytes) -> str:
    text = root.decode("utf-8", "replace")
    return text[1:-1] if text.startswith("<") and text.endswith(">") else text


def _parse_line_batch(records: list[tuple[bytes, bytes, int, int]], fmt: str, where: str, position: int) -> Batch:
    """Make a batch; it is parsed when loaded, and :meth:`Batch.repair` finds bad records on failure."""
    batch = Batch(fmt=fmt, position=position, where=where)
    batch.data = b"".join([data for _root, data, _lines, _first in records])
    batch.roots = [_subject_text(root) for root, _data, _lines, _first in records]
    batch.records = [(len(data), lines, first) for _root, data, lines, first in records]
    return batch


def _parse_carefully(records: list[tuple[str, bytes, int, int]], fmt: str, where: str, position: int) -> Batch:
    """Find every bad record of a batch (slow path, only for batches with a syntax error).

    ``records`` are ``(root subject, data, lines, first line)``.
    """
    batch = Batch(fmt=fmt, position=position)
    good: list[bytes] = []
    start = 0
    while start < len(records):
        starts: list[int] = []
        line = 1
        for _root, _data, lines, _first in records[start:]:
            starts.append(line)
            line += lines
        chunk = b"".join([data for _r, data, _l, _f in records[start:]])
        try:
            for _ in ox.parse(input=chunk, format=_OX_FORMAT[fmt]):
                pass
        except (SyntaxError, UnicodeDecodeError) as error:
            bad_line = getattr(error, "lineno", None) or 1
            index = max(i for i, s in enumerate(starts) if s <= bad_line)
            root, _data, _lines, first = records[start + index]
            good += [data for _r, data, _l, _f in records[start:start + index]]
            batch.roots += [r for r, _d, _l, _f in records[start:start + index]]
            file_line = first + (bad_line - starts[index])
            batch.errors.append(ErrorRecord(root, f"{Path(where).name}:{file_line}: cannot parse {fmt} line"))
            start += index + 1
            continue
        good += [data for _r, data, _l, _f in records[start:]]
        batch.roots += [r for r, _d, _l, _f in records[start:]]
        break
    batch.data = b"".join(good)
    return batch


def _term_key(term: object) -> str:
    if isinstance(term, ox.NamedNode):
        return f"<{term.value}>"
    if isinstance(term, ox.BlankNode):
        return f"_:{term.value}"
    return ""


def _turtle_batches(handle: io.BufferedReader, batch_size: int, where: str) -> Iterator[Batch]:
    counting = _CountingReader(handle)
    batch = Batch(fmt="ttl")
    root: str | None = None
    linked: set[str] = set()
    records = 0
    try:
        for quad in ox.parse(counting, format=ox.RdfFormat.TURTLE):  # type: ignore[arg-type]
            subject = _term_key(quad.subject)
            if root is None or subject not in linked:
                if root is not None and records >= batch_size:
                    batch.position = counting.position
                    yield batch
                    batch, records = Batch(fmt="ttl"), 0
                root, linked = subject, {subject}
                batch.roots.append(_subject_text(subject.encode()))
                records += 1
            obj = _term_key(quad.object)
            if obj:
                linked.add(obj)
            batch.quads.append(quad)
    except SyntaxError as error:
        raise InputError(f"cannot parse Turtle: {error.msg}", path=where, line=getattr(error, "lineno", None)) from None
    if batch.quads or batch.errors:
        batch.position = counting.position
        yield batch


class _CountingReader(io.RawIOBase):
    """A binary reader that counts the bytes read (progress for streamed Turtle)."""

    def __init__(self, inner: io.BufferedReader) -> None:
        self.inner = inner
        self.position = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        data = self.inner.read(len(buffer))
        buffer[: len(data)] = data
        self.position += len(data)
        return len(data)


def _csv_batches(handle: io.BufferedReader, batch_size: int, where: str, mapping: CsvMapping) -> Iterator[Batch]:
    text = io.TextIOWrapper(handle, encoding="utf-8", newline="")
    skipped = 0  # leading comment lines ("# ...") before the header
    while True:
        mark = text.tell()
        first = text.readline()
        if not first.startswith("#"):
            text.seek(mark)
            break
        skipped += 1
    reader = csv.DictReader(text)
    name = Path(where).name
    if reader.fieldnames is None or mapping.id_column not in reader.fieldnames:
        raise InputError(f"CSV header has no {mapping.id_column!r} column (see mappings/cohort-csv.yaml)", path=where)
    mapping.check_header(reader.fieldnames, where)
    batch = Batch(fmt="csv")
    lines: list[str] = []
    count = 0
    try:
        for row in reader:
            line = reader.line_num + skipped
            try:
                iri, triples = mapping.ntriples(row)
            except RowError as error:
                identifier = (row.get(mapping.id_column) or "").strip()
                subject = mapping.patient_iri(identifier) if identifier else ""
                batch.errors.append(ErrorRecord(subject, f"{name}:{line}: {error}", identifier))
            else:
                lines.extend(triples)
                batch.roots.append(iri)
                batch.source_ids[iri] = (row.get(mapping.id_column) or "").strip()
            count += 1
            if count >= batch_size:
                batch.data = ("\n".join(lines) + "\n").encode() if lines else b""
                batch.position = handle.tell()
                yield batch
                batch, lines, count = Batch(fmt="csv"), [], 0
    except (csv.Error, UnicodeDecodeError) as error:
        raise InputError(f"cannot read CSV: {error}", path=where, line=reader.line_num) from None
    if count:
        batch.data = ("\n".join(lines) + "\n").encode() if lines else b""
        batch.position = handle.tell()
        yield batch
