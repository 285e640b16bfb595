"""SSSOM export: the mapping set ``mappings/npc-kg.sssom.tsv`` generated from the ontology.

The rows come from :func:`npc_kg.kg.xrefs.mapping_rows` (one per ``skos:*Match`` triple); the
set-level metadata from the ontology header (version, license, date) and
``mappings/external-terms.yaml`` (title, description, creator).
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import yaml
from rdflib import Graph
from rdflib.namespace import DCTERMS, OWL

from npc_kg.atomic import atomic_write_text
from npc_kg.exporters.registry import register_exporter
from npc_kg.kg.load import graph_files
from npc_kg.kg.prefixes import prefix_map
from npc_kg.kg.xrefs import external_terms, mapping_rows
from npc_kg.namespace import BASE, ONTOLOGY_IRI

__all__ = ["COLUMNS", "MAPPING_SET_ID", "render_sssom", "write_sssom"]

MAPPING_SET_ID = BASE + "mappings/npc-kg.sssom.tsv"

COLUMNS = (
    "subject_id",
    "subject_label",
    "predicate_id",
    "object_id",
    "object_label",
    "mapping_justification",
    "confidence",
    "comment",
)


def _one(graph: Graph, predicate: object) -> str | None:
    values = sorted(str(value) for value in graph.objects(ONTOLOGY_IRI, predicate))  # type: ignore[arg-type]
    return values[0] if values else None


def render_sssom(graph: Graph) -> str:
    """Return the SSSOM/TSV text (YAML header as ``#`` lines, then the table) for ``graph``."""
    rows = mapping_rows(graph)
    used = {"semapv", "skos"} | {value.split(":", 1)[0] for row in rows for value in (row.subject_id, row.object_id)}
    prefixes = prefix_map()
    meta = external_terms()["mapping_set"]
    header: dict[str, object] = {
        "curie_map": {prefix: prefixes[prefix] for prefix in sorted(used, key=str.lower)},
        "mapping_set_id": MAPPING_SET_ID,
        "mapping_set_version": _one(graph, OWL.versionInfo),
        "mapping_set_title": meta.get("mapping_set_title"),
        "mapping_set_description": meta.get("mapping_set_description"),
        "creator_label": [meta["creator_label"]] if meta.get("creator_label") else None,
        "license": _one(graph, DCTERMS.license),
        "mapping_date": _one(graph, DCTERMS.modified) or _one(graph, DCTERMS.created),
        "subject_source": str(ONTOLOGY_IRI),
        "subject_source_version": _one(graph, OWL.versionIRI),
    }
    header = {key: value for key, value in header.items() if value is not None}
    text = yaml.safe_dump(header, sort_keys=False, allow_unicode=True, width=1000)
    out = io.StringIO()
    out.write("".join(f"#{line}\n" for line in text.splitlines()))
    writer = csv.writer(out, delimiter="\t", lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow(
            [
                row.subject_id,
                row.subject_label or "",
                row.predicate_id,
                row.object_id,
                row.object_label,
                row.mapping_justification,
                f"{row.confidence:g}",
                row.comment,
            ]
        )
    return out.getvalue()


@register_exporter("sssom")
def write_sssom(graph: Graph, path: Path) -> None:
    """Write the SSSOM/TSV mapping set of ``graph`` to ``path`` atomically."""
    atomic_write_text(path, render_sssom(graph), inputs=graph_files())
