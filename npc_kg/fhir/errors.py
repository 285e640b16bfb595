"""Errors of the FHIR reader: each names the file, the NDJSON line or the JSON pointer, and what to do.

No message quotes a patient value: not an id, a reference, a code or a date. Messages name the
element (``subject``), the rule or the resource type instead. All are
:class:`~npc_kg.errors.InputError` (exit code 2).
"""

from __future__ import annotations

from npc_kg.errors import InputError

__all__ = [
    "DuplicateIdError",
    "FhirInputError",
    "FhirMappingError",
    "MalformedElementError",
    "MissingReferenceError",
    "NotFhirError",
    "NotJsonError",
    "SeveralPatientsError",
    "UnsupportedResourceError",
]


class FhirInputError(InputError):
    """FHIR input that cannot be read. ``pointer`` is the JSON pointer of the resource (JSON input)."""

    def __init__(self, message: str, *, path: str | None = None, line: int | None = None, pointer: str | None = None) -> None:
        self.pointer = pointer
        super().__init__(f"{pointer}: {message}" if pointer else message, path=path, line=line)
        self.reason = message


class NotJsonError(FhirInputError):
    """The file (or NDJSON line) is not JSON."""


class NotFhirError(FhirInputError):
    """JSON that is not a FHIR resource (no ``resourceType``, or not a JSON object)."""


class UnsupportedResourceError(FhirInputError):
    """A ``resourceType`` that is not a FHIR R4 resource type, or a Bundle type npc-kg does not read."""


class MissingReferenceError(FhirInputError):
    """A reference npc-kg follows (the patient of a resource) names a resource that is not in the input."""


class DuplicateIdError(FhirInputError):
    """Two resources of the same type with the same id."""


class MalformedElementError(FhirInputError):
    """An element npc-kg reads has the wrong form: a code that is text, a birth date that is no date."""


class SeveralPatientsError(FhirInputError):
    """A bundle (or a single-patient input) holds resources of more than one patient."""


class FhirMappingError(InputError):
    """A FHIR mapping file (``mappings/fhir-mcode.yaml`` or a site's ``--mapping`` file) is malformed."""
