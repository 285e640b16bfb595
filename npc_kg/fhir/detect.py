"""Tell FHIR input from RDF input, without the ``fhir`` extra: what ``npc-kg assess`` and ``npc_kg.assess`` read.

A FHIR R4 JSON document is a JSON object with a ``resourceType`` (a Bundle or one resource) and
no JSON-LD ``@context``. JSON-LD files share the ``.json`` suffix with FHIR, so a ``.json`` or
``.jsonld`` file, or JSON text, is parsed once (with the standard library) to look. A FHIR Bulk
Data export (NDJSON, or a folder of ``*.ndjson`` files) is many patients: it is screened with
``npc-kg assess-cohort``. Cohort inputs are told apart by :func:`is_bulk_input`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from npc_kg.errors import InputError

__all__ = ["BULK_SUFFIXES", "JSON_SUFFIXES", "fhir_document", "is_bulk_input", "is_fhir_json"]

JSON_SUFFIXES = (".json", ".jsonld")
"""File suffixes whose content decides between FHIR and JSON-LD."""
BULK_SUFFIXES = (".ndjson",)
"""File suffixes of a FHIR Bulk Data export (one resource a line)."""


def is_fhir_json(doc: Any) -> bool:
    """True for a parsed FHIR resource or Bundle: a JSON object with a ``resourceType`` and no ``@context``."""
    return isinstance(doc, Mapping) and "resourceType" in doc and "@context" not in doc


def _read_json(path: Path) -> Any:
    try:
        data = path.read_bytes()
    except OSError:
        return None  # the RDF reader names the problem (no such file, a folder...)
    try:
        return json.loads(data)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None  # not JSON, or nested too deeply: the RDF reader reports it with its line and limit


def fhir_document(source: Any) -> Mapping[str, Any] | None:
    """The FHIR JSON of ``source`` (a dict, JSON text, or a ``.json`` file), or None if it is not FHIR.

    Raises :class:`~npc_kg.errors.InputError` for a Bulk Data export given where one patient is
    expected (an ``.ndjson`` file or a folder of them).
    """
    if isinstance(source, Mapping):
        return source if is_fhir_json(source) else None
    if isinstance(source, str) and source.lstrip().startswith("{"):
        try:
            doc = json.loads(source)
        except (ValueError, RecursionError):
            return None  # the RDF reader reports it (syntax, or the nesting limit)
        return doc if is_fhir_json(doc) else None
    if isinstance(source, str) and ("\n" in source.strip() or not source.strip()):
        return None  # RDF text
    if isinstance(source, str | Path):
        path = Path(source)
        if path.suffix.lower() in BULK_SUFFIXES or (path.is_dir() and any(path.glob("*.ndjson"))):
            raise InputError("a FHIR Bulk Data export holds many patients: screen it with npc-kg assess-cohort "
                             "(npc_kg.assess_cohort)", path=str(path))
        if path.suffix.lower() in JSON_SUFFIXES:
            doc = _read_json(path)
            return doc if is_fhir_json(doc) else None
    return None


def is_bulk_input(path: str | Path) -> bool:
    """True for a cohort input that is FHIR: a folder, an ``.ndjson`` file, or a ``.json`` file (a Bundle or resource)."""
    where = Path(path)
    # every .json is FHIR here (no RDF cohort format is JSON): a damaged one becomes an error row
    return where.is_dir() or where.suffix.lower() in (*BULK_SUFFIXES, ".json")
