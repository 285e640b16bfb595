"""Rank an assessment's evidence: the patient's own situation first, then the weight of the source.

The rule uses only properties of the knowledge base:

1. figures before statements;
2. figures whose population needs more of the patient's conditions first (``npc:condition`` of
   the population and of the populations it is a subgroup of, counted by
   ``queries/population-conditions.rq``): every figure an assessment lists is about a
   population the patient belongs to, so the more conditions it needs, the closer it is to
   the patient's own situation;
3. then the source's evidence weight, highest first (``npc:sourceType`` ->
   ``npc:evidenceWeight`` -> ``npc:weightRank``: a peer-reviewed cohort study before a
   hospital web page);
4. then the label, for a stable order.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from typing import Any

from rdflib import Literal, URIRef

from npc_kg.namespace import NPC

__all__ = ["population_conditions", "rank_evidence", "source_weight"]

_LOCK = threading.Lock()
_CONDITIONS: dict[str, int] = {}


def population_conditions() -> dict[str, int]:
    """Population IRI -> the number of conditions a patient needs to belong to it (cached)."""
    with _LOCK:
        if not _CONDITIONS:
            from npc_kg.assessment.records import named_rows, store_for

            for row in named_rows("population-conditions", store_for(None)):
                value = row["conditions"]
                _CONDITIONS[str(row["population"])] = int(value.toPython()) if isinstance(value, Literal) else 0
        return dict(_CONDITIONS)


def source_weight(source_type: Any) -> int:
    """The ``npc:weightRank`` of a source type's evidence weight (0 if none)."""
    if not source_type:
        return 0
    from npc_kg.kg.load import load

    kg = load()
    weight = kg.value(URIRef(str(source_type)), NPC.evidenceWeight)
    rank = kg.value(weight, NPC.weightRank) if weight is not None else None
    return int(rank.toPython()) if isinstance(rank, Literal) else 0


def _key(item: Mapping[str, Any], conditions: Mapping[str, int]) -> tuple[Any, ...]:
    if item.get("type") == "figure":
        weight = item.get("weight_rank")
        weight = weight if isinstance(weight, int) else source_weight(item.get("source_type"))
        return (0, -conditions.get(str(item.get("population")), 0), -weight, str(item.get("label") or ""))
    return (1, 0, -source_weight(item.get("source_type")), str(item.get("label") or ""))


def rank_evidence(evidence: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The evidence entries (``Assessment.evidence``) in report order, each with its ``rank_conditions``."""
    conditions = population_conditions()
    items = [dict(item) for item in evidence]
    for item in items:
        if item.get("type") == "figure":
            item["rank_conditions"] = conditions.get(str(item.get("population")), 0)
    return sorted(items, key=lambda item: _key(item, conditions))
