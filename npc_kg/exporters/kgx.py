"""KGX export: TSV nodes and edges with Biolink categories and predicates.

``npc-kg export --format kgx -o PREFIX`` writes ``PREFIX_nodes.tsv`` and ``PREFIX_edges.tsv``;
if ``PREFIX`` is an existing folder (it must be empty), it writes
``npc-kg_nodes.tsv`` and ``npc-kg_edges.tsv`` into it, and the folder appears only when both are
complete (:func:`npc_kg.kg.folders.new_folder`). Both files are rendered in memory first and each
is written atomically.

The projection onto Biolink is data, not code: ``mappings/biolink-profile.yaml`` says which
npc-kg classes and individuals become nodes of which category, which properties become edges
with which predicate, and which individuals (contraindications, prognostic associations)
become edges of their own, with their quote as ``supporting_text``. Multivalued cells use
KGX's ``|`` separator.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from rdflib import Graph, URIRef
from rdflib.namespace import OWL, PROV, RDF, RDFS, SKOS

from npc_kg.atomic import atomic_write_text
from npc_kg.errors import InputError
from npc_kg.exporters.registry import register_exporter
from npc_kg.kg.load import graph_files
from npc_kg.kg.prefixes import expand, to_curie
from npc_kg.kg.xrefs import external_terms
from npc_kg.namespace import BASE, NPC, OA
from npc_kg.resources import data_path
from npc_kg.yamlio import read_yaml

__all__ = ["EDGE_COLUMNS", "NODE_COLUMNS", "KgxTables", "kgx_paths", "kgx_tables", "profile", "write_kgx"]

NODE_COLUMNS = ("id", "category", "name", "description", "xref", "synonym", "provided_by", "publications")
EDGE_COLUMNS = (
    "id",
    "subject",
    "predicate",
    "object",
    "knowledge_level",
    "agent_type",
    "primary_knowledge_source",
    "publications",
    "supporting_text",
    "npc_kb_item",
)
_EDGE_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, BASE + "kgx/edge")


@dataclass
class KgxTables:
    """Rows of the KGX node and edge files, as lists of column -> value dicts."""

    nodes: list[dict[str, str]] = field(default_factory=list)
    edges: list[dict[str, str]] = field(default_factory=list)
    node_columns: tuple[str, ...] = NODE_COLUMNS
    edge_columns: tuple[str, ...] = EDGE_COLUMNS


@lru_cache(maxsize=1)
def profile() -> dict[str, Any]:
    """Return ``mappings/biolink-profile.yaml``."""
    path = data_path("mappings", "biolink-profile.yaml")
    document = read_yaml(path, "Biolink profile")
    for key in ("categories", "triples", "statements", "primary_knowledge_source", "agent_type"):
        if not isinstance(document, dict) or key not in document:
            raise InputError(f"missing key {key!r}", path=str(path))
    return document


def _iri(curie: str) -> URIRef:
    return URIRef(expand(curie))


def _cell(values: Iterable[object]) -> str:
    """Join values with KGX's '|' separator; tabs and line breaks become spaces."""
    seen: list[str] = []
    for value in values:
        text = " ".join(str(value).split())
        if text and text not in seen:
            seen.append(text)
    return "|".join(seen)


def _text(value: object) -> str:
    return to_curie(value) if isinstance(value, URIRef) else str(value)


class _Projection:
    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        self.profile = profile()
        self.ancestors: dict[URIRef, set[URIRef]] = {}
        self.categories: dict[URIRef, str] = {}
        self.external: dict[str, str] = {}  # external CURIE -> category

    def closure(self, cls: URIRef) -> set[URIRef]:
        cached = self.ancestors.get(cls)
        if cached is None:
            cached = {c for c in self.graph.transitive_objects(cls, RDFS.subClassOf) if isinstance(c, URIRef)}
            self.ancestors[cls] = cached
        return cached

    def categorize(self) -> None:
        classes = {c for c in self.graph.subjects(RDF.type, OWL.Class) if isinstance(c, URIRef)}
        typed = {s for s in self.graph.subjects(RDF.type, None) if isinstance(s, URIRef)} - classes
        for entity in sorted(classes | typed):
            if entity == URIRef(BASE + "ontology"):
                continue
            is_class = entity in classes
            if is_class:
                reach = self.closure(entity)
            else:
                reach = set()
                for cls in self.graph.objects(entity, RDF.type):
                    if isinstance(cls, URIRef) and cls != OWL.NamedIndividual:
                        reach |= self.closure(cls)
            for rule in self.profile["categories"]:
                applies = rule.get("applies_to", "both")
                if (is_class and applies == "individuals") or (not is_class and applies == "classes"):
                    continue
                if "prefix" in rule:
                    if not to_curie(entity).startswith(rule["prefix"] + ":"):
                        continue
                elif _iri(rule["class"]) not in reach:
                    continue
                if all((entity, _iri(p), _iri(v)) in self.graph for p, v in (rule.get("where") or {}).items()):
                    self.categories[entity] = rule["category"]
                    break

    def publications(self, item: URIRef) -> list[str]:
        found = []
        prefixes = self.profile.get("prefixes") or {}
        for source in sorted(self.graph.objects(item, NPC.reportedIn), key=str):
            dois = sorted(str(d) for d in self.graph.objects(source, NPC.doi))
            found.append(f"doi:{dois[0]}" if dois and "doi" in prefixes else _text(source))
        return found

    def quotes(self, item: URIRef) -> list[str]:
        quotes = []
        for resource in self.graph.objects(item, PROV.wasDerivedFrom):
            for selector in self.graph.objects(resource, OA.hasSelector):
                quotes += [str(q) for q in self.graph.objects(selector, OA.exact)]
        return sorted(quotes)

    def node_row(self, entity: URIRef, category: str) -> dict[str, str]:
        g = self.graph
        row = {
            "id": to_curie(entity),
            "category": category,
            "name": _cell(sorted(str(v) for v in g.objects(entity, RDFS.label))[:1]),
            "description": _cell(sorted(str(v) for v in g.objects(entity, SKOS.definition))[:1]),
            "xref": _cell(sorted(to_curie(str(v)) for v in g.objects(entity, SKOS.exactMatch))),
            "synonym": _cell(sorted(str(v) for v in g.objects(entity, SKOS.altLabel))),
            "provided_by": self.profile["primary_knowledge_source"],
            "publications": _cell(self.publications(entity)),
        }
        for prop, column in (self.profile.get("node_properties") or {}).items():
            row[column] = _cell(sorted(_text(v) for v in g.objects(entity, _iri(prop))))
        return row

    def edge_row(
        self, subject: str, predicate: str, obj: str, level: str, item: URIRef | None, agent: str | None = None
    ) -> dict[str, str]:
        key = f"{subject} {predicate} {obj} {to_curie(item) if item is not None else ''}"
        return {
            "id": f"urn:uuid:{uuid.uuid5(_EDGE_NAMESPACE, key)}",
            "subject": subject,
            "predicate": predicate,
            "object": obj,
            "knowledge_level": level,
            "agent_type": agent or self.profile["agent_type"],
            "primary_knowledge_source": self.profile["primary_knowledge_source"],
            "publications": _cell(self.publications(item) if item is not None else []),
            "supporting_text": _cell(self.quotes(item) if item is not None else []),
            "npc_kb_item": to_curie(item) if item is not None else "",
        }

    def triple_edges(self) -> list[dict[str, str]]:
        edges = []
        terms = external_terms()["terms"]
        for rule in self.profile["triples"]:
            allowed = set(rule.get("subject_categories") or [])
            for s, o in self.graph.subject_objects(_iri(rule["property"])):
                if not isinstance(s, URIRef) or s not in self.categories or not isinstance(o, URIRef):
                    continue
                if allowed and self.categories[s] not in allowed:
                    continue
                if o in self.categories:
                    target = to_curie(o)
                elif rule.get("external_objects") and to_curie(o) in terms:
                    target = to_curie(o)
                    self.external.setdefault(target, self.categories[s])
                else:
                    continue
                edges.append(self.edge_row(to_curie(s), rule["predicate"], target, rule["knowledge_level"], None))
        return edges

    def statement_edges(self) -> list[dict[str, str]]:
        edges = []
        for rule in self.profile["statements"]:
            for item in sorted(self.graph.subjects(RDF.type, _iri(rule["type"])), key=str):
                if not isinstance(item, URIRef):
                    continue
                if not all((item, _iri(p), _iri(v)) in self.graph for p, v in (rule.get("where") or {}).items()):
                    continue
                predicate = rule.get("predicate")
                if "predicate_from" in rule:
                    found = self.graph.objects(item, _iri(rule["predicate_from"]))
                    values = [to_curie(v) for v in found if isinstance(v, URIRef)]
                    choices = [rule["predicates"][v] for v in values if v in rule["predicates"]]
                    predicate = choices[0] if len(choices) == 1 else None
                if predicate is None:
                    raise InputError(f"{to_curie(item)}: no single Biolink predicate for it in mappings/biolink-profile.yaml")
                for s in sorted(self.graph.objects(item, _iri(rule["subject"])), key=str):
                    for o in sorted(self.graph.objects(item, _iri(rule["object"])), key=str):
                        if isinstance(s, URIRef) and isinstance(o, URIRef) and s in self.categories and o in self.categories:
                            edges.append(self.edge_row(to_curie(s), predicate, to_curie(o), rule["knowledge_level"], item))
        return edges

    def entailed_edges(self) -> list[dict[str, str]]:
        """Edges to the external class (MONDO) an npc-kg object class falls under (profile ``entailed``)."""
        edges = []
        for rule in self.profile.get("entailed") or []:
            through = _iri(rule["through"])
            for s, o in self.graph.subject_objects(_iri(rule["property"])):
                if not (isinstance(s, URIRef) and isinstance(o, URIRef) and s in self.categories and o in self.categories):
                    continue
                targets = {
                    m for c in self.closure(o) for m in self.graph.objects(c, through)
                    if isinstance(m, URIRef) and m in self.categories and not str(m).startswith(BASE)
                }  # fmt: skip
                for target in sorted(targets, key=str):
                    edges.append(self.edge_row(to_curie(s), rule["predicate"], to_curie(target), rule["knowledge_level"],
                                               None, rule.get("agent_type")))  # fmt: skip
        return edges

    def tables(self) -> KgxTables:
        self.categorize()
        edges = self.triple_edges() + self.entailed_edges() + self.statement_edges()
        nodes = [self.node_row(entity, category) for entity, category in self.categories.items()]
        terms = external_terms()["terms"]
        extra_columns = tuple(dict.fromkeys((self.profile.get("node_properties") or {}).values()))
        for curie, category in self.external.items():
            row = dict.fromkeys((*NODE_COLUMNS, *extra_columns), "")
            row.update({"id": curie, "category": category, "name": str(terms[curie]["label"])})
            nodes.append(row)
        nodes.sort(key=lambda row: row["id"])
        edges.sort(key=lambda row: (row["subject"], row["predicate"], row["object"], row["npc_kb_item"]))
        return KgxTables(nodes=nodes, edges=edges, node_columns=(*NODE_COLUMNS, *extra_columns))


def kgx_tables(graph: Graph) -> KgxTables:
    """Project ``graph`` onto Biolink with ``mappings/biolink-profile.yaml``."""
    return _Projection(graph).tables()


def _tsv(rows: list[dict[str, str]], columns: tuple[str, ...]) -> str:
    """Plain TSV: cells never hold tabs or line breaks (:func:`_cell` collapses white space)."""
    lines = ["\t".join(columns)]
    lines += ["\t".join(row.get(column, "") for column in columns) for row in rows]
    return "\n".join(lines) + "\n"


def kgx_paths(target: str | Path) -> tuple[Path, Path]:
    """Return the (nodes, edges) file paths for ``-o target`` (a prefix or an existing folder)."""
    path = Path(target)
    if path.is_dir():
        path = path / "npc-kg"
    return path.with_name(path.name + "_nodes.tsv"), path.with_name(path.name + "_edges.tsv")


@register_exporter("kgx")
def write_kgx(graph: Graph, path: Path) -> None:
    """Write ``PREFIX_nodes.tsv`` and ``PREFIX_edges.tsv`` (see the module docstring)."""
    tables = kgx_tables(graph)
    nodes_text = _tsv(tables.nodes, tables.node_columns)
    edges_text = _tsv(tables.edges, tables.edge_columns)
    if Path(path).is_dir():
        from npc_kg.kg.folders import new_folder

        with new_folder(path) as work:
            for name, text in zip(kgx_paths(work), (nodes_text, edges_text), strict=True):
                name.write_text(text, encoding="utf-8")
        return
    nodes_path, edges_path = kgx_paths(path)
    atomic_write_text(nodes_path, nodes_text, inputs=graph_files())
    atomic_write_text(edges_path, edges_text, inputs=graph_files())

