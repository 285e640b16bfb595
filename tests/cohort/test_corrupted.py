"""Corrupted cohorts (issue #15): one row per distinct patient, damaged ones flagged, the others as in a clean run.

The corrupter (``tests/cohort/corrupt.py``) damages a share of the lines of a synthetic cohort
(a missing final dot, a cut line, bad UTF-8, a stray CR, a bad IRI character, a line said twice,
a file cut short) and knows which patients it touched. On every fast path (the closure engine
with the C accelerator and in pure Python, the SPARQL engine) and on the pySHACL reference (a few
patients: it is slow), at several batch sizes and with 1 or 2 workers, the output must have:

- exactly one row per patient the damaged file still names, and no other rows than ``line:N``
  error rows for damage that names no patient;
- an error row for every patient one of whose lines was damaged (never an assessment of the rest);
- for every untouched patient, the row of the clean run; or, when an unreadable line sits next
  to it (a line whose subject is lost cannot be told apart from a line of its neighbour), an
  error row: a damaged record is flagged, never assessed on partial data.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from npc_kg.cohort import assess_cohort
from npc_kg.cohort.synth import synth
from tests.cohort.corrupt import KINDS, Corrupted, corrupt, patient_of

PATHS = {  # name: (engine, pure Python)
    "closures-C": ("local", False),
    "closures-python": ("local", True),
    "sparql": ("sparql", False),
    "reference": ("reference", False),
}


@contextmanager
def pure_python(on: bool) -> Iterator[None]:
    saved = os.environ.get("NPC_KG_NO_NATIVE")
    if on:
        os.environ["NPC_KG_NO_NATIVE"] = "1"
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop("NPC_KG_NO_NATIVE", None)
        else:
            os.environ["NPC_KG_NO_NATIVE"] = saved


def read_rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


class Cohort:
    """A clean synthetic cohort, its lines and its clean rows (per engine: the reference may word rows the same)."""

    def __init__(self, folder: Path, n: int, seed: int) -> None:
        self.folder = folder
        self.path = folder / "clean.nt"
        synth(n, seed, self.path)
        self.data = self.path.read_bytes()
        self.lines = self.data.splitlines()
        self._clean: dict[str, dict[str, dict[str, str]]] = {}

    def clean(self, engine: str) -> dict[str, dict[str, str]]:
        if engine not in self._clean:
            out = self.folder / f"clean-{engine}.csv"
            assess_cohort(self.path, out, engine=engine, progress=False)
            self._clean[engine] = {r["patient"]: r for r in read_rows(out)}
        return self._clean[engine]


def check(cohort: Cohort, damaged: Corrupted, rows: list[dict[str, str]], engine: str) -> None:
    """The three promises of the module docstring."""
    patients = [r["patient"] for r in rows]
    assert len(patients) == len(set(patients)), "one row per patient"
    by_patient = {r["patient"]: r for r in rows}
    present = damaged.present_patients(cohort.lines)
    hit = damaged.damaged_patients(cohort.lines) & present
    named = set(by_patient) - present
    assert present <= set(by_patient), f"patients lost: {sorted(present - set(by_patient))[:3]}"
    assert all(p.startswith("line:") and by_patient[p]["verdict"] == "error" for p in named), sorted(named)[:3]
    unflagged = sorted(p for p in hit if by_patient[p]["verdict"] != "error")
    assert not unflagged, f"damaged patients assessed on partial data: {unflagged[:3]}"
    near_lost = set()  # the patients next to a line whose subject was lost
    for damage in damaged.damage:
        if not damage.subject_readable:
            for index in range(max(0, damage.index - 2), min(len(cohort.lines), damage.index + 3)):
                if (patient := patient_of(cohort.lines[index])) is not None:
                    near_lost.add(patient)
    clean = cohort.clean(engine)
    for patient in present - hit:
        row = by_patient[patient]
        if row != clean[patient]:
            assert row["verdict"] == "error" and patient in near_lost, f"{patient} changed: {row} != {clean[patient]}"


def run(cohort: Cohort, damaged: Corrupted, path: str, batch_size: int, workers: int, name: str) -> list[dict[str, str]]:
    engine, pure = PATHS[path]
    source = cohort.folder / f"{name}.nt"
    source.write_bytes(damaged.data)
    out = cohort.folder / f"{name}.csv"
    with pure_python(pure):
        summary = assess_cohort(source, out, engine=engine, batch_size=batch_size, workers=workers, progress=False)
    rows = read_rows(out)
    assert summary.rows == len(rows)
    return rows


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Cohort:
    return Cohort(tmp_path_factory.mktemp("small"), 40, 11)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Cohort:
    return Cohort(tmp_path_factory.mktemp("tiny"), 12, 12)


_corruption = st.fixed_dictionaries({
    "seed": st.integers(0, 2**31),
    "rate": st.sampled_from([0.01, 0.05, 0.2]),
    "kinds": st.sets(st.sampled_from(KINDS), min_size=1).map(lambda s: tuple(sorted(s))),
    "truncate": st.booleans(),
    "batch_size": st.sampled_from([1, 3, 17, 1000, 100000]),
    "workers": st.sampled_from([1, 2]),
})
_SETTINGS = settings(max_examples=30, deadline=None, derandomize=True, database=None,
                     suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@pytest.mark.parametrize("path", ["closures-C", "closures-python", "sparql"])
@_SETTINGS
@given(case=_corruption)
def test_a_corrupted_cohort_gives_one_row_per_patient_on_every_fast_path(small: Cohort, path: str,
                                                                         case: dict) -> None:
    damaged = corrupt(small.data, case["rate"], case["seed"], kinds=case["kinds"], truncate=case["truncate"])
    rows = run(small, damaged, path, case["batch_size"], case["workers"], f"{path}-{case['batch_size']}")
    check(small, damaged, rows, PATHS[path][0])


@pytest.mark.slow
@settings(max_examples=3, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(case=_corruption)
def test_a_corrupted_cohort_gives_one_row_per_patient_on_the_reference(tiny: Cohort, case: dict) -> None:
    damaged = corrupt(tiny.data, max(case["rate"], 0.05), case["seed"], kinds=case["kinds"], truncate=case["truncate"])
    rows = run(tiny, damaged, "reference", case["batch_size"], 1, "reference")
    check(tiny, damaged, rows, "reference")


@pytest.fixture(scope="module")
def large(tmp_path_factory: pytest.TempPathFactory) -> tuple[Cohort, Corrupted]:
    cohort = Cohort(tmp_path_factory.mktemp("large"), 20_000, 4)  # the size of the hostile run
    return cohort, corrupt(cohort.data, 0.05, 3, truncate=True)


@pytest.mark.slow
@pytest.mark.parametrize(("path", "batch_size", "workers"), [
    ("closures-C", 1000, 1), ("closures-C", 100000, 2), ("closures-C", 97, 1),
    ("closures-python", 1000, 2), ("closures-python", 100000, 1),
    ("sparql", 1000, 1), ("sparql", 100000, 2),
])
def test_20000_patients_with_5_percent_of_lines_damaged(large: tuple[Cohort, Corrupted], path: str, batch_size: int,
                                                       workers: int) -> None:
    cohort, damaged = large
    hit = damaged.damaged_patients(cohort.lines)
    assert len(hit) > 5000 and {d.kind for d in damaged.damage} == set(KINDS) - {"duplicate"} | {"truncate"}
    rows = run(cohort, damaged, path, batch_size, workers, f"large-{path}-{batch_size}-{workers}")
    check(cohort, damaged, rows, PATHS[path][0])
    assert len(rows) == len(damaged.present_patients(cohort.lines)) + sum(r["patient"].startswith("line:") for r in rows)
