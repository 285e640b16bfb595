"""Fixtures of the linking tests: running the CLI in a subprocess from a temporary folder.

A missing Java or OWL API (``libowlapi-java``) is a test failure when the ``CI`` environment
variable is set, and a skip with a reason otherwise, as for the servers of ``tests/sparql``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from npc_kg.errors import ExternalToolError
from npc_kg.exporters.owlapi import owlapi_command

CliRunner = Callable[..., subprocess.CompletedProcess[str]]


def run_cli(cwd: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``npc-kg ARGS...`` as a subprocess in ``cwd`` (``NPC_KG_DEBUG`` unset, so errors print one line)."""
    base = {key: value for key, value in os.environ.items() if key != "NPC_KG_DEBUG"}
    return subprocess.run(
        [sys.executable, "-c", "from npc_kg.cli import run; run()", *args],
        cwd=cwd,
        env={**base, **(env or {})},
        capture_output=True,
        text=True,
        timeout=300,
    )


def fail_in_ci_else_skip(message: str) -> None:
    """A missing tool fails the test under CI (``CI`` set) and skips it locally, with ``message``."""
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def need_owlapi() -> None:
    """Fail under CI, skip locally, if Java or the OWL API is missing."""
    try:
        owlapi_command("ttl", "ofn")
    except ExternalToolError as error:
        fail_in_ci_else_skip(f"{error} (.ci/run installs it); the OWL API export tests need it")


@pytest.fixture()
def cli(tmp_path: Path) -> CliRunner:
    """Run ``npc-kg ARGS...`` as a subprocess with ``tmp_path`` as working directory."""

    def run(*args: str, check: bool = False) -> subprocess.CompletedProcess[str]:
        result = run_cli(tmp_path, *args)
        if check:
            assert result.returncode == 0, result.stderr
        return result

    return run
