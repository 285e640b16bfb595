"""The table of known differences (``w3c/known-differences.yaml``), read once for the SHACL tests."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

__all__ = ["KINDS", "TABLE", "Known", "WrongAnswer", "differential_rows", "w3c_row"]

TABLE = Path(__file__).resolve().parent / "w3c" / "known-differences.yaml"
KINDS = ("refused", "wrong")
CHECKS = ("results", "details")


class WrongAnswer(AssertionError):
    """An evaluator answered, and the answer differs from the expected one (xfail rows raise only this)."""


@dataclass(frozen=True)
class Known:
    """One row of the table."""

    evaluator: str
    kind: str
    reason: str
    entry: str | None = None
    check: str = "results"
    mutations: tuple[str, ...] = ()


def _rows() -> tuple[list[Known], list[Known]]:
    data = yaml.safe_load(TABLE.read_text(encoding="utf-8"))
    w3c = [Known(evaluator=r["evaluator"], kind=r["kind"], reason=" ".join(str(r["reason"]).split()),
                 entry=r["entry"], check=r.get("check", "results")) for r in data["w3c"]]
    differential = [Known(evaluator=r["evaluator"], kind=r["kind"], reason=" ".join(str(r["reason"]).split()),
                          mutations=tuple(r["mutations"])) for r in data["differential"]]
    return w3c, differential


W3C_ROWS, DIFFERENTIAL_ROWS = _rows()


def w3c_row(evaluator: str, entry: str, check: str = "results") -> Known | None:
    """The row for an evaluator on a W3C (or regression) entry, or None if it must simply pass."""
    for row in W3C_ROWS:
        if (row.evaluator, row.entry, row.check) == (evaluator, entry, check):
            return row
    return None


def differential_rows(evaluator: str) -> list[Known]:
    """The differential rows of an evaluator."""
    return [row for row in DIFFERENTIAL_ROWS if row.evaluator == evaluator]
