"""Cohort screening: stream many patients through the compiled eligibility shapes.

``assess_cohort(inputs, out)`` (:mod:`npc_kg.cohort.screen`) reads N-Triples, N-Quads, Turtle or
CSV in batches (:mod:`npc_kg.cohort.reader`), assesses each batch (:mod:`npc_kg.cohort.evaluate`),
writes one row per patient (:mod:`npc_kg.cohort.writer`) and returns the attrition table.
``synth`` (:mod:`npc_kg.cohort.synth`) writes synthetic cohorts. See ``docs/cohort.md``.

The package itself imports nothing: its modules are loaded when used, so the closure evaluator
can use the reader's C accelerator without loading the cohort runner.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__all__ = ["CohortSummary", "assess_batch", "assess_cohort"]

_EXPORTS = {"CohortSummary": "npc_kg.cohort.screen", "assess_cohort": "npc_kg.cohort.screen",
            "assess_batch": "npc_kg.cohort.evaluate"}

if TYPE_CHECKING:  # pragma: no cover
    from npc_kg.cohort.evaluate import assess_batch
    from npc_kg.cohort.screen import CohortSummary, assess_cohort


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'npc_kg.cohort' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
