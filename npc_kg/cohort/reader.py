"""Stream a cohort file as batches of patient records, in bounded memory.

A *record* is the run of lines of one patient: its own triples and those of its finding records
(see :mod:`npc_kg.cohort.records` for how lines are grouped, by their subject as parsed, and what
happens to lines that cannot be read). A batch holds up to ``batch_size`` records.

- N-Triples / N-Quads are read in blocks and their lines grouped into records
  (:func:`npc_kg.cohort.records.iter_records`, with the C accelerator if built); a batch is
  parsed when it is assessed, and a record with a line that cannot be parsed becomes error rows
  (:mod:`npc_kg.cohort.damage`), the rest of the batch is kept. N-Quads graph names are kept;
  queries see the union of all graphs.
- Turtle is parsed by pyoxigraph's streaming parser; a syntax error stops the run (Turtle cannot
  be resynchronised after an error), with the line of the error.
- CSV rows are mapped to N-Triples by :mod:`npc_kg.cohort.csv_mapping`, one record per row. The
  file is read strictly (:func:`iter_csv_bytes`): a row that cannot be read (a quote left open,
  bytes that are not in the encoding, too few or too many cells, no or a repeated
  ``patient_id``, a cell the mapping does not allow) is an error row naming its line. Lines
  starting with ``#`` before the header are comments; a UTF-8 byte order mark is skipped.
  Columns the mapping does not name are ignored with one notice (refused when the mapping is strict).
- FHIR Bulk Data exports are read by :mod:`npc_kg.cohort.fhir_input` (whole exports, not file by
  file: a patient's resources are spread over the files).
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import pyoxigraph as ox

from npc_kg.cohort.csv_mapping import CsvMapping, RowError, load_mapping
from npc_kg.cohort.records import iter_records, key_text
from npc_kg.core.rules import PatientRow
from npc_kg.errors import InputError

__all__ = ["Batch", "ErrorRecord", "INPUT_FORMATS", "Piece", "guess_input_format", "is_line_key", "iter_batches",
           "iter_csv_bytes", "line_key", "suffix_format"]

INPUT_FORMATS = ("nt", "nq", "ttl", "csv")
_SUFFIXES = {".nt": "nt", ".ntriples": "nt", ".nq": "nq", ".nquads": "nq", ".ttl": "ttl", ".turtle": "ttl", ".csv": "csv"}


_LINE = "line:"


def line_key(number: int) -> str:
    """The patient cell of an unreadable record that names no patient: ``line:N``, its first line."""
    return f"{_LINE}{number}"


def is_line_key(key: str) -> bool:
    """True for a :func:`line_key`: unique within one file only, so never a patient seen twice."""
    return key.startswith(_LINE)


@dataclass
class ErrorRecord:
    """A record that could not be read: its patient (IRI, or ``line:N``) and why (no data values)."""

    subject: str
    reason: str
    source_id: str = ""
    """The record's id in its source (registry id, FHIR Patient id) when it can still be read; else ""."""


class Piece(NamedTuple):
    """Where one record's lines are in :attr:`Batch.data`, and what the reader saw of them."""

    root: str
    """The record's root subject as parsed (IRI, or ``_:label``); empty if no line could be read."""
    size: int
    """Bytes of its lines in the batch's data (they follow those of the records before it)."""
    runs: tuple[int, ...]
    """Line numbers of its lines in the input: pairs (first line, count)."""
    unread: tuple[int, ...] = ()
    """Lines inside it whose subject could not be read."""
    nearby: tuple[int, ...] = ()
    """Unreadable lines next to it that may belong to it."""
    patient: bool = True
    """Whether a readable line of it types a subject ``npc:Patient`` or gives it findings."""
    first: int = 0
    """Line number of its first line."""


@dataclass
class Batch:
    """Up to ``batch_size`` records: parseable data (for a store) plus error records."""

    fmt: str
    data: bytes = b""
    quads: list[ox.Quad] = field(default_factory=list)
    roots: list[str] = field(default_factory=list)  # root subjects of the records to assess, in order
    errors: list[ErrorRecord] = field(default_factory=list)
    position: int = 0  # bytes of the input read so far (progress)
    where: str = ""
    records: list[Piece] = field(default_factory=list)  # line input: the records of ``data``, in order
    screened: bool = False  # damaged records already taken out (npc_kg.cohort.damage)
    dropped: list[int] = field(default_factory=list)  # first lines of readable records that name no patient
    keys: list[str] = field(default_factory=list)  # every root and patient this batch saw (repeats are flagged)
    source_ids: dict[str, str] = field(default_factory=dict)  # root -> id in its source (CSV id cell, FHIR Patient id)
    settled: list[PatientRow] = field(default_factory=list)  # rows decided without evaluation (FHIR: out of scope)
    subclasses: tuple[tuple[str, str], ...] = ()  # rdfs:subClassOf pairs for the evaluators' class hierarchy


def suffix_format(path: str | Path) -> str | None:
    """``nt``, ``nq``, ``ttl`` or ``csv`` from the file name's extension, or None."""
    return _SUFFIXES.get(Path(path).suffix.lower())


def guess_input_format(path: str | Path) -> str:
    """Return ``nt``, ``nq``, ``ttl`` or ``csv`` from the file name, or raise :class:`InputError`."""
    fmt = suffix_format(path)
    if fmt is None:
        raise InputError(f"unknown cohort file extension (use one of {', '.join(sorted(_SUFFIXES))})", path=str(path))
    return fmt


def iter_csv_bytes(data: bytes, where: str, *, batch_size: int = 1000, mapping: CsvMapping | None = None,
                   encoding: str = "utf-8") -> Iterator[Batch]:
    """Yield batches of records from CSV held in memory (e.g. a DataFrame); ``where`` names it in errors."""
    if batch_size < 1:
        raise InputError("--batch-size (batch_size=) must be at least 1")
    yield from _csv_batches(io.BytesIO(data), batch_size, where, mapping or load_mapping(), _encoding(encoding))


def iter_batches(path: str | Path, fmt: str | None = None, *, batch_size: int = 1000,
                 mapping: CsvMapping | None = None, encoding: str = "utf-8") -> Iterator[Batch]:
    """Yield batches of records from ``path`` (``encoding``: of a CSV file)."""
    if batch_size < 1:
        raise InputError("--batch-size (batch_size=) must be at least 1")
    fmt = fmt or guess_input_format(path)
    if fmt not in INPUT_FORMATS:
        raise InputError(f"unknown cohort format {fmt!r} (use one of {', '.join(INPUT_FORMATS)})", path=str(path))
    codec = _encoding(encoding) if fmt == "csv" else "utf-8"
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
        else:
            yield from _csv_batches(handle, batch_size, str(path), mapping or load_mapping(), codec)


def _line_batches(handle: io.BufferedReader, fmt: str, batch_size: int, where: str) -> Iterator[Batch]:
    pieces: list[Piece] = []
    chunks: list[bytearray] = []
    position = 0
    for record, position in iter_records(handle):
        pieces.append(Piece(key_text(record.root) if record.root else "", len(record.data), tuple(record.runs),
                            tuple(record.unread), tuple(record.nearby), record.names_patient, record.first))
        chunks.append(record.data)
        if len(pieces) >= batch_size:
            yield _line_batch(pieces, chunks, fmt, where, position)
            pieces, chunks = [], []
    if pieces:
        yield _line_batch(pieces, chunks, fmt, where, position)


def _line_batch(pieces: list[Piece], chunks: list[bytearray], fmt: str, where: str, position: int) -> Batch:
    """A batch of records; it is parsed when assessed, and :mod:`npc_kg.cohort.damage` takes out damaged records."""
    return Batch(fmt=fmt, data=b"".join(chunks), roots=[p.root for p in pieces], position=position, where=where,
                 records=pieces)


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
                batch.roots.append(subject[1:-1] if subject.startswith("<") else subject)
                records += 1
            obj = _term_key(quad.object)
            if obj:
                linked.add(obj)
            batch.quads.append(quad)
    except SyntaxError as error:  # its message may quote the data: only the line is given
        raise InputError("cannot parse Turtle here (Turtle cannot be read on after an error: fix this line, or "
                         "give N-Triples, whose bad lines become error rows)", path=where,
                         line=getattr(error, "lineno", None)) from None
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


def _encoding(name: str) -> str:
    """The codec of ``name`` if it can be read line by line (ASCII-compatible), else :class:`InputError`."""
    try:
        codec = codecs.lookup(name).name
    except LookupError:
        raise InputError(f"unknown encoding {name!r} (e.g. utf-8, latin-1, cp1252)") from None
    probe = "\n,#\"\\u0041 A"  # CSV syntax, and a backslash escape that a text encoding keeps as written
    try:
        ascii_compatible = probe.encode("ascii").decode(codec) == probe
    except LookupError:  # rot13, base64, zlib...: codecs, but not of text
        raise InputError(f"{name!r} is not a text encoding (e.g. utf-8, latin-1, cp1252)") from None
    except (UnicodeError, ValueError):  # punycode, undefined...
        ascii_compatible = False
    if not ascii_compatible:
        raise InputError(f"encoding {name!r} is not ASCII-compatible; convert the file to UTF-8 first")
    return codec


def _cells(text: str) -> list[str]:
    """The cells of one CSV line, or :class:`csv.Error` (a quote left open, text after a closing quote)."""
    return next(csv.reader((text,), strict=True))


def _csv_batches(handle: io.BufferedIOBase, batch_size: int, where: str, mapping: CsvMapping,
                 encoding: str = "utf-8") -> Iterator[Batch]:
    """Batches of CSV rows, read strictly: each line is one row (a cell cannot hold a line break)."""
    name = Path(where).name
    lines = _numbered_lines(handle)
    header: list[str] | None = None
    for number, raw in lines:
        text = _decode(raw, "utf-8-sig" if number == 1 and encoding == "utf-8" else encoding)
        if text is None:
            raise InputError(f"the header is not valid {encoding} (give the file's encoding with --encoding)",
                             path=where, line=number)
        if text.startswith("#") or not text.strip():
            continue  # comments before the header
        try:
            header = _cells(text.lstrip("\ufeff"))
        except csv.Error:
            raise InputError("cannot read the CSV header (a quote left open?)", path=where, line=number) from None
        break
    if header is None or mapping.id_column not in header:
        bom = header is not None and bool(header) and header[0].startswith(("\u00ef\u00bb\u00bf", "\ufeff"))
        hint = "; the file starts with a UTF-8 byte order mark: it is UTF-8, so leave out --encoding" if bom else ""
        raise InputError(f"CSV header has no {mapping.id_column!r} column (see mappings/cohort-csv.yaml){hint}",
                         path=where)
    mapping.check_header(header, where)
    repeated = sorted({c for c in header if header.count(c) > 1})
    if repeated:
        raise InputError(f"CSV columns given twice: {', '.join(repeated)}", path=where)
    id_at = header.index(mapping.id_column)
    seen: dict[str, int] = {}  # patient_id -> first line
    batch = Batch(fmt="csv", where=where)
    chunks: list[bytes] = []
    count = 0
    for number, raw in lines:
        record = _csv_record(raw, number, name, header, id_at, mapping, encoding, seen)
        if isinstance(record, ErrorRecord):
            batch.errors.append(record)
            batch.keys.append(record.subject)
        else:
            iri, triples, identifier = record
            data = ("\n".join(triples) + "\n").encode("utf-8")
            chunks.append(data)
            batch.roots.append(iri)
            batch.source_ids[iri] = identifier
            batch.records.append(Piece(iri, len(data), (number, 1), first=number))
        count += 1
        if count >= batch_size:
            batch.data = b"".join(chunks)
            batch.position = handle.tell()
            yield batch
            batch, chunks, count = Batch(fmt="csv", where=where), [], 0
    if count:
        batch.data = b"".join(chunks)
        batch.position = handle.tell()
        yield batch


def _numbered_lines(handle: io.BufferedIOBase) -> Iterator[tuple[int, bytes]]:
    """``(line number, line)`` of a binary file, without the line break; blank lines are left out."""
    for number, raw in enumerate(handle, 1):
        line = raw.rstrip(b"\r\n")
        if line.strip():
            yield number, line


def _decode(raw: bytes, encoding: str) -> str | None:
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError:
        return None


def _csv_record(raw: bytes, number: int, name: str, header: list[str], id_at: int, mapping: CsvMapping, encoding: str,
                seen: dict[str, int]) -> ErrorRecord | tuple[str, list[str], str]:
    """One CSV line as (patient IRI, N-Triples lines, patient id), or the error record saying why it cannot be read."""
    where = f"{name}:{number}"
    text = _decode(raw, encoding)
    if text is None:
        return ErrorRecord(line_key(number), f"{where}: not valid {encoding} (give the file's encoding with --encoding)")
    try:
        cells = _cells(text)
    except csv.Error:
        try:
            loose = next(csv.reader((text,)))  # the cells before the broken one are still right
        except csv.Error:
            loose = []
        identifier = loose[id_at].strip() if id_at < len(loose) - 1 else ""
        return ErrorRecord(mapping.patient_iri(identifier) if identifier else line_key(number),
                           f"{where}: cannot read the row (a quote left open, text after a closing quote, or a "
                           "line break in a cell)", identifier)
    identifier = cells[id_at].strip() if id_at < len(cells) else ""
    subject = mapping.patient_iri(identifier) if identifier else line_key(number)
    if len(cells) != len(header):
        return ErrorRecord(subject, f"{where}: the row has {len(cells)} cells, the header {len(header)}", identifier)
    if identifier:
        first = seen.setdefault(identifier, number)
        if first != number:
            return ErrorRecord(subject, f"{where}: the same {mapping.id_column} as line {first} "
                                        "(one row per patient)", identifier)
    try:
        iri, triples = mapping.ntriples(dict(zip(header, cells, strict=True)))
    except RowError as error:
        return ErrorRecord(subject, f"{where}: {error}", identifier)
    return iri, triples, identifier
