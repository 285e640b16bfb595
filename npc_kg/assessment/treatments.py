"""The treatments the knowledge base has eligibility criteria for (read from the data).

Each treatment that some ``npc:EligibilityCriterion`` ``npc:appliesToTreatment`` is assessable;
the service lists one CDS Hooks service per treatment and cohort outputs name the treatment
their criteria apply to. A new treatment is a new set of criteria in the data, not code.
"""

from __future__ import annotations

import re

from rdflib import RDF, RDFS, URIRef

from npc_kg.namespace import NPC

__all__ = ["default_treatment", "service_id", "treatments"]


def treatments() -> list[str]:
    """IRIs of the treatments that criteria of the knowledge base apply to, sorted."""
    from npc_kg.kg.load import load

    kg = load()
    found = {str(t) for c in kg.subjects(RDF.type, NPC.EligibilityCriterion) for t in kg.objects(c, NPC.appliesToTreatment)
             if isinstance(t, URIRef)}
    return sorted(found)


def default_treatment() -> str:
    """The first treatment with criteria (the only one while the knowledge base has one)."""
    found = treatments()
    if not found:
        from npc_kg.errors import NpcKgError

        raise NpcKgError("the knowledge base has no eligibility criteria for any treatment")
    return found[0]


def service_id(treatment: str) -> str:
    """A CDS Hooks service id for ``treatment``: ``npc-kg-`` and its local name in kebab case."""
    local = re.split(r"[/#]", treatment.rstrip("/"))[-1]
    return "npc-kg-" + re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "-", local).lower()


def label(treatment: str) -> str:
    """The treatment's label."""
    from npc_kg.kg.load import load

    found = load().value(URIRef(treatment), RDFS.label)
    return str(found) if found is not None else treatment
