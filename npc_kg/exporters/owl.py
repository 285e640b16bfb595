"""OWL export for Protégé: RDF/XML written by owlready2.

The merged graph is handed to owlready2 as N-Triples built in memory (never a file path or a
URL), in a private ``World`` with ``only_local=True``; ``owl:imports`` triples, the ``owl:Ontology``
type of merged imports (see :func:`safe_ntriples`) and owlready2's own annotations
(``python_module``) are removed first, so loading can neither reach the network nor
import Python code. owlready2 then writes RDF/XML, which Protégé opens.

The output is the same RDF graph as the input up to two rewrites that keep every value:
owlready2 writes plain string literals with an explicit ``^^xsd:string`` datatype (the same term
in RDF 1.1) and writes ``xsd:decimal`` values in canonical form (``0.70`` becomes ``0.7``).
``tests/linking/test_roundtrip.py`` checks isomorphism after normalising exactly these two.

:func:`safe_ntriples` is also what the OWL API reads for the ``ofn`` and ``owx`` exports
(:mod:`npc_kg.exporters.owlapi`).
"""

from __future__ import annotations

import io
from pathlib import Path

import owlready2
from rdflib import Graph, URIRef
from rdflib.namespace import OWL, RDF

from npc_kg.atomic import atomic_write_bytes
from npc_kg.exporters.registry import register_exporter
from npc_kg.kg.load import graph_files
from npc_kg.namespace import ONTOLOGY_IRI, OWLREADY

__all__ = ["main_ontology", "owl_rdfxml", "safe_ntriples", "write_owl"]


def main_ontology(graph: Graph) -> URIRef:
    """The ontology a graph is: npc-kg's own (:data:`ONTOLOGY_IRI`) if it has that header, else its only header
    (a release artefact such as ``npc-kg-base``); the other headers are merged imports."""
    headers = [o for o in graph.subjects(RDF.type, OWL.Ontology) if isinstance(o, URIRef)]
    if ONTOLOGY_IRI in headers or len(headers) != 1:
        return ONTOLOGY_IRI
    return headers[0]


def safe_ntriples(graph: Graph) -> bytes:
    """Return ``graph`` as N-Triples without ``owl:imports`` and owlready2 annotations (nothing to fetch or run).

    The merged graph holds its imports (the MONDO import) already, so it is written as one
    ontology: only npc-kg's own header stays typed ``owl:Ontology``. An import's header keeps its
    annotations (licence, rights, source, ``owl:versionInfo``) as annotations of its IRI, so the
    attribution travels with the export; its ``owl:versionIRI`` (ontology syntax, which OWL tools
    drop from a non-ontology) is left out.
    """
    merged = set(graph.subjects(RDF.type, OWL.Ontology)) - {main_ontology(graph)}
    safe = Graph(bind_namespaces="none")
    for triple in graph:
        if triple[1] == OWL.imports or str(triple[1]).startswith(str(OWLREADY)):
            continue
        header = triple[0] in merged and ((triple[1], triple[2]) == (RDF.type, OWL.Ontology) or triple[1] == OWL.versionIRI)
        if header:  # a merged import's header: its version stays as owl:versionInfo
            continue
        safe.add(triple)
    return safe.serialize(format="nt", encoding="utf-8")


def owl_rdfxml(graph: Graph) -> bytes:
    """Return ``graph`` as OWL RDF/XML written by owlready2 (no imports followed)."""
    world = owlready2.World()
    try:
        data = safe_ntriples(graph)
        iri = str(main_ontology(graph))
        ontology = world.get_ontology(iri).load(fileobj=io.BytesIO(data), format="ntriples", only_local=True)
        buffer = io.BytesIO()
        ontology.save(buffer, format="rdfxml")
        return buffer.getvalue()
    finally:
        world.close()


@register_exporter("owl")
def write_owl(graph: Graph, path: Path) -> None:
    """Write ``graph`` as OWL RDF/XML to ``path`` atomically."""
    atomic_write_bytes(path, owl_rdfxml(graph), inputs=graph_files())
