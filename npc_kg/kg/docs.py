"""Static HTML documentation of the ontology and the knowledge base: ``npc-kg docs -o DIR``.

One page, ``index.html`` (with ``style.css``), rendered with Jinja2 from the templates in
``npc_kg/templates/docs/`` (autoescaped): the ontology header and version IRI, the MONDO
placement of npc-kg's disease classes (the equivalent MONDO class, its parents and all its
ancestors from the MONDO import), every npc-kg class (definition, superclasses, equivalents,
mappings, what a treatment treats), every property, the criteria, evidence figures, prognostic
associations and statements (their facts, verbatim quotes with their source, text issues and
editorial notes), the value individuals and the SSSOM mappings. pyLODE cannot serve here (3.4.1
crashes at import on Python 3.11; 3.6 needs 3.12). Nothing in the page is fetched from the
network. The output folder must be new or empty; it is written atomically.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from rdflib import OWL, RDF, RDFS, Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, PROV, SKOS
from rdflib.term import Node

from npc_kg.kg.folders import new_folder
from npc_kg.kg.prefixes import to_curie
from npc_kg.namespace import BASE, BIOLINK, KB, NPC, OA, ONTOLOGY_IRI

__all__ = ["build_docs", "docs_context", "render_docs"]

_TEMPLATES = Path(__file__).resolve().parent.parent / "templates" / "docs"
_ITEM_SKIP = {RDF.type, RDFS.label, SKOS.definition, PROV.wasDerivedFrom, NPC.textIssue, SKOS.editorialNote}
_TREATS = BIOLINK.treats


def _anchor(iri: Node) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "-", to_curie(str(iri))).strip("-")


def _label(graph: Graph, node: Node) -> str:
    labels = sorted(str(v) for v in graph.objects(node, RDFS.label))  # type: ignore[arg-type]
    return labels[0] if labels else ""


def _first(graph: Graph, node: Node, predicate: URIRef) -> str:
    values = sorted(str(v) for v in graph.objects(node, predicate))  # type: ignore[arg-type]
    return values[0] if values else ""


def _own(node: Node) -> bool:
    return isinstance(node, URIRef) and str(node).startswith(BASE)


def _sorted_iris(nodes: Any) -> list[URIRef]:
    return sorted((n for n in nodes if isinstance(n, URIRef)), key=str)


def _ref(graph: Graph, node: Node, local: set[Node]) -> dict[str, str]:
    return {"curie": to_curie(str(node)), "label": _label(graph, node), "anchor": _anchor(node) if node in local else ""}


def _render_value(graph: Graph, value: Node) -> str:
    if isinstance(value, URIRef):
        label = _label(graph, value)
        return f"{label} ({to_curie(str(value))})" if label else to_curie(str(value))
    if isinstance(value, Literal):
        return str(value)
    return ""


def _item(graph: Graph, item: URIRef) -> dict[str, Any]:
    facts: dict[str, list[str]] = {}
    for predicate, value in graph.predicate_objects(item):
        if predicate in _ITEM_SKIP:
            continue
        key = _label(graph, predicate) or to_curie(str(predicate))
        facts.setdefault(key, []).append(_render_value(graph, value))
    quotes = []
    for resource in graph.objects(item, PROV.wasDerivedFrom):
        source = graph.value(resource, OA.hasSource)
        for selector in graph.objects(resource, OA.hasSelector):
            for exact in graph.objects(selector, OA.exact):
                label = _label(graph, source) if source is not None else ""
                quotes.append({"text": str(exact), "source": to_curie(str(source)), "source_label": label})
    return {
        "curie": to_curie(str(item)),
        "anchor": _anchor(item),
        "label": _label(graph, item),
        "definition": _first(graph, item, SKOS.definition),
        "facts": sorted((key, ", ".join(sorted(values))) for key, values in facts.items()),
        "quotes": sorted(quotes, key=lambda q: q["text"]),
        "issues": sorted(_render_value(graph, v) for v in graph.objects(item, NPC.textIssue)),
        "notes": sorted(str(v) for v in graph.objects(item, SKOS.editorialNote)),
    }


def _mappings(graph: Graph, cls: URIRef) -> list[dict[str, str]]:
    rows = [
        {"predicate": to_curie(str(p)), "object": to_curie(str(o))}
        for p in (SKOS.exactMatch, SKOS.closeMatch, SKOS.broadMatch, SKOS.narrowMatch)
        for o in graph.objects(cls, p)
    ]
    return sorted(rows, key=lambda m: (m["predicate"], m["object"]))


def _class(graph: Graph, cls: URIRef, local: set[Node]) -> dict[str, Any]:
    return {
        "curie": to_curie(str(cls)),
        "anchor": _anchor(cls),
        "label": _label(graph, cls),
        "definition": _first(graph, cls, SKOS.definition),
        "alt_labels": sorted(str(v) for v in graph.objects(cls, SKOS.altLabel)),
        "parents": [_ref(graph, p, local) for p in _sorted_iris(graph.objects(cls, RDFS.subClassOf))],
        "equivalents": [_ref(graph, e, local) for e in _sorted_iris(graph.objects(cls, OWL.equivalentClass))],
        "mappings": _mappings(graph, cls),
        "treats": [_ref(graph, t, local) for t in _sorted_iris(graph.objects(cls, _TREATS))],
        "notes": sorted(str(v) for v in graph.objects(cls, SKOS.editorialNote)),
    }


def _placement(graph: Graph, cls: URIRef, target: URIRef) -> dict[str, Any]:
    ancestors = {a for a in graph.transitive_objects(target, RDFS.subClassOf) if isinstance(a, URIRef)} - {target}
    return {
        "term": to_curie(str(cls)),
        "anchor": _anchor(cls),
        "label": _label(graph, cls),
        "mondo": to_curie(str(target)),
        "mondo_label": _label(graph, target),
        "parents": [_ref(graph, p, set()) for p in _sorted_iris(graph.objects(target, RDFS.subClassOf))],
        "ancestors": sorted((_ref(graph, a, set()) for a in ancestors), key=lambda r: r["curie"]),
    }


def _property(graph: Graph, prop: URIRef, kind: str) -> dict[str, str]:
    return {
        "curie": to_curie(str(prop)),
        "anchor": _anchor(prop),
        "kind": kind,
        "label": _label(graph, prop),
        "definition": _first(graph, prop, SKOS.definition),
        "domain": ", ".join(to_curie(str(d)) for d in graph.objects(prop, RDFS.domain)),
        "range": ", ".join(to_curie(str(r)) for r in graph.objects(prop, RDFS.range)),
    }


def _value(graph: Graph, individual: URIRef) -> dict[str, str]:
    types = sorted(to_curie(str(t)) for t in graph.objects(individual, RDF.type) if t != OWL.NamedIndividual)
    return {
        "curie": to_curie(str(individual)),
        "anchor": _anchor(individual),
        "label": _label(graph, individual),
        "definition": _first(graph, individual, SKOS.definition),
        "type": ", ".join(types),
    }


def _ontology(graph: Graph) -> dict[str, Any]:
    imports = [{"iri": str(o), "source": _first(graph, o, DCTERMS.source)} for o in graph.objects(ONTOLOGY_IRI, OWL.imports)]
    return {
        "iri": str(ONTOLOGY_IRI),
        "title": _first(graph, ONTOLOGY_IRI, DCTERMS.title) or "npc-kg",
        "description": _first(graph, ONTOLOGY_IRI, DCTERMS.description),
        "version": _first(graph, ONTOLOGY_IRI, OWL.versionInfo),
        "version_iri": _first(graph, ONTOLOGY_IRI, OWL.versionIRI),
        "license": _first(graph, ONTOLOGY_IRI, DCTERMS.license),
        "imports": imports,
    }


def docs_context(graph: Graph) -> dict[str, Any]:
    """The data the template renders (plain dicts and lists; also what the tests check)."""
    from npc_kg.kg.xrefs import mapping_rows

    own_classes = (c for c in _sorted_iris(graph.subjects(RDF.type, OWL.Class)) if _own(c))
    classes = sorted(own_classes, key=lambda c: _label(graph, c).lower())
    local: set[Node] = set(classes)
    mondo = [
        _placement(graph, cls, target)
        for cls in classes
        for target in _sorted_iris(graph.objects(cls, OWL.equivalentClass))
        if not _own(target)
    ]
    kinds = {OWL.ObjectProperty: "object", OWL.DatatypeProperty: "data", OWL.AnnotationProperty: "annotation"}
    properties = [
        _property(graph, p, kind)
        for rdf_kind, kind in kinds.items()
        for p in _sorted_iris(graph.subjects(RDF.type, rdf_kind))
        if _own(p)
    ]
    individuals = _sorted_iris(graph.subjects(RDF.type, OWL.NamedIndividual))

    def items_of(cls: URIRef) -> list[dict[str, Any]]:
        return [_item(graph, i) for i in _sorted_iris(graph.subjects(RDF.type, cls))]

    return {
        "ontology": _ontology(graph),
        "mondo": mondo,
        "classes": [_class(graph, c, local) for c in classes],
        "properties": sorted(properties, key=lambda row: row["curie"]),
        "criteria": items_of(NPC.EligibilityCriterion),
        "figures": items_of(NPC.EvidenceFigure),
        "associations": items_of(NPC.PrognosticAssociation),
        "statements": items_of(NPC.Statement),
        "values": [_value(graph, i) for i in individuals if _own(i) and not str(i).startswith(str(KB))],
        "mappings": [row.__dict__ for row in mapping_rows(graph)],
    }


def render_docs(graph: Graph) -> str:
    """The HTML of ``index.html`` for ``graph``."""
    from npc_kg.extras import require

    jinja2 = require("jinja2", "docs", "npc-kg docs")

    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(_TEMPLATES)), autoescape=True, undefined=jinja2.StrictUndefined,
        trim_blocks=True, lstrip_blocks=True,
    )  # fmt: skip
    return environment.get_template("index.html.j2").render(**docs_context(graph))


def build_docs(output: str | os.PathLike[str], *, graph: Graph | None = None) -> Path:
    """Write ``index.html`` and ``style.css`` of the merged graph (or ``graph``) into the new or empty folder ``output``."""
    if graph is None:
        from npc_kg.kg.load import load

        graph = load()
    html = render_docs(graph)
    with new_folder(output) as work:
        (work / "index.html").write_text(html, encoding="utf-8")
        (work / "style.css").write_text((_TEMPLATES / "style.css").read_text(encoding="utf-8"), encoding="utf-8")
    return Path(output)
