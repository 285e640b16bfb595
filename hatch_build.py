"""Hatch build hook: compile the optional C accelerator ``npc_kg/cohort/_ntscan.c``.

The accelerator runs the cohort reader's per-line loops (record grouping, strict N-Triples
indexing) and the local engine's node signatures in C; ``npc_kg.cohort.native`` loads it. It is
optional: without a C compiler (or with ``NPC_KG_NO_NATIVE=1`` at build time) the wheel is pure
Python and gives the same answers, more slowly. The compiler comes from the interpreter's own
build configuration (``sysconfig``: ``LDSHARED``, ``CCSHARED``), so no setuptools is needed.

- ``pip install -e .`` (editable): the module is built next to its source, in ``npc_kg/cohort/``
  (ignored by git).
- ``pip install .`` / ``python -m build``: the module is built in a temporary folder and added to
  a platform-specific wheel.
"""

from __future__ import annotations

import hashlib
import os
import shlex
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

SOURCE = Path("npc_kg", "cohort", "_ntscan.c")
MODULE = "npc_kg/cohort/_ntscan"


def compile_extension(source: Path, target: Path) -> str | None:
    """Compile ``source`` into the extension module ``target``; return why not, or ``None`` on success."""
    if sys.platform == "win32":
        return "building the C accelerator is not supported on Windows"
    ldshared = sysconfig.get_config_var("LDSHARED")
    include = sysconfig.get_paths().get("include")
    if not ldshared or not include:
        return "this Python has no build configuration (LDSHARED)"
    digest = hashlib.sha256(source.read_bytes()).hexdigest()  # lets npc_kg.cohort.native refuse a stale build
    command = [*shlex.split(ldshared), *shlex.split(sysconfig.get_config_var("CCSHARED") or ""),
               "-O2", "-DNDEBUG", f'-DNPC_KG_SOURCE_SHA256="{digest}"', f"-I{include}", str(source), "-o", str(target)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, check=False)
    except OSError as error:
        return f"no C compiler ({error.strerror}: {command[0]})"
    if done.returncode != 0:
        return f"the C compiler failed: {done.stderr.strip().splitlines()[-1] if done.stderr.strip() else done.returncode}"
    return None


class NativeBuildHook(BuildHookInterface):
    """Build ``npc_kg.cohort._ntscan`` for the wheel (platform tag) or in place for editable installs."""

    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name != "wheel" or os.environ.get("NPC_KG_NO_NATIVE"):
            return
        suffix = sysconfig.get_config_var("EXT_SUFFIX") or ".so"
        source = Path(self.root) / SOURCE
        if version == "editable":
            target = source.with_name("_ntscan" + suffix)
        else:
            self._folder = tempfile.mkdtemp(prefix="npc-kg-build-")
            target = Path(self._folder) / ("_ntscan" + suffix)
        problem = compile_extension(source, target)
        if problem is not None:
            print(f"npc-kg: building without the C accelerator ({problem}); the cohort engine is pure Python",
                  file=sys.stderr)
            return
        build_data["pure_python"] = False
        build_data["infer_tag"] = True
        if version != "editable":
            build_data["force_include"][str(target)] = MODULE + suffix

    def finalize(self, version: str, build_data: dict[str, Any], artifact_path: str) -> None:
        folder = getattr(self, "_folder", None)
        if folder:
            shutil.rmtree(folder, ignore_errors=True)
