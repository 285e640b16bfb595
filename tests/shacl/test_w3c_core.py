"""The W3C SHACL Core test suite, and npc-kg's own regression cases, against every evaluator.

Each ``sht:Validate`` entry (98 in ``core/``: node, property, path, targets, misc,
validation-reports, complex) runs on pySHACL (the reference), the compiled closures and the
compiled SPARQL, through the one adapter ``tests/shacl/evaluators.py``. An entry passes when the
evaluator's conformance and its set of ``(focus node, source shape, severity)`` equal the expected
report's (the fast evaluators report per shape and focus node, not per value); for the reference,
the per-value results with ``sh:resultPath``, ``sh:value`` and ``sh:sourceConstraintComponent``
are compared too. Every entry passes, or is a row of ``w3c/known-differences.yaml``: a refusal
(checked to be one) or a wrong answer (xfail, strict: fixing the evaluator turns the suite red
until the row is deleted).

The W3C files are in ``tests/shacl/w3c/core`` (source and licence in ``w3c/README.md``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from pathlib import Path

import pytest

from tests.shacl.adversarial import MUTATIONS
from tests.shacl.evaluators import EVALUATORS, Outcome, evaluate
from tests.shacl.known import CHECKS, DIFFERENTIAL_ROWS, KINDS, W3C_ROWS, WrongAnswer, w3c_row
from tests.shacl.manifests import Entry, entries, suite_root

HERE = Path(__file__).resolve().parent
REGRESSIONS = HERE / "regressions" / "manifest.ttl"
W3C_ENTRIES = 98
"""Entries of the W3C SHACL Core manifests (data-shapes-test-suite/tests/core, commit in w3c/README.md)."""

ROOT = suite_root()
W3C = entries(ROOT / "manifest.ttl", ROOT) if ROOT is not None else []
LOCAL = entries(REGRESSIONS, HERE)
ENTRIES = W3C + LOCAL


def _params(check: str, evaluators: tuple[str, ...]) -> list[object]:
    params = []
    for evaluator in evaluators:
        for entry in ENTRIES:
            row = w3c_row(evaluator, entry.id, check)
            if row is None and check != "results":  # a wrong result set is wrong in its details too
                row = w3c_row(evaluator, entry.id)
            marks = []
            if row is not None and row.kind == "wrong":
                marks.append(pytest.mark.xfail(strict=True, raises=WrongAnswer, reason=row.reason))
            params.append(pytest.param(evaluator, entry, id=f"{evaluator}:{entry.id}", marks=marks))
    return params


def _show(part: object) -> str:
    """A term key (or a path, or None) in a few characters, for failure messages."""
    if isinstance(part, tuple) and part and part[0] in ("iri", "bnode", "lit"):
        if part[0] == "lit":
            return f'"{part[1]}"^^{part[2].rsplit("#", 1)[-1]}' + (f"@{part[3]}" if part[3] else "")
        return ("_:" if part[0] == "bnode" else "") + part[1].rsplit("/", 1)[-1]
    return "-" if part is None else repr(part)


def _describe(results: Iterable[tuple[object, ...]]) -> str:
    return ", ".join(sorted("(" + ", ".join(_show(part) for part in result) + ")" for result in results)) or "none"


def _compare(entry: Entry, outcome: Outcome) -> str | None:
    """What differs between the outcome and the expected report (None: nothing)."""
    expected = entry.expected
    problems = []
    if outcome.conforms != expected.conforms:
        problems.append(f"conforms {outcome.conforms}, expected {expected.conforms}")
    missing, extra = expected.results - outcome.results, outcome.results - expected.results
    if missing:
        problems.append(f"missing results {_describe(missing)}")
    if extra:
        problems.append(f"unexpected results {_describe(extra)}")
    return "; ".join(problems) or None


@pytest.mark.parametrize(("evaluator", "entry"), _params("results", EVALUATORS))
def test_entry(evaluator: str, entry: Entry) -> None:
    """The evaluator's conformance and (focus, shape, severity) results are the expected report's."""
    row = w3c_row(evaluator, entry.id)
    outcome = evaluate(evaluator, entry.shapes, entry.data)
    problem = None if outcome.refused else _compare(entry, outcome)
    if row is not None and row.kind == "refused":
        if outcome.refused:
            return  # as the table says: the evaluator hands these shapes on
        if problem is None:
            pytest.fail(f"{evaluator} now answers {entry.id} correctly: delete its row from known-differences.yaml")
        raise WrongAnswer(f"{evaluator} no longer refuses {entry.id}, and answers wrong: {problem}")
    if outcome.refused:
        pytest.fail(f"{evaluator} refuses {entry.id} ({outcome.refused}): support it, or list it in known-differences.yaml")
    if problem is not None:
        raise WrongAnswer(f"{evaluator} on {entry.id} ({entry.label}): {problem}")


@pytest.mark.parametrize(("evaluator", "entry"), _params("details", ("reference",)))
def test_reference_report_details(evaluator: str, entry: Entry) -> None:
    """pySHACL's results, value by value: focus, shape, severity, component, path and value as expected."""
    outcome = evaluate(evaluator, entry.shapes, entry.data)
    assert outcome.details is not None
    got, expected = Counter(outcome.details), Counter(entry.expected.details)
    if got != expected:
        raise WrongAnswer(f"{entry.id}: missing {_describe((expected - got).elements())}; "
                          f"unexpected {_describe((got - expected).elements())}")


# -- the suite and the table themselves --------------------------------------------------------------

def test_the_w3c_suite_is_here() -> None:
    """The W3C files are in the repository, with their 98 sht:Validate entries."""
    assert ROOT is not None, "tests/shacl/w3c/core is missing: see tests/shacl/w3c/README.md"
    assert len(W3C) == W3C_ENTRIES, "the manifests list 98 sht:Validate entries"
    assert {e.id.split("/", 1)[0] for e in W3C} == {"complex", "misc", "node", "path", "property", "targets",
                                                     "validation-reports"}
    assert sum(not e.expected.conforms for e in W3C) == 94, "4 entries expect conformance"
    assert sum(len(e.expected.details) for e in W3C) == 213, "the expected reports hold 213 results"


def test_entries_name_existing_graphs() -> None:
    for entry in ENTRIES:
        assert entry.data_file.is_file() and entry.shapes_file.is_file(), entry.id
    assert len({e.id for e in ENTRIES}) == len(ENTRIES), "entry ids are unique"
    assert len(LOCAL) >= 5


def test_known_differences_table_is_well_formed() -> None:
    """Every row names an evaluator, a kind, a reason and an entry or mutation kinds that exist; no row twice."""
    ids = {e.id for e in ENTRIES}
    seen = set()
    for row in W3C_ROWS:
        assert row.evaluator in EVALUATORS and row.kind in KINDS and row.check in CHECKS, row
        assert len(row.reason) > 30, row
        assert row.kind == "wrong" or row.check == "results", "details rows are wrong answers"
        if ROOT is not None or (row.entry or "").startswith("regressions/"):
            assert row.entry in ids, f"{row.entry} is not an entry"
        key = (row.evaluator, row.entry, row.check)
        assert key not in seen, f"{key} is listed twice"
        seen.add(key)
    for row in DIFFERENTIAL_ROWS:
        assert row.evaluator in EVALUATORS and row.kind == "wrong" and len(row.reason) > 30, row
        assert row.mutations and set(row.mutations) <= set(MUTATIONS), row


def test_documented_counts_follow_the_table() -> None:
    """docs/shacl-conformance.md states, per evaluator, the W3C pass / wrong / refused counts the table implies."""
    text = (HERE.parent.parent / "docs" / "shacl-conformance.md").read_text(encoding="utf-8")
    names = {"reference": "pySHACL", "closures": "closures", "sparql": "SPARQL"}
    for evaluator, label in names.items():
        rows = [r for r in W3C_ROWS if r.evaluator == evaluator and r.check == "results"
                and not (r.entry or "").startswith("regressions/")]
        wrong = sum(r.kind == "wrong" for r in rows)
        refused = sum(r.kind == "refused" for r in rows)
        line = f"| {label} | {W3C_ENTRIES - wrong - refused} | {wrong} | {refused} |"
        assert line in text, f"docs/shacl-conformance.md should say {line}"
