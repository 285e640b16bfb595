"""The FHIR code table (``mappings/fhir-codes.sssom.tsv`` and a site's rows) as a FHIR R4 ConceptMap.

One ``group`` per source code system (the FHIR system URI of the code's prefix, from the
mapping's ``systems``), target system npc-kg's namespace, target codes the local names of
npc-kg classes. The SKOS predicate becomes the R4 ``equivalence`` as sssom-py's
``to_fhir_json`` maps it; a row with ``predicate_modifier: Not`` is ``disjoint`` (an explicit
assertion that the code does not map to the class). Every target carries
the row's comment (R4 requires one for narrower and inexact maps).

sssom-py's own writer puts CURIEs where FHIR expects codes, keeps one group for all systems,
and ignores ``predicate_modifier``; this writer follows FHIR R4 and is checked against it in
``tests/fhir/test_conceptmap.py``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from npc_kg.fhir.mapping import CodeRow, CodeTable, load_code_table
from npc_kg.namespace import BASE, OBO, RFC3986_SYSTEM

__all__ = ["EQUIVALENCE", "concept_map", "render_concept_map"]

EQUIVALENCE = {
    "skos:exactMatch": "equivalent",
    "skos:closeMatch": "inexact",
    "skos:broadMatch": "wider",
    "skos:narrowMatch": "narrower",
    "skos:relatedMatch": "relatedto",
}
"""SSSOM predicate -> FHIR R4 ConceptMapEquivalence (target relative to source), as sssom-py maps them."""


def concept_map(extra: Sequence[str | Path] = (), *, table: CodeTable | None = None) -> dict[str, Any]:
    """The code table of the shipped mapping (plus ``extra`` site files) as a FHIR R4 ConceptMap (a dict)."""
    table = table if table is not None else load_code_table(extra)
    header = table.header
    system_of = {prefix: system for system, prefix in table.systems.items()}
    groups: dict[str, list[dict[str, Any]]] = {}
    for curie in sorted(table.codes):
        rows = table.codes[curie]
        prefix, _, local = curie.partition(":")
        system = system_of[prefix]
        code = curie if table.prefixes.get(prefix, "").startswith(str(OBO)) else local
        targets = []
        for row in rows:
            if not row.target.startswith(BASE):
                continue
            targets.append({
                "code": row.target[len(BASE):],
                "display": _label(row),
                "equivalence": "disjoint" if row.negated else EQUIVALENCE.get(row.predicate, "relatedto"),
                "comment": row.comment or f"{row.predicate} (SSSOM)",
            })
        if targets:
            groups.setdefault(system, []).append({"code": code, "display": rows[0].label, "target": targets})
    set_id = str(header.get("mapping_set_id") or BASE + "mappings/fhir-codes.sssom.tsv")
    out: dict[str, Any] = {
        "resourceType": "ConceptMap",
        "id": "npc-kg-fhir-codes",
        "url": set_id,
        "identifier": {"system": RFC3986_SYSTEM, "value": set_id},
        "version": str(header.get("mapping_set_version") or ""),
        "name": "NpcKgFhirCodes",
        "title": str(header.get("mapping_set_title") or "npc-kg code table for FHIR input"),
        "status": "draft",
        "experimental": False,
        "date": str(header.get("mapping_date") or ""),
        "publisher": ", ".join(header.get("creator_label") or []) or "npc-kg contributors",
        "description": str(header.get("mapping_set_description") or ""),
        "copyright": str(header.get("license") or ""),
        "group": [{"source": system, "target": BASE, "element": elements} for system, elements in sorted(groups.items())],
    }
    return {key: value for key, value in out.items() if value not in ("", None)}


def _label(row: CodeRow) -> str:
    """The row's ``object_label`` (the npc-kg class's label), else the class's local name."""
    return row.target_label or row.target[len(BASE):]


def render_concept_map(extra: Sequence[str | Path] = ()) -> str:
    """The ConceptMap as JSON text (2-space indent, stable key order, trailing newline)."""
    return json.dumps(concept_map(extra), indent=2, ensure_ascii=False) + "\n"
