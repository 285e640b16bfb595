"""The range of outcomes: the verdict if every missing item were recorded absent, and if present.

Each missing finding class gets one new record in a copy of the patient graph, recorded
``npc:Absent`` (or ``npc:Present``), and the copy is assessed again through the public API. No
criterion is known here: the data decides. Recording data can make other data necessary (a
present local recurrence makes indication 2 ask for skull-base and cranial-nerve records), so
each outcome also lists what would then still be missing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from rdflib import RDF, BNode, Graph, URIRef

from npc_kg.namespace import NPC

__all__ = ["Outcome", "OutcomeRange", "outcome_range"]


@dataclass(frozen=True)
class Outcome:
    """The verdict after recording every missing item with one status."""

    status: str
    """``absent`` or ``present``."""
    verdict: str
    still_missing: tuple[str, ...]


@dataclass(frozen=True)
class OutcomeRange:
    """The verdicts if every missing item were recorded absent, and if every one were present."""

    if_absent: Outcome
    if_present: Outcome

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready dict."""
        return {o.status: {"verdict": o.verdict, "still_missing": list(o.still_missing)}
                for o in (self.if_absent, self.if_present)}


def _with_records(graph: Graph, patient: str, missing: tuple[str, ...], status: URIRef) -> Graph:
    copy = Graph()
    for triple in graph:
        copy.add(triple)
    for finding in missing:
        record = BNode()
        copy.add((URIRef(patient), NPC.hasFinding, record))
        copy.add((record, RDF.type, URIRef(finding)))
        copy.add((record, NPC.findingStatus, status))
    return copy


def outcome_range(graph: Graph, patient: str, treatment: str, missing: tuple[str, ...], *,
                  reassess: Callable[[Graph], Sequence[Any]] | None = None) -> OutcomeRange | None:
    """The outcome range of ``patient`` in ``graph`` (None when nothing is missing).

    ``reassess(graph)`` assesses a copy with the missing records (default: ``npc_kg.assess`` for
    ``treatment``; an assessment's own :meth:`~npc_kg.assessment.assess.Assessment.reassess` keeps
    its configuration, e.g. the bridges of narrower FHIR codes).
    """
    if not missing:
        return None
    if reassess is None:
        import npc_kg  # the public API (no import cycle with the assessment module)

        def reassess(copy: Graph) -> Sequence[Any]:
            return npc_kg.assess(copy, treatment)

    outcomes = []
    for word, status in (("absent", NPC.Absent), ("present", NPC.Present)):
        results = reassess(_with_records(graph, patient, missing, status))
        [mine] = [a for a in results if a.patient == patient]
        outcomes.append(Outcome(word, mine.verdict, tuple(mine.missing)))
    return OutcomeRange(outcomes[0], outcomes[1])
