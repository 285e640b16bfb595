"""How to record a missing finding: dict key, CSV column, Turtle line and FHIR codes, all read from data.

For each finding class that an assessment lists as missing, :func:`recording_guide` says how
to record it present or absent in each input form npc-kg reads:

- the key of :func:`npc_kg.patient_from_dict` (from the ontology, as the dict reader does);
- the CSV column of ``mappings/cohort-csv.yaml`` (the status column, and the code column and
  code when the finding is chosen by a code);
- a Turtle line in the patient model (``docs/patient-model.md``);
- FHIR codes mapped to the class in ``mappings/fhir-codes.sssom.tsv`` when that file exists
  (none otherwise: no code is ever written in Python).
"""

from __future__ import annotations

import csv
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rdflib import RDFS, URIRef

from npc_kg.namespace import PREFIXES, curie
from npc_kg.resources import data_path

__all__ = ["FHIR_CODES_FILE", "FhirCode", "RecordingGuide", "fhir_codes", "recording_guide"]

FHIR_CODES_FILE = ("mappings", "fhir-codes.sssom.tsv")
"""Where FHIR codes of npc-kg classes are read from (SSSOM TSV; absent until FHIR input exists)."""

_LOCK = threading.Lock()
_CACHE: dict[str, Any] = {}


@dataclass(frozen=True)
class FhirCode:
    """A code that a FHIR resource may carry for a finding, from the SSSOM code table."""

    code: str
    label: str
    predicate: str
    """The SSSOM predicate (``skos:exactMatch``: the class itself; a narrower code counts for it)."""


@dataclass(frozen=True)
class RecordingGuide:
    """How to record one finding class in each input form."""

    finding: str
    label: str
    curie: str
    dict_key: str | None
    csv_column: str | None
    csv_code: str | None
    """When the CSV picks the class with a code column: ``column=code``."""
    turtle: str
    fhir: tuple[FhirCode, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "finding": self.finding, "label": self.label, "curie": self.curie, "dict_key": self.dict_key,
            "csv_column": self.csv_column, "csv_code": self.csv_code, "turtle": self.turtle,
            "fhir": [{"code": c.code, "label": c.label, "predicate": c.predicate} for c in self.fhir],
        }


def _dict_keys() -> dict[str, str]:
    """Finding class IRI -> the shortest key :func:`npc_kg.patient_from_dict` accepts for it."""
    from npc_kg.patient import finding_keys

    by_class: dict[str, str] = {}
    for key, cls in sorted(finding_keys().items(), key=lambda kv: (len(kv[0]), kv[0])):
        by_class.setdefault(str(cls), key)
    return by_class


def _csv_columns() -> dict[str, tuple[str, str | None]]:
    """Finding class IRI -> (status column, ``code column=code`` or None) from the cohort CSV mapping."""
    from npc_kg.cohort.csv_mapping import load_mapping

    mapping = load_mapping()
    out: dict[str, tuple[str, str | None]] = {}
    for finding in mapping.findings:
        if finding.cls:
            out.setdefault(finding.cls, (finding.status_column, None))
        for code, cls in finding.classes.items():
            out.setdefault(cls, (finding.status_column, f"{finding.class_column}={code}"))
    return out


def fhir_codes(path: Path | None = None) -> dict[str, list[FhirCode]]:
    """Finding class IRI -> FHIR codes, from the SSSOM code table (empty if the file does not exist)."""
    where = path or data_path(*FHIR_CODES_FILE)
    if not where.is_file():
        return {}
    lines = [line for line in where.read_text(encoding="utf-8").splitlines() if line and not line.startswith("#")]
    expanded = {f"{prefix}:": base for prefix, base in PREFIXES.items()}
    out: dict[str, list[FhirCode]] = {}

    def npc_iri(value: str) -> str | None:
        for prefix, base in expanded.items():
            if prefix == "npc:" and value.startswith(prefix):
                return base + value[len(prefix):]
        return value if value.startswith(PREFIXES["npc"]) else None

    for row in csv.DictReader(lines, delimiter="\t"):
        subject, obj = row.get("subject_id") or "", row.get("object_id") or ""
        predicate = row.get("predicate_id") or ""
        for mine, code, label in ((subject, obj, row.get("object_label")), (obj, subject, row.get("subject_label"))):
            cls = npc_iri(mine)
            if cls is not None and code and npc_iri(code) is None:
                out.setdefault(cls, []).append(FhirCode(code, label or "", predicate))
    return out


def recording_guide(finding: str, *, patient: str | None = None) -> RecordingGuide:
    """How to record ``finding`` (a finding class IRI) for ``patient`` (an IRI, for the Turtle line)."""
    from npc_kg.kg.load import load

    with _LOCK:
        if not _CACHE:
            _CACHE.update(keys=_dict_keys(), csv=_csv_columns(), fhir=fhir_codes())
        keys, columns, codes = _CACHE["keys"], _CACHE["csv"], _CACHE["fhir"]
    label = load().value(URIRef(finding), RDFS.label)
    short = curie(finding)
    subject = f"<{patient}>" if patient else "ex:patient"
    turtle = f"{subject} npc:hasFinding [ a {short} ; npc:findingStatus npc:Present ] .   # or npc:Absent"
    column, code = columns.get(finding, (None, None))
    return RecordingGuide(
        finding=finding, label=str(label) if label is not None else short, curie=short, dict_key=keys.get(finding),
        csv_column=column, csv_code=code, turtle=turtle, fhir=tuple(codes.get(finding, ())),
    )
