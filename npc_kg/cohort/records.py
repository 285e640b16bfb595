"""Group the lines of an N-Triples / N-Quads cohort into patient records, whatever the damage.

A *record* is the run of lines of one patient: its own triples and those of its finding records.
A line belongs to the record whose *linked* set holds its subject, as it is read (``\\u``
escapes decoded: never the raw bytes); the linked set of a record holds its root subject and
every IRI or blank node that appeared as an object in it. A subject linked to no open record
starts a new one. The reader keeps the last :data:`WINDOW` records open (least recently used
first out), so one stray line inside a record (a line duplicated from elsewhere, a finding
record's line out of place) does not cut the rest of the record off: its following lines
still find their record.

Damage is never silent:

- A line whose subject cannot be read (cut short, a bad IRI character, bad UTF-8 in it, ...)
  cannot say whose it is. Inside a record (the lines before and after it belong to the same
  record) it is that record's; between two records it *may* be either one's, and both are
  marked (:attr:`Record.nearby`). Its line number is kept; its bytes are dropped.
- A line whose object cannot be read may have been the link to a finding record
  (:attr:`Record.lost`). A record that starts right after such a line, and that names no
  patient (no ``rdf:type npc:Patient`` and no ``npc:hasFinding`` line), is taken to be that
  lost finding record and merged into the record that lost the link.
- Lines whose subject can be read are kept in their record as they are (whitespace around them
  stripped); the batch parser finds which of them are broken (:mod:`npc_kg.cohort.damage`).

The per-line loop is :func:`scan`; the C accelerator (``npc_kg.cohort._ntscan.scan``) does
exactly the same, and :func:`iter_records` runs either one. Both only *read* the lines: what a
damaged record becomes (an error row per patient in it) is decided in
:mod:`npc_kg.cohort.damage`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any

import pyoxigraph as ox
from rdflib import RDF

from npc_kg.cohort.native import load_native
from npc_kg.namespace import ENGINE, NPC

__all__ = ["END", "NEW", "UNREAD", "WINDOW", "Record", "iter_records", "key_text", "line_tokens", "readable",
           "scan", "tokens"]

WINDOW = 4
"""Records kept open at a time (the most recently used ones)."""

END, NEW, UNREAD = 0, 1, 2
"""Events of :func:`scan`: the block is read; a line starts a record not linked to the current
one; a line's subject cannot be read."""

_BLOCK = 1 << 20
_MEMO_LIMIT = 200_000
_BLANK = re.compile(rb"_:[A-Za-z0-9_](?:[A-Za-z0-9_.\-]*[A-Za-z0-9_\-])?")
_FORBIDDEN = re.compile(r'[\x00-\x20<>"{}|^`\\]')  # not allowed in an N-Triples IRIREF (after unescaping)
_PROBE = f" <{ENGINE}probe> <{ENGINE}probe> .".encode()
"""The rest of a triple that lets pyoxigraph judge a subject token alone (engine IRIs, never data)."""
_UCHAR = re.compile(rb"\\(?:u([0-9A-Fa-f]{4})|U([0-9A-Fa-f]{8}))")
_SUBJECT = re.compile(rb"<[^>]*>|_:[^ \t<]*")
_REST = re.compile(rb"[ \t]*(<[^>]*>)?[ \t]*(?:(<[^>]*>|_:[^ \t<]*)|(\"))?")
_READABLE: dict[bytes, bytes | None] = {}


def tokens() -> tuple[bytes, bytes, bytes]:
    """The keys of ``rdf:type``, ``npc:Patient`` and ``npc:hasFinding``: what makes a record name a patient."""
    return (b"<" + str(RDF.type).encode() + b">", b"<" + str(NPC.Patient).encode() + b">",
            b"<" + str(NPC.hasFinding).encode() + b">")


def _unescape(body: bytes) -> bytes | None:
    def one(match: re.Match[bytes]) -> bytes:
        code = int(match.group(1) or match.group(2), 16)
        if 0xD800 <= code <= 0xDFFF or code > 0x10FFFF:
            raise ValueError
        return chr(code).encode("utf-8")

    try:
        text = _UCHAR.sub(one, body)
    except ValueError:
        return None
    return None if b"\\" in _UCHAR.sub(b"", body) else text


def _check(token: bytes) -> bytes | None:
    if token[:1] == b"<" and token[-1:] == b">":
        body = token[1:-1]
        if b"\\" in body:
            found = _unescape(body)
            if found is None:
                return None
            body = found
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            return None
        if _FORBIDDEN.search(text):
            return None
        try:
            ox.NamedNode(text)
        except ValueError:
            return None
        return b"<" + body + b">"
    if token[:2] == b"_:":
        if _BLANK.fullmatch(token):
            return token
        try:  # a label outside the ASCII subset: pyoxigraph decides
            [quad] = ox.parse(input=token + _PROBE,
                              format=ox.RdfFormat.N_TRIPLES)
        except (SyntaxError, ValueError):
            return None
        return token if isinstance(quad.subject, ox.BlankNode) else None
    return None


def readable(token: bytes) -> bytes | None:
    """The key of an IRI (``<...>``, escapes decoded) or blank node token as pyoxigraph reads it, or ``None``."""
    found = _READABLE.get(token, b"")
    if found == b"":
        if len(_READABLE) > _MEMO_LIMIT:
            _READABLE.clear()
        found = _READABLE[token] = _check(token)
    return found


def key_text(key: bytes) -> str:
    """A key as the row's ``patient`` text: the IRI, or ``_:label``."""
    return key[1:-1].decode("utf-8") if key[:1] == b"<" else key.decode("ascii")


def _subject(line: bytes) -> tuple[bytes | None, int]:
    """The subject token of a stripped line (a blank node label without trailing dots) and where it ends."""
    match = _SUBJECT.match(line)
    if match is None:
        return None, 0
    token = match.group()
    return (token.rstrip(b".") if token[:1] == b"_" else token), match.end()


def line_tokens(line: bytes) -> tuple[bytes | None, bytes | None, bytes | None, bool]:
    """Subject key, predicate key, object key (IRI or blank node) of a stripped line, and whether its object is lost.

    A key is ``None`` when that term is missing or cannot be read (:func:`readable`); the object
    is *lost* when it is missing or unreadable and not a literal: it may have been a link.
    """
    subject, end = _subject(line)
    if subject is None:
        return None, None, None, True
    p_token, o_token, literal = _REST.match(line, end).groups()  # type: ignore[union-attr]
    p_key = readable(p_token) if p_token else None
    if literal:
        return readable(subject), p_key, None, False
    o_key = readable(o_token.rstrip(b".") if o_token[:1] == b"_" else o_token) if o_token else None
    return readable(subject), p_key, o_key, o_key is None


def scan(block: bytes, pos: int, number: int, linked: set[bytes] | None, data: bytearray, runs: list[int],
         flags: list[bool], marks: tuple[bytes, bytes, bytes],
         check: Callable[[bytes], bytes | None]) -> tuple[int, int, int, bytes | None]:
    """Read the lines of ``block`` from ``pos`` into the current record while their subject is linked to it.

    ``block`` holds whole lines (each ends in ``\\n``); ``number`` is the line number of the
    last line read. A line's subject is read as :func:`line_tokens` does (``check`` is
    :func:`readable`); blank lines and ``#`` comments are skipped. A line linked to the
    record (``linked``) is appended to ``data`` stripped, its line number to ``runs`` (pairs
    first line, count), its object key to ``linked``; ``flags`` (lost, names a patient, has
    findings) are updated (``marks``: the keys of :func:`tokens`). Returns ``(pos, number,
    event, key)``: :data:`END` at the end of the block; :data:`NEW` with the subject key of a
    line not linked to the record (not consumed: ``pos`` and ``number`` point before it);
    :data:`UNREAD` for a line whose subject cannot be read (consumed, ``number`` is its line).
    The C accelerator's ``scan`` does exactly this.
    """
    rdf_type, patient, has_finding = marks
    end = len(block)
    while pos < end:
        start = pos
        newline = block.index(b"\n", pos)
        pos = newline + 1
        number += 1
        line = block[start:newline].strip(b" \t\r")
        if not line or line[:1] == b"#":
            continue
        subject, after = _subject(line)
        key = check(subject) if subject else None
        if key is None:
            return pos, number, UNREAD, None
        if linked is None or key not in linked:
            return start, number - 1, NEW, key
        data += line
        data += b"\n"
        if runs and runs[-2] + runs[-1] == number:
            runs[-1] += 1
        else:
            runs += (number, 1)
        p_token, o_token, literal = _REST.match(line, after).groups()  # type: ignore[union-attr]
        if literal:
            o_key = None
        elif o_token is None:
            flags[0] = True
            o_key = None
        else:
            o_key = check(o_token.rstrip(b".") if o_token[:1] == b"_" else o_token)
            if o_key is None:
                flags[0] = True
            else:
                linked.add(o_key)
        if p_token is None:
            flags[0] = True
        elif p_token in (rdf_type, has_finding) or b"\\" in p_token:
            p_key = check(p_token)
            if p_key == has_finding:
                flags[2] = True
            elif p_key == rdf_type and o_key == patient:
                flags[1] = True
    return pos, number, END, None


@dataclass(eq=False)
class Record:
    """The lines of one patient (or of what could be read of it), as the reader grouped them."""

    root: bytes
    """Key of its first subject (``<iri>`` with escapes decoded, or ``_:label``); empty if no line could be read."""
    first: int
    """Line number of its first line."""
    data: bytearray = field(default_factory=bytearray)
    """Its lines whose subject could be read, stripped, each ending in ``\\n``."""
    runs: list[int] = field(default_factory=list)
    """Line numbers of ``data``: pairs (first line, count)."""
    linked: set[bytes] = field(default_factory=set)
    flags: list[bool] = field(default_factory=lambda: [False, False, False])
    """Lost a link (an unreadable object), names a patient (``rdf:type npc:Patient``), has findings."""
    unread: list[int] = field(default_factory=list)
    """Lines inside it whose subject could not be read."""
    nearby: list[int] = field(default_factory=list)
    """Unreadable lines between it and another record: they may belong to it."""
    parent: Record | None = None
    """The record that lost a link (unreadable object) right before this one started."""

    @property
    def names_patient(self) -> bool:
        """Whether a readable line types a subject ``npc:Patient`` or gives it findings."""
        return self.flags[1] or self.flags[2]

    def absorb(self, other: Record) -> None:
        """Take the lines of ``other`` (a lost finding record of this one)."""
        self.data += other.data
        self.runs += other.runs
        self.linked |= other.linked
        self.unread += other.unread
        self.nearby += other.nearby
        self.flags[0] = self.flags[0] or other.flags[0]
        self.flags[1] = self.flags[1] or other.flags[1]
        self.flags[2] = self.flags[2] or other.flags[2]


class _Grouper:
    """The window of open records; :meth:`feed` takes blocks of whole lines, :meth:`finish` the end."""

    def __init__(self, native: Any) -> None:
        self.scan = native.scan if native is not None else scan
        self.marks = tokens()
        self.window: list[Record] = []  # least recently used first
        self.current: Record | None = None
        self.number = 0
        self.pending: list[int] = []  # unreadable lines not yet given to a record
        self.before: Record | None = None  # the current record when the first pending line was met

    def feed(self, block: Any) -> Iterator[Record]:
        pos = 0
        while True:
            current = self.current
            if current is None or self.pending:  # the next readable line says whose the pending lines are
                pos, self.number, event, key = self.scan(block, pos, self.number, None, bytearray(), [], [False] * 3,
                                                         self.marks, readable)
            else:
                pos, self.number, event, key = self.scan(block, pos, self.number, current.linked, current.data,
                                                         current.runs, current.flags, self.marks, readable)
            if event == END:
                return
            if event == UNREAD:
                if not self.pending:
                    self.before = current
                self.pending.append(self.number)
                continue
            assert key is not None
            yield from self._switch(key)

    def _switch(self, key: bytes) -> Iterator[Record]:
        """A line whose subject ``key`` is not linked to the current record: find or start its record."""
        current = self.current
        if current is not None and key in current.linked:
            target: Record | None = current
        else:
            target = next((r for r in reversed(self.window) if r is not current and key in r.linked), None)
        pending, before = self.pending, self.before
        if pending and before is not None:
            before.flags[0] = True  # an unreadable line may have held its link to the next lines
        if target is None:
            parent = None
            if current is not None and current.parent is not None and not current.names_patient:
                parent = current.parent  # a second orphan of the same lost links
            elif current is not None and current.flags[0]:
                parent = current
            target = Record(key, self.number + 1, linked={key}, parent=parent)
            if len(self.window) >= WINDOW:  # before the new record joins: it has no lines to judge it by yet
                yield from self._evict(self.window[0])
            self.window.append(target)
        elif target is not current:
            self.window.remove(target)
            self.window.append(target)
        if pending:
            if before is target:
                target.unread += pending
            else:
                target.nearby += pending
                if before is not None:
                    before.nearby += pending
            self.pending = []
            self.before = None
        self.current = target

    def _evict(self, record: Record) -> Iterator[Record]:
        self.window.remove(record)
        parent = record.parent
        if parent is not None and not record.names_patient and parent in self.window:
            parent.absorb(record)  # the finding record whose link was lost
            for other in self.window:
                if other.parent is record:
                    other.parent = parent
            return
        for other in list(self.window):
            if other.parent is record and not other.names_patient:
                self.window.remove(other)
                record.absorb(other)
        yield record

    def finish(self) -> Iterator[Record]:
        if self.pending:
            if self.current is not None:  # unreadable lines at the end (a cut-short file): the last record's
                self.current.unread += self.pending
                self.current.flags[0] = True
            else:  # no line could be read at all
                self.window.append(Record(b"", self.pending[0], unread=list(self.pending)))
            self.pending = []
        while self.window:
            yield from self._evict(self.window[0])


def iter_records(handle: IO[bytes], *, native: Any = "auto") -> Iterator[tuple[Record, int]]:
    """Yield ``(record, bytes read so far)`` for every record of an N-Triples / N-Quads file, in bounded memory.

    ``native`` is the C accelerator (default: the built one, if any; ``None`` for pure Python).
    The file is read into one reused buffer (a line longer than it doubles it): reading each
    block into fresh memory cost a fifth of the reading time in page faults and copies.
    """
    native = load_native() if native == "auto" else native
    grouper = _Grouper(native)
    buffer = bytearray(_BLOCK)
    filled = 0  # bytes in the buffer: after a block, the start of a line that continues in the next one
    position = 0
    while True:
        if filled == len(buffer):  # no line end in the whole buffer: a longer line
            buffer += bytes(len(buffer))
        got = handle.readinto(memoryview(buffer)[filled:])  # type: ignore[attr-defined]
        if not got:
            break
        position += got
        filled += got
        cut = buffer.rfind(b"\n", 0, filled) + 1
        if cut == 0:
            continue
        # the C scan reads the buffer in place; the Python one needs bytes (its tokens are dict keys)
        block: Any = memoryview(buffer)[:cut] if native is not None else bytes(buffer[:cut])
        for record in grouper.feed(block):
            yield record, position
        del block
        buffer[:filled - cut] = buffer[cut:filled]
        filled -= cut
    if filled:
        for record in grouper.feed(bytes(buffer[:filled]) + b"\n"):
            yield record, position
    for record in grouper.finish():
        yield record, position
