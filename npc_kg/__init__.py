"""npc-kg: computable knowledge about recurrent nasopharyngeal carcinoma and its treatment.

The public API is imported lazily so that ``import npc_kg`` stays fast::

    import npc_kg
    graph = npc_kg.load()                      # ontology + knowledge base + mappings
    [result] = npc_kg.assess("patient.ttl")    # three-valued eligibility, for each loaded treatment
    rows = npc_kg.query("sources")             # a named query over the merged graph
    npc_kg.assess("patient.ttl", packs=["my-pack/"])  # with a criteria pack of one's own (docs/packs.md)
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any


def _version() -> str:
    """The installed distribution's version; pyproject.toml is its only source (tests/test_version.py)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("npc-kg")
    except PackageNotFoundError:  # a source tree that is not installed
        import re
        from pathlib import Path

        text = (Path(__file__).resolve().parent.parent / "pyproject.toml").read_text(encoding="utf-8")
        found = re.search(r'^version = "([^"]+)"', text, re.MULTILINE)
        return found.group(1) if found else "0+unknown"


__version__ = _version()

_API = {
    "load": "npc_kg.kg.load",
    "info": "npc_kg.kg.info",
    "export": "npc_kg.kg.export",
    "assess": "npc_kg.assessment.assess",
    "Assessment": "npc_kg.assessment.assess",
    "CriterionRow": "npc_kg.assessment.assess",
    "patient_from_dict": "npc_kg.patient",
    "query": "npc_kg.kg.query",
    "xrefs": "npc_kg.kg.xrefs",
    "reason": "npc_kg.kg.reason",
    "assess_cohort": "npc_kg.cohort",
    "synth": "npc_kg.cohort.synth",
}

__all__ = sorted([*_API, "__version__"])

if TYPE_CHECKING:  # pragma: no cover
    from npc_kg.assessment.assess import Assessment, CriterionRow, assess
    from npc_kg.cohort import assess_cohort
    from npc_kg.cohort.synth import synth
    from npc_kg.kg.export import export
    from npc_kg.kg.info import info
    from npc_kg.kg.load import load
    from npc_kg.kg.query import query
    from npc_kg.kg.reason import reason
    from npc_kg.kg.xrefs import xrefs
    from npc_kg.patient import patient_from_dict


def __getattr__(name: str) -> Any:
    module = _API.get(name)
    if module is None:
        raise AttributeError(f"module 'npc_kg' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
