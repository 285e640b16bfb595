"""Shared fixtures. Area-specific fixtures live in tests/<area>/conftest.py."""

from __future__ import annotations

from pathlib import Path

import pytest
from rdflib import Graph

import npc_kg

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def repo() -> Path:
    """The repository root."""
    return REPO


@pytest.fixture(scope="session")
def kg() -> Graph:
    """The merged knowledge graph (read-only: do not modify)."""
    return npc_kg.load()


@pytest.fixture(autouse=True)
def _fixed_assessment_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """Outputs carry the time of assessment: pin it (SOURCE_DATE_EPOCH) so repeated runs compare equal."""
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767225600")  # 2026-01-01T00:00:00Z
