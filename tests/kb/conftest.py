"""Fixtures of the knowledge-base tests: seed texts, expected figures, one HermiT run per session."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from npc_kg.resources import seeds_dir

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"


def collapse(text: str) -> str:
    """Collapse runs of white space to one space (the only normalisation quotes may rely on)."""
    return " ".join(text.split())


@pytest.fixture(scope="session")
def seeds() -> Path:
    """The folder of source texts; in CI (``CI`` set) a missing folder fails instead of skipping."""
    folder = seeds_dir()
    if not folder.is_dir():
        message = f"seed texts not found at {folder} (set NPC_KG_SEEDS)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return folder


@pytest.fixture(scope="session")
def expected_figures() -> list[dict[str, Any]]:
    """The hand-made list of every figure of both sources (tests/kb/expected_figures.yaml)."""
    data = yaml.safe_load((HERE / "expected_figures.yaml").read_text(encoding="utf-8"))
    return list(data["figures"])


@dataclass(frozen=True)
class ReasoningRun:
    """The result of the session's HermiT run and the private temp dir before and after it."""

    report: Any
    before: list[str]
    after: list[str]


@pytest.fixture(scope="session")
def reasoning_run(tmp_path_factory: pytest.TempPathFactory) -> ReasoningRun:
    """Run HermiT once per session, with ``tempfile`` pointed at an empty folder we can inspect."""
    from npc_kg.kg.reason import reason

    folder = tmp_path_factory.mktemp("reasoning-tmp")
    saved = tempfile.tempdir
    tempfile.tempdir = str(folder)
    try:
        before = sorted(os.listdir(folder))
        report = reason()
        after = sorted(os.listdir(folder))
    finally:
        tempfile.tempdir = saved
    return ReasoningRun(report=report, before=before, after=after)
