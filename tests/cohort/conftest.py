"""Fixtures of the cohort area: small synthetic cohorts written once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from npc_kg.synthetic import synth


@pytest.fixture(scope="session")
def cohort_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with synthetic cohorts: clean (nt, ttl, csv) and with injected defects."""
    folder = tmp_path_factory.mktemp("cohort")
    synth(300, 11, folder / "clean.nt")
    synth(300, 11, folder / "clean.ttl")
    synth(300, 11, folder / "clean.csv")
    synth(400, 12, folder / "defects.nt", error_rate=0.1)
    synth(400, 12, folder / "defects.csv", error_rate=0.1)
    synth(60, 13, folder / "readable-defects.nt", error_rate=0.15, syntax_errors=False)
    return folder
