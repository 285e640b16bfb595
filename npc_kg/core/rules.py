"""The rows of a cohort run: criteria (from the knowledge base), one row per patient, the verdict rule.

Kept apart from the engines so the local engine and the writers load without the SPARQL compiler.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from rdflib import RDFS, Graph, Literal, URIRef
from rdflib.term import Node

from npc_kg.namespace import NPC

__all__ = [
    "ELIGIBLE",
    "ERROR",
    "INDETERMINATE",
    "INELIGIBLE",
    "OUT_OF_SCOPE",
    "ROW_VERDICTS",
    "SATISFIED",
    "STATUSES",
    "UNKNOWN",
    "VERDICTS",
    "VIOLATED",
    "Criterion",
    "PatientRow",
    "criteria_of",
    "verdict_of",
]

SATISFIED, VIOLATED, UNKNOWN = "satisfied", "violated", "unknown"
STATUSES = (SATISFIED, VIOLATED, UNKNOWN)
"""The three values of a criterion for a patient."""

ELIGIBLE, INELIGIBLE, INDETERMINATE = "eligible", "ineligible", "indeterminate"
OUT_OF_SCOPE = "out-of-scope"
"""The input shows that the treatment's disease is not recorded for the patient: no verdict on eligibility."""
ERROR = "error"
"""A cohort record that could not be read or breaks the patient model."""
VERDICTS = (ELIGIBLE, INELIGIBLE, INDETERMINATE, OUT_OF_SCOPE)
"""The outcomes of an assessment."""
ROW_VERDICTS = (*VERDICTS, ERROR)
"""The values of a cohort row's ``verdict`` column."""


@dataclass(frozen=True)
class Criterion:
    """A criterion as read from the knowledge base: IRI, column name, label, kind and ordinal."""

    iri: str
    name: str
    label: str
    kind: str
    ordinal: int


@dataclass
class PatientRow:
    """One output row: the patient, its verdict, one status per criterion, and an error reason."""

    patient: str
    verdict: str
    statuses: dict[str, str] = field(default_factory=dict)
    error: str = ""
    source_id: str = ""
    """The patient's id in the source system (registry id, FHIR Patient id); empty if unknown."""


def verdict_of(statuses: Mapping[str, str]) -> str:
    """The three-valued verdict of a set of criterion statuses."""
    values = set(statuses.values())
    if "violated" in values:
        return "ineligible"
    if "unknown" in values:
        return "indeterminate"
    return "eligible"


def _kind_rank(kind: Node | None) -> int:
    return {NPC.Indication: 0, NPC.Contraindication: 1}.get(kind, 2)  # type: ignore[call-overload]


def criteria_of(kb: Graph, shapes: Graph) -> list[Criterion]:
    """The criteria of salvage surgery in the KB (as ``npc_kg.assessment.assess.criteria_for``), by kind then ordinal.

    With a custom shapes graph (tests), the criteria named by its shapes (``npc:criterion``).
    """
    from npc_kg.shacl.shapes import shapes_graph

    if shapes is shapes_graph():
        from npc_kg.assessment.assess import criteria_for

        return [Criterion(str(c.iri), str(c.iri).rstrip("/").rsplit("/", 1)[-1], c.label, c.kind, c.ordinal)
                for c in criteria_for()]
    iris = {o for o in shapes.objects(None, NPC.criterion) if isinstance(o, URIRef)}
    out = []
    for iri in iris:
        kind = kb.value(iri, NPC.criterionKind)
        ordinal = kb.value(iri, NPC.ordinal)
        label = kb.value(iri, RDFS.label)
        local = str(iri).rstrip("/").rsplit("/", 1)[-1].rsplit("#", 1)[-1]
        out.append((
            _kind_rank(kind),
            int(ordinal.toPython()) if isinstance(ordinal, Literal) else 10**6,
            str(iri),
            Criterion(str(iri), local, str(label) if label is not None else local,
                      str(kind).rsplit("/", 1)[-1].lower() if kind is not None else "",
                      int(ordinal.toPython()) if isinstance(ordinal, Literal) else 0),
        ))
    return [item[-1] for item in sorted(out, key=lambda t: t[:3])]
