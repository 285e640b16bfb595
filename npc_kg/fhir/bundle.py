"""Read one patient from FHIR R4 JSON: a Bundle (collection, searchset, transaction, document) or one resource.

A bundle is one patient's record: it holds at most one Patient, and every reference npc-kg
follows (a resource's ``subject`` or ``patient``) must name that patient, through its
``Type/id``, an absolute URL ending in ``Patient/<id>``, or an entry's ``fullUrl``. Other
references (practitioners, comorbid conditions, specimens) are never followed, so they may name
resources the bundle does not hold. Nothing is fetched.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

from npc_kg.errors import InputError
from npc_kg.fhir.errors import (
    DuplicateIdError,
    MissingReferenceError,
    NotFhirError,
    SeveralPatientsError,
    UnsupportedResourceError,
)
from npc_kg.fhir.mapper import PatientMapper
from npc_kg.fhir.mapping import FhirMapping, load_fhir_mapping
from npc_kg.fhir.model import FhirPatient, SourceRef
from npc_kg.fhir.resources import (
    BUNDLE_TYPES,
    check_resource,
    loads,
    patient_references,
    reference_key,
    resource_key,
)

__all__ = ["BundleSource", "default_mapper", "mapper_for", "read_bundle", "resources_of"]

BundleSource = Mapping[str, Any] | str | Path
"""A parsed Bundle or resource (dict), or the path of a JSON file."""

Entry = tuple[dict[str, Any], str, str | None]


@lru_cache(maxsize=1)
def default_mapper() -> PatientMapper:
    """The mapper of the shipped mapping (compiled once per process)."""
    return PatientMapper(load_fhir_mapping())


def mapper_for(mapping: FhirMapping | None) -> PatientMapper:
    """A mapper for ``mapping`` (the shipped one when None)."""
    return default_mapper() if mapping is None else PatientMapper(mapping)


def _load(source: BundleSource, where: str | None) -> tuple[Any, str]:
    if isinstance(source, Mapping):
        return source, where or "<dict>"
    path = str(source)
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise InputError("no such file", path=path) from None
    except OSError as error:
        raise InputError(f"cannot read the file: {error.strerror}", path=path) from None
    return loads(data, path=path), path


def resources_of(doc: Any, path: str) -> list[Entry]:
    """``(resource, JSON pointer, fullUrl)`` of each resource of a Bundle, or of a single resource."""
    kind = check_resource(doc, path=path, pointer="/")
    if kind != "Bundle":
        return [(doc, "", None)]
    bundle_type = doc.get("type")
    if bundle_type not in BUNDLE_TYPES:
        shown = bundle_type if isinstance(bundle_type, str) and re.fullmatch(r"[a-z-]{1,32}", bundle_type) else "(unnamed)"
        raise UnsupportedResourceError(f"a Bundle of type {shown} is not read; give a Bundle of type "
                                       f"{', '.join(BUNDLE_TYPES)}", path=path, pointer="/type")
    entries = doc.get("entry") or []
    if not isinstance(entries, list):
        raise NotFhirError("Bundle.entry must be a list of entries", path=path, pointer="/entry")
    out: list[Entry] = []
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise NotFhirError("a Bundle entry must be a JSON object", path=path, pointer=f"/entry/{index}")
        resource = entry.get("resource")
        if resource is None:  # e.g. a transaction DELETE: nothing to read
            continue
        pointer = f"/entry/{index}/resource"
        if check_resource(resource, path=path, pointer=pointer) == "Bundle":
            raise UnsupportedResourceError("a Bundle inside a Bundle is not read; give its entries in one Bundle",
                                           path=path, pointer=pointer)
        full_url = entry.get("fullUrl")
        out.append((resource, pointer, full_url if isinstance(full_url, str) and full_url else None))
    return out


def _patient_id(key: str) -> str:
    """The FHIR id in a ``Patient/<id>`` key, or the last segment of a ``fullUrl``."""
    if key.startswith("Patient/"):
        return key[len("Patient/"):]
    return re.split(r"[:/]", key)[-1] or key


def read_bundle(source: BundleSource, *, mapping: FhirMapping | None = None, where: str | None = None,
                at: date | None = None) -> FhirPatient:
    """Read one FHIR patient from a Bundle or a single resource (dict or JSON file) and map it.

    ``at`` is the date of the assessment (what ``years_until: assessment`` counts to, e.g. the age
    from ``Patient.birthDate``; default today, UTC).

    Returns a :class:`FhirPatient`: its ``graph`` in npc-kg's patient model, or ``out_of_scope``
    when no disease of the treatment is recorded. Raises a
    :class:`~npc_kg.fhir.errors.FhirInputError` subclass (exit code 2) naming the file and the
    JSON pointer for input that is not JSON, not FHIR, of a type npc-kg does not read, with
    duplicate ids, with a reference to a missing resource, or with several patients.
    """
    doc, path = _load(source, where)
    entries = resources_of(doc, path)
    mapper = mapper_for(mapping)
    references = mapper.mapping.patient_references
    keys: dict[str, str] = {}  # key -> resource type
    full_urls: dict[str, str] = {}
    refs: list[SourceRef] = []
    entry_keys: list[str] = []
    for index, (resource, pointer, full_url) in enumerate(entries):
        kind = resource["resourceType"]
        key = resource_key(resource, full_url) or f"{kind}/entry-{index}"
        if key in keys or (full_url is not None and full_url in full_urls):
            raise DuplicateIdError(f"two {kind} resources have the same id (or fullUrl); give each resource its own id",
                                   path=path, pointer=pointer or "/")
        keys[key] = kind
        entry_keys.append(key)
        if full_url is not None:
            full_urls[full_url] = key
        rid = key.split("/", 1)[1] if key.startswith(kind + "/") else key
        refs.append(SourceRef(kind, rid, f"{path}#{pointer or '/'}", path=str(path), pointer=pointer or "/"))
    patients = [i for i, ref in enumerate(refs) if ref.type == "Patient"]
    if len(patients) > 1:
        raise SeveralPatientsError("the input holds more than one Patient; give one patient per bundle, "
                                   "or many patients as a FHIR Bulk Data export (NDJSON)", path=path,
                                   pointer=entries[patients[1]][1] or "/")
    patient_key = entry_keys[patients[0]] if patients else None
    named: dict[str, str] = {}
    for resource, pointer, _url in entries:
        for element, reference in patient_references(resource, references):
            named_key = reference_key(reference, full_urls)
            if named_key is None:
                if reference.startswith(("urn:", "#")):
                    raise MissingReferenceError(f"{element}: a reference to a resource that is not in the input; "
                                                "include that resource or use a Patient/<id> reference",
                                                path=path, pointer=pointer or "/")
                continue
            if keys.get(named_key, "Patient" if named_key.startswith("Patient/") else None) != "Patient":
                continue  # not a patient (a Group, a Device): not this rule's business
            if patient_key is not None and named_key != patient_key:
                raise MissingReferenceError(f"{element}: names a Patient that is not in the bundle; give the resources "
                                            "of one patient, with their Patient resource", path=path, pointer=pointer or "/")
            named.setdefault(named_key, pointer)
    if patient_key is None and len(named) > 1:
        raise SeveralPatientsError("the resources name more than one patient; give one patient per bundle, "
                                   "or many patients as a FHIR Bulk Data export (NDJSON)", path=path,
                                   pointer=list(named.values())[1] or "/")
    if patient_key is None and not named:
        raise NotFhirError("no patient in the input: no Patient resource, and no resource names one in "
                           f"{' or '.join(references)}; give patient data", path=path, pointer="/")
    key = patient_key or next(iter(named))
    items = [(entries[i][0], ref) for i, ref in enumerate(refs)]
    patient_source = refs[patients[0]] if patients else None
    return mapper.map(items, source_id=_patient_id(key), where=path, patient_source=patient_source, at=at)
