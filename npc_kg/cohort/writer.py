"""Write assessment rows (CSV, JSON Lines, Parquet) and the attrition table, atomically."""

from __future__ import annotations

import csv
import io
import itertools
import json
import os
import shutil
import tempfile
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from npc_kg.core.rules import ERROR, OUT_OF_SCOPE, ROW_VERDICTS, SATISFIED, UNKNOWN, VIOLATED, Criterion, PatientRow
from npc_kg.errors import InputError
from npc_kg.suggest import unknown

__all__ = ["OUTPUT_FORMATS", "Attrition", "RowWriter", "header", "render", "render_values"]

OUTPUT_FORMATS = ("csv", "jsonl", "parquet")


def header(criteria: Sequence[Criterion]) -> list[str]:
    """Output columns: patient (IRI), source_id (the id in its source), verdict, one per criterion (KB order), error."""
    return ["patient", "source_id", "verdict", *[c.name for c in criteria], "error"]


def render(rows: Iterable[PatientRow], fmt: str, criteria: Sequence[Criterion]) -> str | list[list[str]]:
    """A batch of rows as :meth:`RowWriter.write_rendered` takes it: CSV or JSON Lines text, or value lists (Parquet)."""
    values = [[r.patient, r.source_id, r.verdict, *[r.statuses.get(c.iri, "") for c in criteria], r.error] for r in rows]
    return render_values(values, fmt, header(criteria))


def render_values(values: list[list[str]], fmt: str, columns: list[str]) -> str | list[list[str]]:
    """Rows given as cells in column order, rendered as :func:`render` does."""
    if fmt == "csv":
        text = io.StringIO()
        csv.writer(text, lineterminator="\n").writerows(values)
        return text.getvalue()
    if fmt == "jsonl":
        return "".join(json.dumps(dict(zip(columns, v, strict=True))) + "\n" for v in values)
    return values


class RowWriter:
    """Stream rows to an open (temporary) file in the chosen format."""

    def __init__(self, handle: IO[Any], path: str, fmt: str, criteria: Sequence[Criterion],
                 metadata: dict[bytes, bytes] | None = None) -> None:
        if fmt not in OUTPUT_FORMATS:
            raise InputError(unknown("output format", fmt, OUTPUT_FORMATS))
        self.fmt = fmt
        self.criteria = list(criteria)
        self.columns = header(criteria)
        self.handle = handle
        self.path = path
        self._metadata = metadata
        self._parquet: Any = None
        if fmt == "csv":
            self._csv = csv.writer(handle, lineterminator="\n")
            self._csv.writerow(self.columns)
        elif fmt == "parquet":
            from npc_kg.extras import require

            pa = require("pyarrow", "parquet", "--out *.parquet")
            pq = require("pyarrow.parquet", "parquet", "--out *.parquet")

            self._schema = pa.schema([(c, pa.string()) for c in self.columns], metadata=metadata)
            self._parquet = pq.ParquetWriter(handle, self._schema)

    def write(self, rows: Iterable[PatientRow]) -> None:
        """Write a batch of rows."""
        self.write_rendered(render(rows, self.fmt, self.criteria))

    def write_rendered(self, payload: str | list[list[str]]) -> None:
        """Write a batch of rows already rendered by :func:`render` (for example in a worker process)."""
        if isinstance(payload, str):
            self.handle.write(payload)
        elif payload:
            import pyarrow as pa

            columns = list(zip(*payload, strict=True))
            self._parquet.write_table(pa.table({c: list(col) for c, col in zip(self.columns, columns, strict=True)},
                                               schema=self._schema))

    def close(self) -> None:
        """Finish the file (Parquet footer)."""
        if self._parquet is not None:
            self._parquet.close()
            self._parquet = None

    def merge_repeats(self, repeated: Collection[str], reason: str) -> Attrition:
        """Rewrite what was written so that each patient in ``repeated`` has one error row, where it first came.

        A patient whose records are in more than one place in the input got a row for each (or
        was assessed without the records that came later): its rows become one error row with
        ``reason``, followed by the reasons of the error rows it had. Returns the attrition of the
        rows as they now are. Only called when a patient came back: it reads the output twice, in
        batches, through a private spool (memory, then a temporary file if large).
        """
        reasons: dict[str, list[str]] = {}
        for rows in self._written():
            for row in rows:
                if row[0] in repeated:
                    found = reasons.setdefault(row[0], [reason])
                    if row[2] == ERROR and row[-1] and row[-1] not in found:
                        found.append(row[-1])
        binary = self.fmt == "parquet"
        by_name = {c.name: c.iri for c in self.criteria}
        counts = Attrition(self.criteria)
        with tempfile.SpooledTemporaryFile(max_size=1 << 26, mode="w+b" if binary else "w+", newline=None if binary else "",
                                           encoding=None if binary else "utf-8") as spool:
            copy = RowWriter(spool, self.path, self.fmt, self.criteria, metadata=self._metadata)
            done: set[str] = set()
            for rows in self._written():
                kept = []
                for row in rows:
                    if row[0] in repeated:
                        if row[0] in done:
                            continue
                        done.add(row[0])
                        row = [row[0], row[1], ERROR, *[""] * (len(self.columns) - 4), "; ".join(reasons[row[0]])]
                    kept.append(row)
                copy.write_rendered(render_values(kept, self.fmt, self.columns))
                counts.add(PatientRow(r[0], r[2], {by_name[c]: v for c, v in zip(self.columns[3:-1], r[3:-1], strict=True)
                                                   if v}, r[-1], r[1]) for r in kept)
            copy.close()
            spool.seek(0)
            self.handle.seek(0)
            self.handle.truncate()
            shutil.copyfileobj(spool, self.handle)  # type: ignore[misc]
        return counts

    def _written(self) -> Iterator[list[list[str]]]:
        """The rows written so far, in batches (each row as its cells in column order)."""
        self.close()  # a Parquet file needs its footer to be read
        self.handle.flush()
        if isinstance(self.handle, io.StringIO):
            source: IO[Any] = io.StringIO(self.handle.getvalue())
        else:  # the temporary output was opened read-write: read it through a second descriptor
            source = open(os.dup(self.handle.fileno()), "rb" if self.fmt == "parquet" else "r",  # noqa: SIM115
                          encoding=None if self.fmt == "parquet" else "utf-8", newline=None if self.fmt == "parquet" else "")
            source.seek(0)
        with source:
            if self.fmt == "parquet":
                import pyarrow.parquet as pq

                for part in pq.ParquetFile(source).iter_batches():
                    columns = [part.column(i).to_pylist() for i in range(len(self.columns))]
                    yield [list(values) for values in zip(*columns, strict=True)]
                return
            rows: Iterator[list[Any]] = csv.reader(source) if self.fmt == "csv" else (
                list(json.loads(line).values()) for line in source if line.strip())
            if self.fmt == "csv":
                next(rows, None)  # the header
            while chunk := [[str(v) for v in row] for row in itertools.islice(rows, 10000)]:
                yield chunk


@dataclass
class _Step:
    criterion: Criterion
    violated: int = 0
    unknown: int = 0
    newly_excluded: int = 0
    remaining: int = 0


class Attrition:
    """Counts for the OHDSI-style attrition table, accumulated batch by batch."""

    def __init__(self, criteria: Sequence[Criterion]) -> None:
        self.criteria = list(criteria)
        self.total = 0
        self.errors = 0
        self.out_of_scope = 0
        self.steps = [_Step(c) for c in self.criteria]
        self.verdicts: dict[str, int] = {}

    def add(self, rows: Iterable[PatientRow]) -> None:
        """Count a batch of rows."""
        for row in rows:
            self.total += 1
            self.verdicts[row.verdict] = self.verdicts.get(row.verdict, 0) + 1
            if row.verdict == ERROR:
                self.errors += 1
                continue
            if row.verdict == OUT_OF_SCOPE:
                self.out_of_scope += 1
                continue
            still = True
            for step in self.steps:
                status = row.statuses.get(step.criterion.iri)
                if status == VIOLATED:
                    step.violated += 1
                elif status == UNKNOWN:
                    step.unknown += 1
                if still and status != SATISFIED:
                    still = False
                    if status == VIOLATED:
                        step.newly_excluded += 1
                if still:
                    step.remaining += 1

    def merge(self, other: Attrition) -> None:
        """Add the counts of ``other`` (the same criteria, for example one batch counted in a worker)."""
        self.total += other.total
        self.errors += other.errors
        self.out_of_scope += other.out_of_scope
        for verdict, count in other.verdicts.items():
            self.verdicts[verdict] = self.verdicts.get(verdict, 0) + count
        for mine, theirs in zip(self.steps, other.steps, strict=True):
            mine.violated += theirs.violated
            mine.unknown += theirs.unknown
            mine.newly_excluded += theirs.newly_excluded
            mine.remaining += theirs.remaining

    def table(self) -> list[dict[str, str | int]]:
        """Rows: all patients, error rows, out-of-scope rows, then one per criterion in order; remaining = satisfied so far."""
        readable = self.total - self.errors
        out: list[dict[str, str | int]] = [
            {"step": 0, "criterion": "", "label": "patients in input", VIOLATED: 0, UNKNOWN: 0,
             "newly_excluded": 0, "remaining": self.total},
            {"step": 1, "criterion": "", "label": "error rows (unreadable or breaking the patient model)", VIOLATED: 0,
             UNKNOWN: 0, "newly_excluded": self.errors, "remaining": readable},
            {"step": 2, "criterion": "", "label": "out of scope (the treatment's disease not recorded)", VIOLATED: 0,
             UNKNOWN: 0, "newly_excluded": self.out_of_scope, "remaining": readable - self.out_of_scope},
        ]
        for i, step in enumerate(self.steps, 3):
            out.append({"step": i, "criterion": step.criterion.name, "label": step.criterion.label,
                        VIOLATED: step.violated, UNKNOWN: step.unknown, "newly_excluded": step.newly_excluded,
                        "remaining": step.remaining})
        return out

    def text(self) -> str:
        """The table as aligned text (printed by the CLI): every step, the out-of-scope one included, then the verdicts."""
        rows = self.table()
        names = [str(r["criterion"] or r["label"]) for r in rows]
        width = min(max(42, *map(len, names)), 60)
        lines = [f"{'step':>4}  {'criterion':<{width}} {'violated':>9} {'unknown':>9} {'excluded':>9} {'remaining':>10}"]
        for r, name in zip(rows, names, strict=True):
            counts = f"{r[VIOLATED]:>9} {r[UNKNOWN]:>9} {r['newly_excluded']:>9} {r['remaining']:>10}"
            lines.append(f"{r['step']:>4}  {name[:width]:<{width}} {counts}")
        verdicts = ", ".join(f"{k}: {self.verdicts.get(k, 0)}" for k in ROW_VERDICTS)
        lines.append(f"verdicts: {verdicts}")
        return "\n".join(lines)

    def write_csv(self, path: str | Path, *, inputs: Sequence[str | Path] = ()) -> None:
        """Write the table as CSV, atomically."""
        from npc_kg.atomic import atomic_output

        with atomic_output(path, inputs=inputs, newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(self.table()[0]), lineterminator="\n")
            writer.writeheader()
            writer.writerows(self.table())
