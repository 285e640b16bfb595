"""Build the ODK-style MONDO import, ``ontology/imports/mondo_import.ttl``, from a MONDO release file.

Method (what ODK's "base" import extraction keeps, done with rdflib, no network):

1. Seeds: the CURIEs of ``ontology/imports/mondo_terms.txt`` (one per line, ``#`` comments).
2. Module: every seed and all its ancestors over named ``rdfs:subClassOf`` edges (the upward
   closure; no siblings, no descendants that are not seeds).
3. Axioms and annotations kept for each class of the module: ``rdf:type owl:Class``,
   named ``rdfs:subClassOf``, ``rdfs:label``, the definition (``IAO:0000115``), oboInOwl synonyms,
   ``oboInOwl:hasDbXref`` and ``oboInOwl:id``, and the SKOS mapping triples
   (``skos:exactMatch``, ``closeMatch``, ``broadMatch``, ``narrowMatch``, ``relatedMatch``).
   Everything else (comments, private annotations of the source file) is left out.
4. Header: ontology IRI :data:`npc_kg.namespace.MONDO_IMPORT_IRI`, an ``owl:versionIRI`` and
   ``owl:versionInfo`` from the source version (the IRI ends with the first date in it),
   ``dcterms:source`` (the source file's name and version), the MONDO licence (CC BY 4.0) and
   attribution.

The source may be Turtle (``.ttl``), RDF/XML (``.owl``/``.rdf``) or N-Triples; it is parsed
with :func:`npc_kg.rdfio.parse_file` (no entity expansion, nothing fetched). The output is
written atomically; the source is never overwritten.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from rdflib import OWL, RDF, RDFS, Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, SKOS

from npc_kg.atomic import atomic_write_text
from npc_kg.errors import InputError
from npc_kg.kg.prefixes import expand, prefix_map
from npc_kg.kg.turtle import turtle_text
from npc_kg.namespace import CC_BY_4, MONDO_IMPORT_IRI, OBO, OIO
from npc_kg.rdfio import parse_file
from npc_kg.resources import data_path

__all__ = ["KEPT_PREDICATES", "MondoImport", "build_mondo_import", "read_seeds", "write_mondo_import"]

KEPT_PREDICATES = (
    RDFS.label,
    OBO.IAO_0000115,
    OIO.hasExactSynonym,
    OIO.hasRelatedSynonym,
    OIO.hasBroadSynonym,
    OIO.hasNarrowSynonym,
    OIO.hasDbXref,
    OIO.id,
    SKOS.exactMatch,
    SKOS.closeMatch,
    SKOS.broadMatch,
    SKOS.narrowMatch,
    SKOS.relatedMatch,
)
"""Annotations copied for every class of the module (with named ``rdfs:subClassOf``)."""

_ATTRIBUTION = "Mondo Disease Ontology, Monarch Initiative (CC BY 4.0; its mapping files are CC0 1.0)."


@dataclass(frozen=True)
class MondoImport:
    """The extracted import: its graph, the seeds and the classes of the module."""

    graph: Graph
    seeds: tuple[URIRef, ...]
    classes: tuple[URIRef, ...]


def read_seeds(path: str | os.PathLike[str] | None = None) -> list[URIRef]:
    """The seed classes of ``mondo_terms.txt`` (default ``ontology/imports/mondo_terms.txt``)."""
    file = Path(path) if path is not None else data_path("ontology", "imports", "mondo_terms.txt")
    try:
        lines = file.read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise InputError(error.strerror or str(error), path=str(file)) from None
    seeds = []
    for number, line in enumerate(lines, start=1):
        text = line.split("#", 1)[0].strip()
        if not text:
            continue
        try:
            seeds.append(URIRef(expand(text)))
        except InputError as error:
            raise InputError(f"not a seed CURIE: {error}", path=str(file), line=number) from None
    if not seeds:
        raise InputError("no seed term", path=str(file))
    return seeds


def _ancestors(source: Graph, seeds: Iterable[URIRef]) -> list[URIRef]:
    """The seeds and every named class above them (rdfs:subClassOf, transitively)."""
    found = {c for seed in seeds for c in source.transitive_objects(seed, RDFS.subClassOf) if isinstance(c, URIRef)}
    return sorted(found, key=str)


def build_mondo_import(source: Graph, seeds: list[URIRef], *, source_name: str, source_version: str) -> MondoImport:
    """Extract the import module of ``seeds`` (see the module docstring) from the ``source`` graph."""
    missing = [s for s in seeds if (s, RDF.type, OWL.Class) not in source and (s, RDFS.label, None) not in source]
    if missing:
        raise InputError(f"seed class(es) not in the source: {', '.join(str(m) for m in missing)}", path=source_name)
    classes = _ancestors(source, seeds)
    out = Graph()
    for prefix, iri in (("MONDO", prefix_map()["MONDO"]), ("oio", str(OIO)), ("skos", str(SKOS)), ("dcterms", str(DCTERMS))):
        out.bind(prefix, iri, override=True)
    dated = re.search(r"\d{4}-\d{2}-\d{2}", source_version)
    version = dated.group(0) if dated else re.sub(r"[^A-Za-z0-9._-]+", "-", source_version).strip("-") or "unversioned"
    header = MONDO_IMPORT_IRI
    out.add((header, RDF.type, OWL.Ontology))
    out.add((header, OWL.versionIRI, URIRef(f"{MONDO_IMPORT_IRI}/{version}")))
    out.add((header, OWL.versionInfo, Literal(source_version)))
    out.add((header, RDFS.label, Literal("npc-kg MONDO import", lang="en")))
    out.add((header, DCTERMS.source, Literal(f"{source_name} ({source_version})")))
    out.add((header, DCTERMS.license, CC_BY_4))
    out.add((header, DCTERMS.rights, Literal(_ATTRIBUTION)))
    definition = "The MONDO module npc-kg imports: its seed classes and their ancestors."
    out.add((header, SKOS.definition, Literal(definition, lang="en")))
    out.add((header, DCTERMS.description, Literal(
        "ODK-style import of the MONDO classes npc-kg uses (ontology/imports/mondo_terms.txt) and all their "
        "MONDO ancestors, with labels, definitions, synonyms, cross-references and SKOS mappings, extracted by "
        "npc-kg import-mondo.", lang="en")))  # fmt: skip
    for prop in (OIO.hasDbXref, OIO.hasExactSynonym, OIO.hasRelatedSynonym, OIO.hasBroadSynonym, OIO.hasNarrowSynonym,
                 OIO.id, OBO.IAO_0000115, DCTERMS.rights, DCTERMS.source):  # fmt: skip
        out.add((prop, RDF.type, OWL.AnnotationProperty))
    for cls in classes:
        out.add((cls, RDF.type, OWL.Class))
        for parent in source.objects(cls, RDFS.subClassOf):
            if isinstance(parent, URIRef):
                out.add((cls, RDFS.subClassOf, parent))
        for predicate in KEPT_PREDICATES:
            for value in source.objects(cls, predicate):
                out.add((cls, predicate, value))
    return MondoImport(graph=out, seeds=tuple(seeds), classes=tuple(classes))


def write_mondo_import(
    source: str | os.PathLike[str],
    output: str | os.PathLike[str],
    *,
    terms: str | os.PathLike[str] | None = None,
    source_version: str,
) -> MondoImport:
    """Read ``source`` (a MONDO release or slice), extract the module of ``terms``, write Turtle to ``output``."""
    source_path = Path(source)
    graph = parse_file(source_path)
    result = build_mondo_import(graph, read_seeds(terms), source_name=source_path.name, source_version=source_version)
    text = turtle_text(result.graph)
    banner = (
        "# npc-kg MONDO import: generated by `npc-kg import-mondo`, do not edit by hand (see docs/linking.md).\n"
        f"# Source: {source_path.name} ({source_version}). Licence: CC BY 4.0. Attribution: {_ATTRIBUTION}\n"
        f"# Seeds: {len(result.seeds)}; classes (seeds and all their ancestors): {len(result.classes)}.\n\n"
    )
    atomic_write_text(output, banner + text, inputs=[source_path])
    return result
