"""Helpers of the hostile-input tests (issue 15): the marker, the data folder, the CLI in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

MARKER = "ZQXMARK7431"
"""Stands for a patient value: it must never appear on stderr, in logs or in an error message."""

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
REPO = HERE.parents[1]
SHARED = Path(os.environ.get("NPC_KG_SHARED", REPO.parent / "shared")) / "reliability"


def run_cli(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None, timeout: float = 300,
            ) -> subprocess.CompletedProcess[str]:
    """``npc-kg ARGS`` in a fresh interpreter (this checkout first on the path)."""
    environment = {**os.environ, "PYTHONPATH": str(REPO), **(env or {})}
    return subprocess.run([sys.executable, "-m", "npc_kg", *args], cwd=cwd, env=environment, capture_output=True,
                          text=True, timeout=timeout)


@pytest.fixture()
def eligible_ttl() -> str:
    """A valid patient file (the eligible example) to build hostile variants from."""
    return (REPO / "examples" / "patients" / "eligible.ttl").read_text(encoding="utf-8")
