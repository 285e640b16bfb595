"""The optional C accelerator of the cohort reader (``npc_kg/cohort/_ntscan.c``), if it was built.

``pip install`` compiles it when a C compiler is available (``hatch_build.py``); without one the
package is pure Python and gives the same answers, more slowly. Set ``NPC_KG_NO_NATIVE=1`` to use
the pure-Python code even when the accelerator is built (benchmarks and tests compare the two).
"""

from __future__ import annotations

import hashlib
import os
import warnings
from pathlib import Path
from types import ModuleType

__all__ = ["load_native"]


_SOURCE = Path(__file__).with_name("_ntscan.c")
_checked: dict[str, bool] = {}


def load_native() -> ModuleType | None:
    """The compiled ``_ntscan`` module, or ``None`` if it is not built, is stale, or ``NPC_KG_NO_NATIVE`` is set.

    A build is stale when ``_ntscan.c`` next to it no longer has the SHA-256 it was compiled
    from (an edited checkout not rebuilt with ``pip install -e .``): it is then not used, with
    a warning, so a stale build can never give answers the source no longer gives.
    """
    if os.environ.get("NPC_KG_NO_NATIVE"):
        return None
    try:
        from npc_kg.cohort import _ntscan  # type: ignore[attr-defined]
    except ImportError:
        return None
    built = getattr(_ntscan, "SOURCE_SHA256", "unknown")
    if built not in _checked:
        _checked[built] = not _SOURCE.is_file() or hashlib.sha256(_SOURCE.read_bytes()).hexdigest() == built
        if not _checked[built]:
            warnings.warn(f"{_ntscan.__file__} was built from another version of {_SOURCE.name}; using pure Python "
                          "(rebuild it with: pip install -e .)", RuntimeWarning, stacklevel=2)
    return _ntscan if _checked[built] else None
