"""The public API: every name in ``npc_kg.__all__`` resolves, and functions stay functions."""

from __future__ import annotations

import subprocess
import sys

import npc_kg


def test_every_public_name_resolves() -> None:
    for name in npc_kg.__all__:
        assert getattr(npc_kg, name) is not None, name


_IMPORT_ALL_FIRST = """
import importlib, pkgutil, types
import npc_kg
for module in pkgutil.walk_packages(npc_kg.__path__, "npc_kg."):
    importlib.import_module(module.name)
print([name for name in npc_kg.__all__ if isinstance(getattr(npc_kg, name), types.ModuleType)])
"""


def test_api_functions_are_not_shadowed_by_submodules() -> None:
    """In a fresh interpreter, importing every submodule first must not turn an API name into a module."""
    result = subprocess.run([sys.executable, "-c", _IMPORT_ALL_FIRST], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
