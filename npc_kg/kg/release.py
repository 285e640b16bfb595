"""ODK-style release artefacts: ``npc-kg release -o DIR [--previous DIR]``.

Three artefacts, each in Turtle (``.ttl``), OWL RDF/XML (``.owl``, owlready2) and OWL functional
syntax (``.ofn``, the OWL API), each with its own ontology IRI and version IRI
(``<BASE>releases/<version>/<artefact>``, with :data:`npc_kg.namespace.BASE`):

- ``npc-kg-base``: npc-kg's own axioms, the ontology and the knowledge base, without the
  imported MONDO module and without ``owl:imports`` (ODK's "base");
- ``npc-kg-full``: the ontology, its imports and the knowledge base merged, classified by HermiT
  (through owlready2, as ``npc-kg reason`` does): the inferred direct named superclasses and
  equivalences are added;
- ``npc-kg-simple``: the classes of the full release with only named ``rdfs:subClassOf`` links
  (asserted and inferred) and their annotations: no individuals, no class expressions, no blank
  nodes (ODK's "simple").

``release-notes.md`` says what the release is and, given ``--previous`` (the folder of an
earlier release), what changed in the full release: classes, individuals and mappings added or
removed, and changed labels. The first release has no "changes" section. ``release.json`` lists
the files with their SHA-256. The output folder must be new or empty; it is written atomically.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from rdflib import OWL, RDF, RDFS, BNode, Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, PROV, SKOS

from npc_kg.errors import InputError
from npc_kg.kg.folders import new_folder
from npc_kg.kg.load import ontology_files
from npc_kg.kg.prefixes import prefix_map, to_curie
from npc_kg.kg.turtle import turtle_text
from npc_kg.namespace import BASE, ONTOLOGY_IRI, PREFIXES
from npc_kg.rdfio import parse_file

__all__ = ["ARTEFACTS", "FORMATS", "Release", "build_release", "release", "release_notes"]

ARTEFACTS = ("npc-kg-base", "npc-kg-full", "npc-kg-simple")
FORMATS = ("ttl", "owl", "ofn")
_MAPPINGS = (SKOS.exactMatch, SKOS.closeMatch, SKOS.broadMatch, SKOS.narrowMatch, SKOS.relatedMatch)


@dataclass
class Release:
    """The three artefact graphs of a release and its version."""

    version: str
    graphs: dict[str, Graph] = field(default_factory=dict)


def _bind(graph: Graph) -> Graph:
    for prefix, iri in {**prefix_map(), **PREFIXES}.items():
        graph.bind(prefix, iri, override=True)
    return graph


def _retitle(graph: Graph, artefact: str, version: str) -> None:
    """Give the artefact its own ontology IRI and version IRI, keeping the ontology's header annotations."""
    iri = URIRef(f"{BASE}{artefact}")
    header = [(p, o) for p, o in graph.predicate_objects(ONTOLOGY_IRI) if p not in (OWL.versionIRI, OWL.imports)]
    for ontology in list(graph.subjects(RDF.type, OWL.Ontology)):
        graph.remove((ontology, None, None))
    for p, o in header:
        graph.add((iri, p, o))
    graph.add((iri, RDF.type, OWL.Ontology))
    graph.add((iri, OWL.versionIRI, URIRef(f"{BASE}releases/{version}/{artefact}")))
    graph.set((iri, OWL.versionInfo, Literal(version)))
    graph.add((iri, PROV.wasDerivedFrom, URIRef(f"{BASE}ontology/{version}")))


def _import_header(graph: Graph) -> list[tuple[URIRef, Literal | URIRef]]:
    """Attribution of the imports (licence, rights, source), kept on the full release's header."""
    kept = []
    for ontology in graph.subjects(RDF.type, OWL.Ontology):
        if ontology == ONTOLOGY_IRI:
            continue
        for predicate in (DCTERMS.source, DCTERMS.rights, OWL.versionIRI):
            for value in graph.objects(ontology, predicate):
                kept.append((DCTERMS.source if predicate == OWL.versionIRI else predicate, value))
    return kept  # type: ignore[return-value]


def build_release() -> Release:
    """Build the base, full (HermiT-classified) and simple graphs of the current ontology and knowledge base."""
    from npc_kg.kg.reason import reason, reasoning_graph

    ontology = parse_file(ontology_files()[0], "turtle", limited=False)
    version_node = next(iter(ontology.objects(ONTOLOGY_IRI, OWL.versionInfo)), None)
    version = str(version_node) if version_node is not None else "0+unknown"
    result = Release(version=version)

    base = _bind(Graph())
    for path in ontology_files():
        if path.parent.name != "imports":
            parse_file(path, "turtle", graph=base, limited=False)
    base.remove((None, OWL.imports, None))
    _retitle(base, "npc-kg-base", version)
    result.graphs["npc-kg-base"] = base

    full = _bind(Graph())
    for triple in reasoning_graph():
        full.add(triple)
    attribution = _import_header(full)
    report = reason()
    for sub, supers in report.hierarchy.items():
        for sup in supers:
            full.add((URIRef(sub), RDFS.subClassOf, URIRef(sup)))
    for cls, others in report.equivalents.items():
        for other in others:
            full.add((URIRef(cls), OWL.equivalentClass, URIRef(other)))
    _retitle(full, "npc-kg-full", version)
    for predicate, value in attribution:
        full.add((URIRef(f"{BASE}npc-kg-full"), predicate, value))
    result.graphs["npc-kg-full"] = full

    simple = _bind(Graph())
    classes = {c for c in full.subjects(RDF.type, OWL.Class) if isinstance(c, URIRef)}
    for cls in classes:
        for p, o in full.predicate_objects(cls):
            if isinstance(o, BNode) or (p == OWL.equivalentClass) or (p == RDFS.subClassOf and o not in classes):
                continue
            simple.add((cls, p, o))
    for prop_type in (OWL.AnnotationProperty, OWL.ObjectProperty, OWL.DatatypeProperty):
        for prop in full.subjects(RDF.type, prop_type):
            if isinstance(prop, URIRef):
                simple.add((prop, RDF.type, OWL.AnnotationProperty if prop_type == OWL.AnnotationProperty else prop_type))
                for label in full.objects(prop, RDFS.label):
                    simple.add((prop, RDFS.label, label))
    for p, o in full.predicate_objects(URIRef(f"{BASE}npc-kg-full")):
        simple.add((ONTOLOGY_IRI, p, o))
    simple.remove((ONTOLOGY_IRI, OWL.versionIRI, None))
    _retitle(simple, "npc-kg-simple", version)
    result.graphs["npc-kg-simple"] = simple
    return result


def _serialise(graph: Graph, fmt: str) -> bytes:
    if fmt == "ttl":
        return turtle_text(graph).encode("utf-8")
    if fmt == "owl":
        from npc_kg.exporters.owl import owl_rdfxml

        return owl_rdfxml(graph)
    from npc_kg.exporters.owlapi import owl_functional

    return owl_functional(graph)


_NOT_INDIVIDUALS = (OWL.Class, OWL.Ontology, OWL.ObjectProperty, OWL.DatatypeProperty, OWL.AnnotationProperty)


def _summary(graph: Graph) -> dict[str, set[str]]:
    labels = {f"{to_curie(s)}\t{o}" for s, o in graph.subject_objects(RDFS.label) if isinstance(s, URIRef)}
    individuals = set()
    for item in graph.subjects(RDF.type, None):
        own = isinstance(item, URIRef) and str(item).startswith(BASE)
        if own and not any((item, RDF.type, kind) in graph for kind in _NOT_INDIVIDUALS):
            individuals.add(to_curie(str(item)))
    mappings = {
        f"{to_curie(str(s))} {to_curie(p)} {to_curie(str(o))}"
        for p in _MAPPINGS
        for s, o in graph.subject_objects(p)
        if str(s).startswith(BASE)
    }
    return {
        "classes": {to_curie(c) for c in graph.subjects(RDF.type, OWL.Class) if isinstance(c, URIRef)},
        "individuals": individuals,
        "mappings": mappings,
        "labels": labels,
    }


def release_notes(current: Release, previous: Graph | None, previous_version: str | None, files: dict[str, str]) -> str:
    """The Markdown release note; a "Changes since" section only when a previous full release is given."""
    full = current.graphs["npc-kg-full"]
    lines = [
        f"# npc-kg {current.version}",
        "",
        f"Version IRI of the full release: {BASE}releases/{current.version}/npc-kg-full",
        "",
        "| artefact | what it holds | triples |",
        "|---|---|---:|",
        f"| npc-kg-base | npc-kg's own axioms (ontology and knowledge base), no imports | {len(current.graphs['npc-kg-base'])} |",
        f"| npc-kg-full | ontology, MONDO import and knowledge base, classified by HermiT | {len(full)} |",
        f"| npc-kg-simple | named classes, their named superclasses and annotations | {len(current.graphs['npc-kg-simple'])} |",
        "",
        "Each in Turtle (`.ttl`), OWL RDF/XML (`.owl`) and OWL functional syntax (`.ofn`); `release.json` has their SHA-256.",
        "",
    ]
    if previous is None:
        lines += ["This is the first release: there is no earlier release to compare with.", ""]
        return "\n".join(lines)
    now, before = _summary(full), _summary(previous)
    lines += [f"## Changes since {previous_version or 'the previous release'}", ""]
    changed = False
    for key, title in (("classes", "classes"), ("individuals", "knowledge-base individuals"), ("mappings", "mappings")):
        added, removed = sorted(now[key] - before[key]), sorted(before[key] - now[key])
        for verb, items in (("Added", added), ("Removed", removed)):
            if items:
                changed = True
                lines += [f"### {verb} {title} ({len(items)})", "", *[f"- `{item}`" for item in items], ""]
    old_labels = dict(line.split("\t", 1) for line in before["labels"])
    relabelled = sorted(
        f"`{term}`: \"{old_labels[term]}\" -> \"{label}\""
        for term, label in (line.split("\t", 1) for line in now["labels"] - before["labels"])
        if term in old_labels and term in now["classes"] | now["individuals"]
    )
    if relabelled:
        changed = True
        lines += [f"### Changed labels ({len(relabelled)})", "", *[f"- {item}" for item in relabelled], ""]
    if not changed:
        lines += ["No class, individual, mapping or label changed.", ""]
    return "\n".join(lines)


def _previous(folder: str | os.PathLike[str]) -> tuple[Graph, str | None]:
    path = Path(folder) / "npc-kg-full.ttl"
    if not path.is_file():
        raise InputError("not a release folder: npc-kg-full.ttl is missing", path=str(folder))
    graph = parse_file(path, "turtle", limited=False)
    version = graph.value(URIRef(f"{BASE}npc-kg-full"), OWL.versionInfo)
    return graph, str(version) if version is not None else None


def release(output: str | os.PathLike[str], *, previous: str | os.PathLike[str] | None = None) -> Path:
    """Write the release artefacts, ``release-notes.md`` and ``release.json`` into the new or empty folder ``output``."""
    before = _previous(previous) if previous is not None else (None, None)
    current = build_release()
    files: dict[str, str] = {}
    with new_folder(output) as work:
        for artefact in ARTEFACTS:
            for fmt in FORMATS:
                data = _serialise(current.graphs[artefact], fmt)
                name = f"{artefact}.{fmt}"
                (work / name).write_bytes(data)
                files[name] = hashlib.sha256(data).hexdigest()
        notes = release_notes(current, before[0], before[1], files)
        (work / "release-notes.md").write_text(notes, encoding="utf-8")
        manifest = {"version": current.version, "previous": before[1], "files": files}
        (work / "release.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return Path(output)
