"""Fixtures of the linking tests: running the CLI in a subprocess from a temporary folder."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

CliRunner = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture()
def cli(tmp_path: Path) -> CliRunner:
    """Run ``npc-kg ARGS...`` as a subprocess with ``tmp_path`` as working directory."""

    def run(*args: str, check: bool = False) -> subprocess.CompletedProcess[str]:
        env = {key: value for key, value in os.environ.items() if key != "NPC_KG_DEBUG"}
        result = subprocess.run(
            [sys.executable, "-c", "from npc_kg.cli import run; run()", *args],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if check:
            assert result.returncode == 0, result.stderr
        return result

    return run
