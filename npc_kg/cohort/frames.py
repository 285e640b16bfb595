"""pandas DataFrames as cohort input and output.

A DataFrame input has the columns of a registry CSV (``mappings/cohort-csv.yaml``) and is read
with the same mapping, in memory (nothing is written to disk). The output rows come back as a
DataFrame of strings (``patient``, ``source_id``, ``verdict``, one column per criterion, ``error``), with the
provenance and the attrition table in ``DataFrame.attrs``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

from npc_kg.cohort.csv_mapping import CsvMapping
from npc_kg.cohort.reader import Batch, iter_csv_bytes

__all__ = ["FrameInput", "is_frame", "rows_frame"]


def is_frame(value: Any) -> bool:
    """True for a pandas DataFrame (checked without importing pandas)."""
    return type(value).__name__ == "DataFrame" and hasattr(value, "to_dict") and hasattr(value, "columns")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        if value != value:  # NaN: not recorded
            return ""
        if value.is_integer():
            return str(int(value))  # a column of integers with gaps arrives as floats
    text = str(value)
    return "" if text in ("<NA>", "NaT", "nan") else text


class FrameInput:
    """A registry-CSV-shaped DataFrame as a cohort input."""

    name = "<DataFrame>"

    def __init__(self, frame: Any) -> None:
        self.frame = frame
        self._data: bytes | None = None

    def data(self) -> bytes:
        """The frame as CSV bytes (in memory)."""
        if self._data is None:
            text = io.StringIO()
            writer = csv.writer(text, lineterminator="\n")
            writer.writerow([str(c) for c in self.frame.columns])
            for row in self.frame.itertuples(index=False, name=None):
                writer.writerow([_cell(v) for v in row])
            self._data = text.getvalue().encode("utf-8")
        return self._data

    def batches(self, batch_size: int, *, mapping: CsvMapping | None = None) -> Iterator[Batch]:
        """Batches of records, as :func:`npc_kg.cohort.reader.iter_batches` yields for a CSV file (``mapping``:
        the CSV mapping, default the shipped one)."""
        yield from iter_csv_bytes(self.data(), self.name, batch_size=batch_size, mapping=mapping)

    def __len__(self) -> int:
        return len(self.data())


def rows_frame(out: Any, fmt: str, attrs: dict[str, Any]) -> Any:
    """The cohort rows just written to ``out`` (a path, or a StringIO of CSV) as a DataFrame of strings with ``attrs``."""
    from npc_kg.extras import require

    pd = require("pandas", "pandas", "a DataFrame of the rows")

    if isinstance(out, io.StringIO):
        frame = pd.read_csv(io.StringIO(out.getvalue()), dtype=str, keep_default_na=False)
    elif fmt == "parquet":
        frame = pd.read_parquet(out)
    elif fmt == "jsonl":
        frame = pd.read_json(out, lines=True, dtype=str)
    else:
        frame = pd.read_csv(out, dtype=str, keep_default_na=False)
    frame.attrs.update(attrs)
    return frame
