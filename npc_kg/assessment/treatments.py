"""The treatments that can be assessed, as the service and the reports name them.

Which treatments have criteria is the core's rule (:meth:`npc_kg.shacl.engines.Engines.treatments`);
this module adds the CDS Hooks service id and the label. A new treatment is a new set of criteria
in the data, not code.
"""

from __future__ import annotations

import re

from rdflib import RDFS, URIRef

__all__ = ["default_treatment", "service_id", "treatments"]


def treatments() -> list[str]:
    """IRIs of the treatments whose criteria the active configuration's shapes implement, sorted (the core's list)."""
    from npc_kg.shacl.engines import engines_for

    return engines_for().treatments()


def default_treatment() -> str:
    """The one treatment the shapes implement criteria of (the core's rule; an error names the choices)."""
    from npc_kg.shacl.engines import engines_for

    return str(engines_for().treatment(None))


def service_id(treatment: str) -> str:
    """A CDS Hooks service id for ``treatment``: ``npc-kg-`` and its local name in kebab case."""
    local = re.split(r"[/#]", treatment.rstrip("/"))[-1]
    return "npc-kg-" + re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "-", local).lower()


def label(treatment: str) -> str:
    """The treatment's label."""
    from npc_kg.kg.load import load

    found = load().value(URIRef(treatment), RDFS.label)
    return str(found) if found is not None else treatment
