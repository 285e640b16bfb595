"""Summary counts of the knowledge graph, as shown by ``npc-kg info``."""

from __future__ import annotations

from rdflib import OWL, RDF, RDFS, Graph

from npc_kg import __version__
from npc_kg.kg.load import load
from npc_kg.namespace import NPC, ONTOLOGY_IRI

__all__ = ["info"]


def _count_instances(graph: Graph, cls: object) -> int:
    classes = set(graph.transitive_subjects(RDFS.subClassOf, cls))  # type: ignore[arg-type]
    return len({s for c in classes for s in graph.subjects(RDF.type, c)})


def info(graph: Graph | None = None) -> dict[str, object]:
    """Return the version, ontology version IRI and counts of classes, criteria, figures and sources."""
    graph = graph if graph is not None else load()
    version_iri = graph.value(ONTOLOGY_IRI, OWL.versionIRI)
    return {
        "version": __version__,
        "ontology_version": str(version_iri) if version_iri is not None else None,
        "triples": len(graph),
        "classes": len(set(graph.subjects(RDF.type, OWL.Class)) - {OWL.Nothing}),
        "criteria": _count_instances(graph, NPC.EligibilityCriterion),
        "figures": _count_instances(graph, NPC.EvidenceFigure),
        "associations": _count_instances(graph, NPC.PrognosticAssociation),
        "statements": _count_instances(graph, NPC.Statement),
        "sources": _count_instances(graph, NPC.Source),
    }
