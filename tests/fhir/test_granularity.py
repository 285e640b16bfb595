"""The eligibility shapes honour granularity: a narrower class present counts, absent rules out only itself."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import npc_kg
from npc_kg.namespace import BASE, KB
from tests.packdata import criteria_count

FILES = sorted((Path(__file__).resolve().parent.parent / "data" / "fhir" / "granularity").glob("*.ttl"))


def _expected(path: Path) -> tuple[str, dict[str, str], set[str]]:
    verdict, statuses, missing = "", {}, set()
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.startswith("#"):
            continue
        if found := re.match(r"# expect-verdict: (\S+)", line):
            verdict = found.group(1)
        elif found := re.match(r"# expect: kb:(\S+) (\S+)", line):
            statuses[str(KB[found.group(1)])] = found.group(2)
        elif found := re.match(r"# expect-missing: npc:(\S+)", line):
            missing.add(BASE + found.group(1))
    return verdict, statuses, missing


def test_the_four_cases_are_there() -> None:
    assert len(FILES) == 4


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
@pytest.mark.parametrize("engine", ["local", "reference"])
def test_granularity(path: Path, engine: str) -> None:
    verdict, statuses, missing = _expected(path)
    assert verdict and len(statuses) == criteria_count()
    [assessment] = npc_kg.assess(path, engine=engine)
    assert assessment.verdict == verdict
    assert {row.criterion: row.status for row in assessment.criteria} == statuses
    assert set(assessment.missing) == missing
