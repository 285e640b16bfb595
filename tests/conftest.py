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
