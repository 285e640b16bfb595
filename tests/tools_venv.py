"""The tools virtual environment: command-line tools whose pins the test environment cannot share.

kgx 2.7.0 (click<8.2, duckdb<2) and sssom-py (through linkml: antlr4-python3-runtime<4.10, which
fhirpathpy's >=4.10 excludes) live in ``.venv/tools`` of the repository (git-ignored), made by
``.ci/run`` from ``.ci/tools-requirements.txt``. ``NPC_KG_TOOLS_PYTHON`` names another Python.
Tests run small launcher scripts with that Python and read their JSON output. A missing
environment fails the test under CI and skips it locally.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

REPOSITORY = Path(__file__).resolve().parent.parent
DEFAULT_PYTHON = REPOSITORY / ".venv" / "tools" / "bin" / "python"
SSSOM_CHECK = Path(__file__).resolve().parent / "linking" / "sssom_tool" / "sssom_check.py"


def tools_python() -> str:
    """The Python of the tools environment; fails under CI (``CI`` set), skips locally, when it is missing."""
    python = os.environ.get("NPC_KG_TOOLS_PYTHON") or str(DEFAULT_PYTHON)
    if not Path(python).is_file():
        message = (f"the tools virtual environment is missing ({python}); .ci/run makes it: "
                   "python -m venv .venv/tools && .venv/tools/bin/pip install -r .ci/tools-requirements.txt")
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return python


def sssom_check(command: str, *paths: Path) -> Any:
    """Run ``tests/linking/sssom_tool/sssom_check.py COMMAND PATH...`` in the tools environment; its JSON answer."""
    done = subprocess.run([tools_python(), str(SSSOM_CHECK), command, *map(str, paths)], capture_output=True, text=True,
                          timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)
