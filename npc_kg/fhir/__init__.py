"""FHIR R4 / mCODE input: bundles and Bulk Data exports read into npc-kg patient graphs (docs/fhir.md).

The mapping is data (``mappings/fhir-mcode.yaml`` and the SSSOM code table
``mappings/fhir-codes.sssom.tsv``); a site extends it with its own files. Public API::

    from npc_kg.fhir import read_bundle, iter_bulk, load_fhir_mapping
    patient = read_bundle("bundle.json")          # FhirPatient: .graph, or .out_of_scope with a reason
    for item in iter_bulk(["export/"]):           # FhirPatient or FhirRecordError, one per patient
        ...
"""

from __future__ import annotations

from npc_kg.fhir.bulk import iter_bulk
from npc_kg.fhir.bundle import read_bundle
from npc_kg.fhir.errors import (
    DuplicateIdError,
    FhirInputError,
    FhirMappingError,
    MissingReferenceError,
    NotFhirError,
    NotJsonError,
    SeveralPatientsError,
    UnsupportedResourceError,
)
from npc_kg.fhir.mapping import FhirMapping, load_fhir_mapping
from npc_kg.fhir.model import FhirPatient, FhirRecordError, FindingRecord, ReadStats, SourceRef, Statement

__all__ = [
    "DuplicateIdError",
    "FhirInputError",
    "FhirMapping",
    "FhirMappingError",
    "FhirPatient",
    "FhirRecordError",
    "FindingRecord",
    "MissingReferenceError",
    "NotFhirError",
    "NotJsonError",
    "ReadStats",
    "SeveralPatientsError",
    "SourceRef",
    "Statement",
    "UnsupportedResourceError",
    "iter_bulk",
    "load_fhir_mapping",
    "read_bundle",
]
