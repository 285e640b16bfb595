"""The optional C accelerator of the cohort reader (``npc_kg/cohort/_ntscan.c``), if it was built.

``pip install`` compiles it when a C compiler is available (``hatch_build.py``); without one the
package is pure Python and gives the same answers, more slowly. Set ``NPC_KG_NO_NATIVE=1`` to use
the pure-Python code even when the accelerator is built (benchmarks and tests compare the two).
"""

from __future__ import annotations

import os
from types import ModuleType

__all__ = ["load_native"]


def load_native() -> ModuleType | None:
    """The compiled ``_ntscan`` module, or ``None`` if it is not built or ``NPC_KG_NO_NATIVE`` is set."""
    if os.environ.get("NPC_KG_NO_NATIVE"):
        return None
    try:
        from npc_kg.cohort import _ntscan  # type: ignore[attr-defined]
    except ImportError:
        return None
    return _ntscan
