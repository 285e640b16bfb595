"""Take the damaged records out of a batch, as error rows, so that no patient is assessed on partial data.

A record is *damaged* when a line of it cannot be parsed (alone, by pyoxigraph: one triple or
quad per line), holds a stray carriage return (one that neither starts nor ends the line), or
could not even be read far enough to know its subject (the reader's ``unread`` lines), or when
such an unreadable line sits next to it and may be its (``nearby``; see
:mod:`npc_kg.cohort.records`). A damaged record is never assessed: each patient it names (a
readable line typing a subject ``npc:Patient``) gets an error row; if it names none, its root
subject does (when it has findings), else its first line (``line:N``). The reason names the file
and the lines, never their content.

- :func:`screen` (before parsing): takes out what the reader already knows is damaged, and the
  records that name no patient (they are never assessed; the readable ones are counted in
  :attr:`~npc_kg.cohort.reader.Batch.dropped`, the damaged ones are error rows);
- :func:`split` (after the batch failed to parse): parses each record alone and takes out those
  that fail. Each record is parsed at most once here, so a batch costs linear time whatever the
  number of bad lines.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path

import pyoxigraph as ox

from npc_kg.cohort.reader import Batch, ErrorRecord, Piece, line_key
from npc_kg.cohort.records import key_text, line_tokens, tokens

__all__ = ["line_numbers", "screen", "split"]

_FORMATS = {"nt": ox.RdfFormat.N_TRIPLES, "nq": ox.RdfFormat.N_QUADS}
_SHOWN = 5  # line numbers listed in a reason


def line_numbers(runs: Sequence[int]) -> Iterator[int]:
    """The line numbers of a record's lines, from its runs (pairs first line, count)."""
    for first, count in zip(runs[::2], runs[1::2], strict=True):
        yield from range(first, first + count)


def _parses(data: bytes, fmt: str) -> bool:
    try:
        for _ in ox.parse(input=data, format=_FORMATS.get(fmt, ox.RdfFormat.N_TRIPLES)):
            pass
    except (SyntaxError, ValueError):
        return False
    return True


def _listed(numbers: Sequence[int]) -> str:
    shown = ", ".join(map(str, numbers[:_SHOWN]))
    return shown + (f" and {len(numbers) - _SHOWN} more" if len(numbers) > _SHOWN else "")


def _reason(name: str, fmt: str, bad: Sequence[int], nearby: Sequence[int]) -> str:
    parts = []
    if bad:
        also = f" (also lines {_listed(bad[1:])})" if len(bad) > 1 else ""
        parts.append(f"{name}:{bad[0]}: cannot parse {fmt} line{also}")
    if nearby:
        parts.append(f"{name}:{nearby[0]}: a line that cannot be read, next to this record, may belong to it")
    return "; ".join(parts)


def _error_records(piece: Piece, data: bytes, fmt: str, name: str) -> list[ErrorRecord]:
    """The error rows of a damaged record: one per patient it names, with the lines that are bad."""
    rdf_type, patient, _has_finding = tokens()
    bad = set(piece.unread)
    patients: list[str] = []
    lines = data.split(b"\n")
    lines.pop()  # every line ends with a newline
    for number, line in zip(line_numbers(piece.runs), lines, strict=True):
        if b"\r" in line or not _parses(line, fmt):
            bad.add(number)
        subject, predicate, obj, _lost = line_tokens(line)
        if subject is not None and predicate == rdf_type and obj == patient:
            patients.append(key_text(subject))
    if not bad and not piece.nearby:
        bad.add(piece.first)  # only the record as a whole failed
    reason = _reason(name, fmt, sorted(bad), sorted(piece.nearby))
    if not patients:
        patients = [piece.root] if piece.patient and piece.root else [line_key(piece.first)]
    return [ErrorRecord(p, reason) for p in dict.fromkeys(patients)]


def screen(batch: Batch) -> Batch:
    """``batch`` without the records known to be damaged before parsing, nor those that name no patient."""
    if batch.screened:
        return batch
    keys = batch.keys + (batch.roots if not batch.records else [p.root for p in batch.records if p.root])
    if not batch.records or (b"\r" not in batch.data
                             and all(p.patient and not p.unread and not p.nearby for p in batch.records)):
        return replace(batch, screened=True, keys=keys)
    return _rebuild(replace(batch, keys=keys), parse_all=False)


def split(batch: Batch) -> Batch:
    """``batch`` (screened) without the records that fail to parse alone, which become error records."""
    return _rebuild(screen(batch), parse_all=True)


def _rebuild(batch: Batch, *, parse_all: bool) -> Batch:
    out = Batch(fmt=batch.fmt, position=batch.position, where=batch.where, screened=True, errors=list(batch.errors),
                dropped=list(batch.dropped), keys=batch.keys, source_ids=batch.source_ids, settled=batch.settled,
                subclasses=batch.subclasses)
    name = Path(batch.where).name
    chunks: list[bytes] = []
    at = 0
    for piece in batch.records:
        data = batch.data[at:at + piece.size]
        at += piece.size
        damaged = bool(piece.unread or piece.nearby or b"\r" in data)
        if not damaged and (parse_all or not piece.patient):
            damaged = not _parses(data, batch.fmt)
        if damaged:
            out.errors += _error_records(piece, data, batch.fmt, name)
        elif not piece.patient:
            out.dropped.append(piece.first)
        else:
            chunks.append(data)
            out.roots.append(piece.root)
            out.records.append(piece)
    out.data = b"".join(chunks)
    return out
