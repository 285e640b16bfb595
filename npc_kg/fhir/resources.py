"""FHIR R4 resources as JSON: parse, check, name them, and find the patient they belong to.

Nothing here follows a reference over the network: a reference is only compared with the ids
and ``fullUrl`` values of the input itself.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

import orjson

from npc_kg.fhir.errors import NotFhirError, NotJsonError, UnsupportedResourceError

__all__ = [
    "BUNDLE_TYPES",
    "check_resource",
    "loads",
    "patient_id_of",
    "patient_references",
    "r4_resource_types",
    "reference_key",
    "resource_key",
    "safe_type",
]

BUNDLE_TYPES = ("collection", "searchset", "transaction", "document")
"""Bundle types whose entries npc-kg reads (FHIR R4 bundle-type)."""

_TYPE = re.compile(r"^[A-Z][A-Za-z]{1,63}$")
_PATIENT_REFERENCE = re.compile(r"(?:^|/)Patient/([A-Za-z0-9\-.]{1,64})(?:/_history/[^/]+)?$")


@lru_cache(maxsize=1)
def r4_resource_types() -> frozenset[str]:
    """The FHIR R4 resource types (from fhirpathpy's R4 model: every type derived from Resource)."""
    from fhirpathpy.models import models

    parents: Mapping[str, str] = models["r4"]["type2Parent"]

    def is_resource(name: str) -> bool:
        seen: set[str] = set()
        while name in parents and name not in seen:
            seen.add(name)
            if parents[name] in ("DomainResource", "Resource"):
                return True
            name = parents[name]
        return False

    return frozenset(t for t in parents if is_resource(t) and t != "DomainResource")


def safe_type(value: Any) -> str:
    """``value`` if it looks like a FHIR type name, else ``"(unnamed)"``: messages never echo arbitrary text."""
    return value if isinstance(value, str) and _TYPE.match(value) else "(unnamed)"


def loads(data: bytes | str, *, path: str, line: int | None = None) -> Any:
    """Parse JSON; an error names the file and line (never an excerpt of the input).

    A byte order mark is read as Python's ``json`` reads it: UTF-8's is dropped, UTF-16 and UTF-32
    text is decoded (orjson reads UTF-8 alone).
    """
    if isinstance(data, bytes) and data[:1] in (b"\xef", b"\xfe", b"\xff", b"\x00"):
        with contextlib.suppress(UnicodeDecodeError):  # else orjson names the line
            data = data.decode(json.detect_encoding(data)).removeprefix("\ufeff")
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as error:
        where = line if line is not None else getattr(error, "lineno", None)
        raise NotJsonError("not JSON: a FHIR input must be a JSON resource, a Bundle, or NDJSON (one resource a line)",
                           path=path, line=where) from None


def check_resource(resource: Any, *, path: str, line: int | None = None, pointer: str | None = None) -> str:
    """The ``resourceType`` of ``resource``, checked: a JSON object of a FHIR R4 resource type."""
    if not isinstance(resource, dict):
        raise NotFhirError("not a FHIR resource: expected a JSON object with a resourceType", path=path, line=line,
                           pointer=pointer)
    kind = resource.get("resourceType")
    if not isinstance(kind, str) or not kind:
        raise NotFhirError("not a FHIR resource: the JSON object has no resourceType; give FHIR R4 JSON",
                           path=path, line=line, pointer=pointer)
    if kind not in r4_resource_types():
        raise UnsupportedResourceError(
            f"resourceType {safe_type(kind)} is not a FHIR R4 resource type npc-kg reads; give FHIR R4 resources",
            path=path, line=line, pointer=pointer)
    return kind


def resource_key(resource: Mapping[str, Any], full_url: str | None = None) -> str | None:
    """``Type/id`` of a resource (its ``fullUrl`` when it has no id), or None."""
    rid = resource.get("id")
    if isinstance(rid, str) and rid:
        return f"{resource['resourceType']}/{rid}"
    return full_url


def patient_id_of(reference: str) -> str | None:
    """The Patient id a literal reference names (``Patient/1``, ``.../Patient/1/_history/2``), or None."""
    found = _PATIENT_REFERENCE.search(reference)
    return found.group(1) if found else None


def reference_key(reference: str, full_urls: Mapping[str, str]) -> str | None:
    """The ``Type/id`` key a reference names in this input: through ``fullUrl`` first, then ``Type/id``."""
    if reference in full_urls:
        return full_urls[reference]
    found = re.search(r"(?:^|/)([A-Z][A-Za-z]+)/([A-Za-z0-9\-.]{1,64})(?:/_history/[^/]+)?$", reference)
    return f"{found.group(1)}/{found.group(2)}" if found else None


def patient_references(resource: Mapping[str, Any], elements: Sequence[str]) -> list[tuple[str, str]]:
    """``(element, reference)`` for each element of ``elements`` that holds a Reference with a ``reference``."""
    out = []
    for element in elements:
        value = resource.get(element)
        if isinstance(value, dict) and isinstance(value.get("reference"), str):
            out.append((element, value["reference"]))
    return out
