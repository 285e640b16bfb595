"""Write assessment rows (CSV, JSON Lines, Parquet) and the attrition table, atomically."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from npc_kg.core.rules import ERROR, OUT_OF_SCOPE, ROW_VERDICTS, SATISFIED, UNKNOWN, VIOLATED, Criterion, PatientRow
from npc_kg.errors import InputError
from npc_kg.suggest import unknown

__all__ = ["OUTPUT_FORMATS", "Attrition", "RowWriter", "header", "render"]

OUTPUT_FORMATS = ("csv", "jsonl", "parquet")


def header(criteria: Sequence[Criterion]) -> list[str]:
    """Output columns: patient, verdict, one per criterion (KB order), error."""
    return ["patient", "verdict", *[c.name for c in criteria], "error"]


def render(rows: Iterable[PatientRow], fmt: str, criteria: Sequence[Criterion]) -> str | list[list[str]]:
    """A batch of rows as :meth:`RowWriter.write_rendered` takes it: CSV or JSON Lines text, or value lists (Parquet)."""
    columns = header(criteria)
    values = [[r.patient, r.verdict, *[r.statuses.get(c.iri, "") for c in criteria], r.error] for r in rows]
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
        self._parquet: Any = None
        if fmt == "csv":
            self._csv = csv.writer(handle, lineterminator="\n")
            self._csv.writerow(self.columns)
        elif fmt == "parquet":
            import pyarrow as pa
            import pyarrow.parquet as pq

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
            {"step": 2, "criterion": "", "label": "out of scope (the treatment's disease is not recorded)", VIOLATED: 0,
             UNKNOWN: 0, "newly_excluded": self.out_of_scope, "remaining": readable - self.out_of_scope},
        ]
        for i, step in enumerate(self.steps, 3):
            out.append({"step": i, "criterion": step.criterion.name, "label": step.criterion.label,
                        VIOLATED: step.violated, UNKNOWN: step.unknown, "newly_excluded": step.newly_excluded,
                        "remaining": step.remaining})
        return out

    def text(self) -> str:
        """The table as aligned text (printed by the CLI)."""
        rows = self.table()
        lines = [f"{'step':>4}  {'criterion':<42} {'violated':>9} {'unknown':>9} {'excluded':>9} {'remaining':>10}"]
        for r in rows:
            name = str(r["criterion"] or r["label"])[:42]
            counts = f"{r[VIOLATED]:>9} {r[UNKNOWN]:>9} {r['newly_excluded']:>9} {r['remaining']:>10}"
            lines.append(f"{r['step']:>4}  {name:<42} {counts}")
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
