"""``npc-kg export --format fhir-conceptmap``: the FHIR code table as a FHIR R4 ConceptMap (JSON)."""

from __future__ import annotations

from pathlib import Path

from rdflib import Graph

from npc_kg.atomic import atomic_write_text
from npc_kg.exporters.registry import register_exporter
from npc_kg.fhir.conceptmap import render_concept_map
from npc_kg.fhir.mapping import load_code_table

__all__ = ["write_fhir_conceptmap"]


@register_exporter("fhir-conceptmap")
def write_fhir_conceptmap(graph: Graph, path: Path) -> None:
    """Write ``mappings/fhir-codes.sssom.tsv`` (via ``mappings/fhir-mcode.yaml``) as a ConceptMap; ``graph`` is not used."""
    table = load_code_table()
    inputs = [Path(f) for f in (*table.files, *table.table_files)]
    atomic_write_text(path, render_concept_map(), inputs=inputs)
