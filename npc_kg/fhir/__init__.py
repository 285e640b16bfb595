"""FHIR R4 / mCODE input: bundles and Bulk Data exports read into npc-kg patient graphs (docs/fhir.md).

The mapping is data (``mappings/fhir-mcode.yaml`` and the SSSOM code table
``mappings/fhir-codes.sssom.tsv``); a site extends it with its own files. Public API::

    from npc_kg.fhir import read_bundle, iter_bulk, load_fhir_mapping
    patient = read_bundle("bundle.json")          # FhirPatient: .graph, or .out_of_scope with a reason
    for item in iter_bulk(["export/"]):           # FhirPatient or FhirRecordError, one per patient
        ...

Names are imported lazily, so that ``npc_kg.fhir.conceptmap`` (the code table as a ConceptMap)
works without the ``fhir`` extra (fhirpathpy, orjson).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_API = {
    "read_bundle": "npc_kg.fhir.bundle",
    "iter_bulk": "npc_kg.fhir.bulk",
    "BulkExport": "npc_kg.fhir.bulk",
    "load_fhir_mapping": "npc_kg.fhir.mapping",
    "load_code_table": "npc_kg.fhir.mapping",
    "FhirMapping": "npc_kg.fhir.mapping",
    "concept_map": "npc_kg.fhir.conceptmap",
    "FhirPatient": "npc_kg.fhir.model",
    "FhirRecordError": "npc_kg.fhir.model",
    "FindingRecord": "npc_kg.fhir.model",
    "ReadStats": "npc_kg.fhir.model",
    "SourceRef": "npc_kg.fhir.model",
    "Statement": "npc_kg.fhir.model",
    "DuplicateIdError": "npc_kg.fhir.errors",
    "FhirInputError": "npc_kg.fhir.errors",
    "FhirMappingError": "npc_kg.fhir.errors",
    "MalformedElementError": "npc_kg.fhir.errors",
    "MissingReferenceError": "npc_kg.fhir.errors",
    "NotFhirError": "npc_kg.fhir.errors",
    "NotJsonError": "npc_kg.fhir.errors",
    "SeveralPatientsError": "npc_kg.fhir.errors",
    "UnsupportedResourceError": "npc_kg.fhir.errors",
}

__all__ = sorted(_API)

if TYPE_CHECKING:  # pragma: no cover
    from npc_kg.fhir.bulk import BulkExport, iter_bulk
    from npc_kg.fhir.bundle import read_bundle
    from npc_kg.fhir.conceptmap import concept_map
    from npc_kg.fhir.errors import (
        DuplicateIdError,
        FhirInputError,
        FhirMappingError,
        MalformedElementError,
        MissingReferenceError,
        NotFhirError,
        NotJsonError,
        SeveralPatientsError,
        UnsupportedResourceError,
    )
    from npc_kg.fhir.mapping import FhirMapping, load_code_table, load_fhir_mapping
    from npc_kg.fhir.model import FhirPatient, FhirRecordError, FindingRecord, ReadStats, SourceRef, Statement


def __getattr__(name: str) -> Any:
    module = _API.get(name)
    if module is None:
        raise AttributeError(f"module 'npc_kg.fhir' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
