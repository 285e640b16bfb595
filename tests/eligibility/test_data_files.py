"""Parametrized over tests/data/patients/{valid,invalid} and examples/patients: headers say what to expect."""

from __future__ import annotations

from pathlib import Path

import pytest

import npc_kg
from npc_kg.cli import main
from npc_kg.errors import InputError, PatientModelError


def test_valid_file(valid_file: Path, helpers) -> None:
    expected = helpers.expectations(valid_file)
    assert expected.verdict, f"{valid_file.name}: header lacks '# expect-verdict:'"
    assert expected.comment.splitlines()[0].startswith("Valid:"), "header must say what the file shows"
    [assessment] = helpers.assessed(valid_file)
    assert assessment.verdict == expected.verdict
    got = helpers.statuses(assessment)
    for criterion, status in expected.statuses.items():
        assert got[criterion] == status, f"{criterion}: expected {status}, got {got[criterion]}"
    for item in expected.missing:
        assert item in assessment.missing
    if not expected.missing and assessment.verdict != "indeterminate":
        assert "unknown" not in got.values()


def test_invalid_file_cli(invalid_file: Path, helpers, capsys: pytest.CaptureFixture[str]) -> None:
    expected = helpers.expectations(invalid_file)
    assert expected.breaks, f"{invalid_file.name}: header must say which rule it breaks ('# breaks:')"
    assert expected.exit_code in (2, 3)
    code = main(["assess", str(invalid_file)])
    captured = capsys.readouterr()
    assert code == expected.exit_code
    assert captured.out == ""
    assert "Traceback" not in captured.err
    assert str(invalid_file) in captured.err, "the error names the file"
    for fragment in expected.errors:
        assert fragment in captured.err


def test_invalid_file_api(invalid_file: Path, helpers) -> None:
    expected = helpers.expectations(invalid_file)
    error_type = PatientModelError if expected.exit_code == 3 else InputError
    with pytest.raises(error_type) as info:
        npc_kg.assess(invalid_file)
    assert info.value.exit_code == expected.exit_code
    if isinstance(info.value, PatientModelError):
        assert info.value.errors, "data errors are listed"


def test_example_file(example_file: Path, helpers) -> None:
    expected = helpers.expectations(example_file)
    assert expected.comment.startswith("Example:"), "each example starts with a comment saying what it shows"
    [assessment] = helpers.assessed(example_file)
    assert assessment.verdict == expected.verdict
    got = helpers.statuses(assessment)
    assert {k: got[k] for k in expected.statuses} == expected.statuses
    assert set(expected.missing) <= set(assessment.missing)
