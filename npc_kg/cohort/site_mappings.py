"""``--mapping FILE``: a site's mapping files, each routed by its ``format`` to the reader it extends.

One option serves every input: a file with ``format: npc-kg-cohort-csv/1`` extends or overrides
``mappings/cohort-csv.yaml`` (registry CSVs, DataFrames), one with ``format:
npc-kg-fhir-mapping/1`` extends or overrides ``mappings/fhir-mcode.yaml`` and its code table
(FHIR bundles and Bulk Data exports). Files apply in the order given. docs/cohort.md and
docs/fhir.md say how each kind merges.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from npc_kg.cohort.csv_mapping import FORMAT as CSV_FORMAT
from npc_kg.errors import InputError
from npc_kg.yamlio import read_yaml, yaml_paths

__all__ = ["FHIR_FORMAT", "SiteMappings", "site_mappings"]

FHIR_FORMAT = "npc-kg-fhir-mapping/1"
"""The ``format`` of a FHIR mapping file (``npc_kg.fhir.mapping``)."""


@dataclass(frozen=True)
class SiteMappings:
    """A site's mapping files, by the input they extend."""

    csv: tuple[Path, ...] = ()
    fhir: tuple[Path, ...] = ()
    files: tuple[Path, ...] = field(default=())
    """Every file, in the order given (never overwritten by an output)."""


def _format_of(path: Path) -> str:
    doc = read_yaml(path, "mapping file")
    found = doc.get("format") if isinstance(doc, dict) else None
    if found not in (CSV_FORMAT, FHIR_FORMAT):
        raise InputError(f"a mapping file says what it maps in its first key: format: {CSV_FORMAT} (a registry "
                         f"CSV layout) or format: {FHIR_FORMAT} (FHIR)", path=str(path))
    return str(found)


def site_mappings(paths: Iterable[str | Path] | str | Path | None) -> SiteMappings:
    """Sort ``paths`` (a file, files, or None) into CSV and FHIR mappings by their ``format`` key."""
    if paths is None:
        return SiteMappings()
    files = yaml_paths(paths, "mapping=")
    csv_files = [p for p in files if _format_of(p) == CSV_FORMAT]
    return SiteMappings(tuple(csv_files), tuple(p for p in files if p not in csv_files), tuple(files))
