"""Fixtures of the report tests: example patients assessed once, with their graphs."""

from __future__ import annotations

from pathlib import Path

import pytest

from npc_kg.assessment.output import assess_sources

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples" / "patients"


@pytest.fixture(scope="module")
def assessed():
    """``assessed(name)``: the assessment and graph of ``examples/patients/<name>.ttl`` (cached per module)."""
    cache: dict[str, tuple] = {}

    def get(name: str):
        if name not in cache:
            [a], graphs = assess_sources([EXAMPLES / f"{name}.ttl"], at="2026-01-01T00:00:00Z")
            cache[name] = (a, graphs[a.patient])
        return cache[name]

    return get
