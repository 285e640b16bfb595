"""Every evaluator against pySHACL on adversarial patients, patient by patient (the package's real shapes).

``adversarial.generate`` makes ``NPC_KG_DIFF_N`` (default 400) patients of the patient model with
odd literal forms, shared and blank-node records, narrower classes and mapped codes, missing and
double statuses, unknown predicates and patients without findings. pySHACL on the data as
written (``evaluators.pyshacl_rows``) is the answer; each evaluator runs as ``npc-kg
assess-cohort`` runs it (``evaluators.rows``: ``npc_kg.cohort.assess_batch`` on the cohort
reader's batches) and must give every patient the same verdict and the same status of every
criterion, or the error row. The mutation kinds an evaluator is known to judge differently are
rows of ``w3c/known-differences.yaml``: those patients are an xfail(strict=True) case, so the rest
is checked now and a fix turns the suite red until the row goes.

pySHACL runs about 5-9 patients/s here: the answer and the cohort reference each take about a
minute in CI; ``benchmarks/differential.py`` runs the same at larger sizes.
"""

from __future__ import annotations

import os
from collections import Counter

import pytest

from npc_kg.core.rules import ERROR
from tests.shacl.adversarial import LITERAL_FORMS, MUTATIONS, Cohort, generate
from tests.shacl.evaluators import EVALUATORS, pyshacl_rows, rows
from tests.shacl.known import DIFFERENTIAL_ROWS, WrongAnswer, differential_rows

N = int(os.environ.get("NPC_KG_DIFF_N", "400"))
SEED = 11
BATCH = 100  # several batches, each assessed on its own, as assess-cohort does

Rows = dict[str, tuple[str, dict[str, str]]]


def disagreements(truth: Rows, got: Rows, cohort: Cohort, patients: list[str], name: str) -> list[str]:
    """One line per patient whose row differs from pySHACL's (the first differing criterion named)."""
    lines = []
    for patient in patients:
        expected, found = truth[patient], got.get(patient)
        if found == expected:
            continue
        kinds = ", ".join(cohort.kinds.get(patient, ())) or "none"
        if found is None:
            lines.append(f"{patient} (mutations: {kinds}): no row from {name}")
            continue
        if found[0] != expected[0] and ERROR in (found[0], expected[0]):
            lines.append(f"{patient} (mutations: {kinds}): pySHACL says {expected[0]}, {name} says {found[0]}")
            continue
        criterion = next((c for c in expected[1] if expected[1][c] != found[1].get(c)), None)
        if criterion is None:
            lines.append(f"{patient} (mutations: {kinds}): verdict: pySHACL says {expected[0]}, {name} says {found[0]}")
        else:
            lines.append(f"{patient} (mutations: {kinds}): criterion {criterion}: pySHACL says "
                         f"{expected[1][criterion]}, {name} says {found[1].get(criterion)} (verdicts {expected[0]}, {found[0]})")
    return lines


def _report(lines: list[str], total: int, name: str) -> str:
    return f"{len(lines)} of {total} patients differ between pySHACL and {name}; the first: {lines[0]}"


@pytest.fixture(scope="module")
def cohort() -> Cohort:
    return generate(N, SEED)


@pytest.fixture(scope="module")
def truth(cohort: Cohort) -> Rows:
    return pyshacl_rows(cohort.data)


@pytest.fixture(scope="module")
def evaluated(cohort: Cohort) -> dict[str, Rows]:
    """Each evaluator's rows, computed once per module."""

    class Memo(dict[str, Rows]):
        def __missing__(self, name: str) -> Rows:
            self[name] = rows(name, cohort.data, batch_size=BATCH)
            return self[name]

    return Memo()


def _known(cohort: Cohort, mutations: set[str]) -> set[str]:
    return {p for p, kinds in cohort.kinds.items() if mutations & set(kinds)}


@pytest.mark.slow
@pytest.mark.parametrize("name", EVALUATORS)
def test_evaluator_agrees_with_pyshacl(name: str, cohort: Cohort, truth: Rows, evaluated: dict[str, Rows]) -> None:
    """Every patient not carrying a known-difference mutation gets pySHACL's verdict and statuses."""
    got = evaluated[name]
    assert set(got) == set(truth), "one row per patient (rows out = patients in)"
    known = _known(cohort, {k for row in differential_rows(name) for k in row.mutations})
    checked = [p for p in truth if p not in known]
    assert len(checked) > N // 2
    lines = disagreements(truth, got, cohort, checked, name)
    assert not lines, _report(lines, len(checked), name)


def _known_params() -> list[object]:
    rows = [pytest.param(row.evaluator, row.mutations, id=f"{row.evaluator}:{'+'.join(row.mutations)}",
                         marks=pytest.mark.xfail(strict=True, raises=WrongAnswer, reason=row.reason))
            for row in DIFFERENTIAL_ROWS]
    return rows or [pytest.param(None, (), id="none-listed")]  # a parameter set is never empty: no skip


@pytest.mark.slow
@pytest.mark.parametrize(("name", "mutations"), _known_params())
def test_known_difference(name: str | None, mutations: tuple[str, ...], cohort: Cohort, truth: Rows,
                          evaluated: dict[str, Rows]) -> None:
    """The patients with the listed mutations: they differ today (xfail); when they agree, delete the row."""
    if name is None:  # the table lists no difference: every patient of every kind is checked above
        assert not DIFFERENTIAL_ROWS and all(len(evaluated[n]) == len(truth) for n in EVALUATORS)
        return
    patients = sorted(_known(cohort, set(mutations)))
    assert len(patients) >= 5, f"the cohort has patients with {mutations}"
    lines = disagreements(truth, evaluated[name], cohort, patients, name)
    if lines:
        raise WrongAnswer(_report(lines, len(patients), name))


# -- the generator and the comparison themselves (fast) ---------------------------------------------

@pytest.fixture(scope="module")
def small() -> Cohort:
    return generate(300, SEED)


def test_generator_is_deterministic_and_covers_every_mutation(small: Cohort) -> None:
    assert generate(300, SEED) == small
    assert generate(300, SEED + 1).data != small.data
    counts = Counter(k for kinds in small.kinds.values() for k in kinds)
    assert set(counts) == set(MUTATIONS), f"missing: {set(MUTATIONS) - set(counts)}"
    assert min(counts.values()) >= 5, counts
    assert sum(not kinds for kinds in small.kinds.values()) > 30, "unmutated patients too"
    text = small.data.decode("utf-8")
    for form in ('"^^<http://www.w3.org/2001/XMLSchema#int>', '"+', '.0"^^<http://www.w3.org/2001/XMLSchema#decimal>',
                 'e0"^^<http://www.w3.org/2001/XMLSchema#double>', '"yes"^^<http://www.w3.org/2001/XMLSchema#boolean>',
                 '"@en', '^^<http://www.w3.org/2001/XMLSchema#string>', "\n_:r", '\\"'):
        assert form in text, form
    assert set(MUTATIONS) > LITERAL_FORMS


def test_cohort_blocks_are_self_contained(small: Cohort) -> None:
    """Each patient's block starts with its rdf:type npc:Patient triple and holds its records' triples."""
    lines = small.data.decode("utf-8").splitlines()
    starts = [i for i, line in enumerate(lines) if line.endswith("<https://w3id.org/npc-kg/Patient> .")]
    assert len(starts) == 300 and starts[0] == 0
    for start, end in zip(starts, [*starts[1:], len(lines)], strict=True):
        block = lines[start:end]
        linked = {line.split(" ")[2] for line in block if " <https://w3id.org/npc-kg/hasFinding> " in line}
        described = {line.split(" ")[0] for line in block[1:]}
        assert {t for t in linked if not t.startswith('"')} <= described


def test_disagreements_name_patient_mutations_and_criterion(small: Cohort) -> None:
    """The comparison catches one changed status, one changed verdict and a missing row."""
    patients = list(small.kinds)[:3]
    truth: Rows = {p: ("indeterminate", {"c1": "unknown", "c2": "satisfied"}) for p in patients}
    got = dict(truth)
    got[patients[0]] = ("indeterminate", {"c1": "satisfied", "c2": "unknown"})
    got[patients[1]] = (ERROR, {})
    del got[patients[2]]
    lines = disagreements(truth, got, small, patients, "closures")
    assert len(lines) == 3
    assert lines[0].startswith(patients[0]) and "criterion c1: pySHACL says unknown, closures says satisfied" in lines[0]
    assert "mutations:" in lines[0] and f"closures says {ERROR}" in lines[1] and "no row" in lines[2]
