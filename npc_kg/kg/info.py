"""Summary counts of the knowledge graph, its criteria packs and treatments, as shown by ``npc-kg info``."""

from __future__ import annotations

from collections.abc import Iterable

from rdflib import OWL, RDF, RDFS, Graph, URIRef

from npc_kg import __version__
from npc_kg.errors import InputError
from npc_kg.kg.load import load
from npc_kg.kg.packs import PackInput, resolve_packs, using_packs
from npc_kg.namespace import NPC, ONTOLOGY_IRI

__all__ = ["info"]


def _count_instances(graph: Graph, cls: object) -> int:
    classes = set(graph.transitive_subjects(RDFS.subClassOf, cls))  # type: ignore[arg-type]
    return len({s for c in classes for s in graph.subjects(RDF.type, c)})


def info(graph: Graph | None = None, *, packs: Iterable[PackInput] | None = None) -> dict[str, object]:
    """Return the version, ontology version IRI, counts of classes, criteria, figures and sources, the
    loaded criteria packs and the treatments whose criteria their shapes implement.

    ``packs`` are criteria-pack folders loaded beside the package's (``docs/packs.md``).
    """
    if graph is not None and not isinstance(graph, Graph):
        raise InputError(f"info() takes an rdflib Graph (or nothing: the knowledge graph), not {type(graph).__name__}")
    with using_packs(packs):
        chosen = resolve_packs(None)
        graph = graph if graph is not None else load()
        version_iri = graph.value(ONTOLOGY_IRI, OWL.versionIRI)
        from npc_kg.shacl.engines import engines_for

        treatments = engines_for().treatments()
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
        "packs": [{"iri": pack.iri, "label": pack.label, "version": pack.version, "licence": pack.licence,
                   "treatments": list(pack.treatments), "folder": str(pack.folder), "builtin": pack.builtin}
                  for pack in chosen],
        "treatments": [{"iri": t, "label": str(graph.value(URIRef(t), RDFS.label) or t)} for t in treatments],
    }
