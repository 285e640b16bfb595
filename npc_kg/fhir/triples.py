"""N-Triples of a mapped FHIR patient: the patient model, plus provenance of every finding record.

Every finding record points to the resources it was read from (``prov:wasDerivedFrom``). A source
node is named under the patient's IRI (``<patient>/fhir/Condition/abc``: an npc-kg name, never
a FHIR server URL, never dereferenced), typed ``prov:Entity`` and with the FHIR RDF class of the
resource type (``fhir:Condition``), and carries the FHIR relative reference as
``dcterms:identifier`` (``"Condition/abc"``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any
from urllib.parse import quote

from rdflib import RDF
from rdflib.namespace import DCTERMS, PROV

from npc_kg.fhir.model import FindingRecord, SourceRef
from npc_kg.namespace import NPC

__all__ = ["escape", "iri_part", "patient_lines"]

_UNRESERVED = re.compile(r"[A-Za-z0-9._~-]+")
_TYPE = f"<{RDF.type}>"
_IDENTIFIER = f"<{DCTERMS.identifier}>"
_DERIVED = f"<{PROV.wasDerivedFrom}>"
_ENTITY = f"<{PROV.Entity}>"
_PATIENT = f"<{NPC.Patient}>"
_HAS_FINDING = f"<{NPC.hasFinding}>"
_STATUS = f"<{NPC.findingStatus}>"
_STATUS_TERMS = {"present": f"<{NPC.Present}>", "absent": f"<{NPC.Absent}>"}


def escape(text: str) -> str:
    """An N-Triples string literal body."""
    return (text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r"))


def iri_part(text: str) -> str:
    """``text`` percent-encoded for use inside an IRI path segment."""
    return text if _UNRESERVED.fullmatch(text) else quote(text, safe="-._~")


def _source_node(patient: str, ref: SourceRef) -> str:
    return f"<{patient}/fhir/{iri_part(ref.type)}/{iri_part(ref.id)}>"


def patient_lines(
    patient: str,
    source_id: str,
    patient_source: SourceRef | None,
    properties: Iterable[tuple[str, Any, str]],
    records: Sequence[FindingRecord],
    type_base: str,
) -> list[str]:
    """The N-Triples lines of one patient (the ``rdf:type npc:Patient`` line first)."""
    s = f"<{patient}>"
    lines = [f"{s} {_TYPE} {_PATIENT} .", f'{s} {_IDENTIFIER} "{escape(source_id)}" .']
    sources: dict[SourceRef, str] = {}

    def source(ref: SourceRef) -> str:
        node = sources.get(ref)
        if node is None:
            node = sources[ref] = _source_node(patient, ref)
        return node

    if patient_source is not None:
        lines.append(f"{s} {_DERIVED} {source(patient_source)} .")
    for predicate, value, datatype in properties:
        text = str(value).lower() if isinstance(value, bool) else str(value)
        lines.append(f'{s} <{predicate}> "{escape(text)}"^^<{datatype}> .')
    for record in records:
        lines.append(f"{s} {_HAS_FINDING} <{record.node}> .")
    for record in records:
        r = f"<{record.node}>"
        lines += [f"{r} {_TYPE} <{cls}> ." for cls in record.classes]
        lines.append(f"{r} {_STATUS} {_STATUS_TERMS[record.status]} .")
        lines += [f"{r} <{p}> <{o}> ." for p, o in record.properties]
        lines += [f'{r} <{p}> "{escape(v)}"^^<{dt}> .' for p, v, dt in record.literals]
        lines += [f"{r} {_DERIVED} {source(ref)} ." for ref in record.sources]
    for ref, node in sources.items():
        lines.append(f"{node} {_TYPE} {_ENTITY} .")
        lines.append(f"{node} {_TYPE} <{type_base}{iri_part(ref.type)}> .")
        lines.append(f'{node} {_IDENTIFIER} "{escape(ref.reference)}" .')
    return lines
