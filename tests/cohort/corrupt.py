"""Corrupt an N-Triples cohort line by line, and remember what was done: the hostile input of issue #15.

:func:`corrupt` damages a share of the lines of a cohort written by ``npc-kg synth`` in one of
the ways a file gets damaged in the wild, and returns the damaged file with the truth the tests
check the reader against: which lines were damaged, whether each one's subject can still be
read, and where the file was cut.

- ``no-dot``: the final `` .`` is gone;
- ``cut``: the line stops short (somewhere before its end);
- ``bad-utf8``: a byte that is not UTF-8 (``\\xff``, ``\\xfe``, a lone lead or continuation byte);
- ``cr``: a stray carriage return inside the line;
- ``bad-iri-char``: a character an IRI cannot hold (space, ``{``, ``}``, ``|``, ``^``, a backquote,
  ``"``, a backslash) inside one of its IRIs;
- ``duplicate``: the line comes twice (not damage: a triple said twice is the same triple);
- and, with ``truncate=True``, the file is cut inside one of its last lines (``truncate``).

Every damage is *detectable*: the line no longer parses. (A cut that lands exactly on a line
break would leave a shorter valid file: nothing can tell it apart from a complete one, so the
corrupter never cuts there.) The patient of a line is read from the synthetic IRIs
(``.../patient/SYN-<seed>-<i>`` and its finding records ``.../SYN-<seed>-<i>/<key>``).

Run as a script to write a corrupted copy of a file:
``python tests/cohort/corrupt.py IN.nt OUT.nt --rate 0.05 --seed 1``.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

KINDS = ("no-dot", "cut", "bad-utf8", "cr", "bad-iri-char", "duplicate")
DAMAGING = frozenset(KINDS) - {"duplicate"}
_PATIENT = re.compile(rb"^<(https://w3id\.org/npc-kg/patient/SYN-\d+-\d+)[/>]")
_IRI = re.compile(rb"<[^>]*>")
_BAD_BYTES = (b"\xff", b"\xfe", b"\xc3", b"\x80")
_BAD_IRI_CHARS = (b" ", b"{", b"}", b"|", b"^", b"`", b'"', b"\\")


def patient_of(line: bytes) -> str | None:
    """The synthetic patient IRI a clean line belongs to (its subject's patient part)."""
    match = _PATIENT.match(line)
    return match.group(1).decode() if match else None


@dataclass
class Damage:
    """One damaged line: its index in the clean file, the kind, and whether its subject can still be read."""

    index: int
    kind: str
    subject_readable: bool


@dataclass
class Corrupted:
    """The corrupted file and the truth about it."""

    data: bytes
    damage: list[Damage] = field(default_factory=list)
    kept: int = 0
    """Clean lines that are (at least partly) still in the file; the rest were cut off with ``truncate``."""

    def damaged_patients(self, lines: list[bytes]) -> set[str]:
        """Patients with at least one damaged line."""
        return {p for d in self.damage if (p := patient_of(lines[d.index])) is not None}

    def present_patients(self, lines: list[bytes]) -> set[str]:
        """Patients that the corrupted file still names: a line of theirs is kept with its subject readable."""
        unreadable = {d.index for d in self.damage if not d.subject_readable}
        return {p for i, line in enumerate(lines[:self.kept]) if i not in unreadable and (p := patient_of(line))}


def _subject_end(line: bytes) -> int:
    match = _IRI.match(line)
    return match.end() if match else 0


def _damage(rng: random.Random, line: bytes, kind: str) -> tuple[bytes, int]:
    """The damaged line and the offset of the damage (the subject is readable if it is past the subject)."""
    if kind == "no-dot":
        return line[:-2].rstrip(), len(line) - 2
    if kind == "cut":
        at = rng.randrange(1, len(line))
        return line[:at], at
    if kind == "bad-utf8":
        at = rng.randrange(0, len(line) + 1)
        return line[:at] + rng.choice(_BAD_BYTES) + line[at:], at
    if kind == "cr":
        at = rng.randrange(1, len(line))
        return line[:at] + b"\r" + line[at:], at
    if kind == "bad-iri-char":
        iris = list(_IRI.finditer(line))
        match = rng.choice(iris)
        at = rng.randrange(match.start() + 1, match.end() - 1)
        return line[:at] + rng.choice(_BAD_IRI_CHARS) + line[at:], at
    raise ValueError(kind)


def corrupt(data: bytes, rate: float, seed: int, *, kinds: tuple[str, ...] = KINDS, truncate: bool = False) -> Corrupted:
    """Damage a share ``rate`` of the lines of ``data`` (N-Triples, one triple per line), deterministically for ``seed``."""
    rng = random.Random(seed)
    lines = data.splitlines()
    out: list[bytes] = []
    where: list[int] = []  # clean line -> its place in out
    found = Corrupted(b"", kept=len(lines))
    for index, line in enumerate(lines):
        where.append(len(out))
        if not line or rng.random() >= rate:
            out.append(line)
            continue
        kind = rng.choice(kinds)
        if kind == "duplicate":
            out += [line, line]
            continue
        damaged, at = _damage(rng, line, kind)
        found.damage.append(Damage(index, kind, at >= _subject_end(line)))
        out.append(damaged)
    text = b"\n".join(out) + b"\n"
    if truncate and lines:
        # cut inside one of the last lines (never on a line break: that would leave a valid, shorter file)
        index = rng.randrange(max(0, len(lines) - 50), len(lines))
        line = lines[index]
        start = sum(len(x) + 1 for x in out[:where[index]])
        at = rng.randrange(1, len(line))
        text = text[:start + at]
        found.damage = [d for d in found.damage if d.index < index]
        found.damage.append(Damage(index, "truncate", at >= _subject_end(line)))
        found.kept = index + 1
    found.data = text
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source")
    parser.add_argument("target")
    parser.add_argument("--rate", type=float, default=0.05)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--truncate", action="store_true")
    args = parser.parse_args()
    clean = Path(args.source).read_bytes()
    found = corrupt(clean, args.rate, args.seed, truncate=args.truncate)
    Path(args.target).write_bytes(found.data)
    lines = clean.splitlines()
    json.dump({"damaged_lines": len(found.damage), "damaged_patients": len(found.damaged_patients(lines)),
               "present_patients": len(found.present_patients(lines))}, sys.stdout)
    print()


if __name__ == "__main__":
    main()
