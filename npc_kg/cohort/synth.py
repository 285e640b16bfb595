"""Synthetic cohorts of recurrent-NPC patients for tests and benchmarks (no patient is real).

``synth(n, seed, path)`` writes ``n`` made-up patients in the patient model of
``docs/patient-model.md`` as N-Triples, Turtle or CSV (the CSV layout of
``mappings/cohort-csv.yaml``), or as a FHIR Bulk Data export in a folder (``fhir-ndjson``,
:mod:`npc_kg.cohort.synth_fhir`). The distributions are documented in ``docs/cohort.md``; they are
invented to exercise the engine (missing data, narrower finding classes, external codes,
several recurrences, ill-typed literals, patient-model breakers) and carry no clinical meaning.

Output is deterministic for a seed, streamed patient by patient (constant memory) and atomic.
Every patient's triples are contiguous and start with its ``rdf:type npc:Patient`` triple, as
``npc-kg assess-cohort`` expects.
"""

from __future__ import annotations

import csv
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from rdflib import RDF, RDFS, URIRef

from npc_kg.atomic import atomic_output
from npc_kg.cohort.csv_mapping import CsvMapping, load_mapping
from npc_kg.errors import InputError
from npc_kg.namespace import NPC, PATIENT, PREFIXES

__all__ = ["ERROR_KINDS", "FORMATS", "SynthFinding", "SynthPatient", "generate", "synth"]

FORMATS = ("nt", "ttl", "csv", "fhir-ndjson")

_XSD = PREFIXES["xsd"]
_DCT = PREFIXES["dcterms"]
_TYPE = str(RDF.type)
_IDENTIFIER = _DCT + "identifier"

ERROR_KINDS = (
    "ill-typed-age",
    "ill-typed-months",
    "finding-without-status",
    "two-statuses",
    "status-not-a-status",
    "patient-without-identifier",
    "syntax",
)
"""Defects injected with ``error_rate``: ill-typed literals, patient-model breakers, and (only in
N-Triples and CSV, only with ``syntax_errors=True``) a record that cannot be parsed."""

# (value, weight) tables. Synthetic: tuned to exercise every branch, not to mimic a real registry.
_COURSES = ((1, 80), (2, 17), (3, 3))
_ECOG = ((0, 30), (1, 45), (2, 15), (3, 7), (4, 3))
_N_RECURRENCES = ((1, 85), (2, 12), (0, 3))
_RECURRENCE_SITE = (
    (NPC.LocalRecurrence, 55),
    (NPC.RegionalRecurrence, 25),
    (NPC.LocoregionalRecurrence, 15),
    (NPC.ResidualDiseaseAfterFirstRadicalRadiotherapy, 5),
)
_RT = ((NPC.rT1, 25), (NPC.rT2, 30), (NPC.rT3, 25), (NPC.rT4, 20))
_RN = ((NPC.rN0, 45), (NPC.rN1, 30), (NPC.rN2, 17), (NPC.rN3, 8))
# finding class, P(present), P(absent); the rest is "not recorded".
_FINDINGS = (
    ("skull-base", NPC.SkullBaseBoneDestruction, 0.15, 0.77),
    ("cranial-nerve", NPC.CranialNervePalsy, 0.08, 0.85),
    ("distant-metastasis", NPC.DistantMetastasis, 0.05, 0.88),
    ("neck-adherent", NPC.NeckLesionAdherentToDeepTissueOrSkin, 0.04, 0.86),
    ("advanced-age", NPC.AdvancedAge, 0.03, 0.90),
    ("frailty", NPC.Frailty, 0.03, 0.90),
    ("poor-condition", NPC.PoorGeneralCondition, 0.04, 0.90),
    ("hepatic", NPC.HepaticInsufficiency, 0.02, 0.92),
    ("renal", NPC.RenalInsufficiency, 0.02, 0.92),
    ("other", NPC.OtherContraindicationToSurgery, 0.02, 0.90),
)
_NARROWER_SHARE = 0.3  # share of present/absent findings coded with a narrower (e.g. HP) class
_MISSING_PATIENT_FIELD = 0.04
_RECURRENCE_ABSENT = 0.04


@dataclass
class SynthFinding:
    """One finding record: its key (CSV slot), classes, status IRI (None: no status) and properties."""

    key: str
    node: str
    classes: list[str]
    statuses: list[str]
    props: list[tuple[str, str]] = field(default_factory=list)  # (predicate IRI, N-Triples term)


@dataclass
class SynthPatient:
    """One synthetic patient: IRI, identifier, data properties, finding records, injected defect."""

    iri: str
    identifier: str | None
    props: list[tuple[str, str]]
    findings: list[SynthFinding]
    defect: str | None = None

    def ntriples(self) -> list[str]:
        """Return the patient's N-Triples lines; the ``rdf:type npc:Patient`` line comes first."""
        s = f"<{self.iri}>"
        lines = [f"{s} <{_TYPE}> <{NPC.Patient}> ."]
        if self.identifier is not None:
            lines.append(f'{s} <{_IDENTIFIER}> "{self.identifier}" .')
        lines += [f"{s} <{p}> {o} ." for p, o in self.props]
        for finding in self.findings:
            lines.append(f"{s} <{NPC.hasFinding}> <{finding.node}> .")
        for finding in self.findings:
            f = f"<{finding.node}>"
            lines += [f"{f} <{_TYPE}> <{c}> ." for c in finding.classes]
            lines += [f"{f} <{NPC.findingStatus}> <{st}> ." for st in finding.statuses]
            lines += [f"{f} <{p}> {o} ." for p, o in finding.props]
        if self.defect == "syntax":
            lines[-1] = lines[-1].replace("> .", " .", 1)  # unterminated IRI: not N-Triples
        return lines


def _pick(rng: random.Random, table: tuple[tuple[object, int], ...]) -> object:
    values, weights = zip(*table, strict=True)
    return rng.choices(values, weights=weights)[0]


def _lit(value: object, datatype: str) -> str:
    return f'"{value}"^^<{_XSD}{datatype}>'


def _narrower_classes() -> dict[str, list[str]]:
    """Subclasses of each finding class in the ontology (e.g. HP:0006824 under cranial nerve palsy)."""
    from npc_kg.kg.load import load

    graph = load()
    narrower: dict[str, list[str]] = {}
    for _key, cls, _p, _a in _FINDINGS:
        subs = sorted(str(s) for s in graph.subjects(RDFS.subClassOf, URIRef(cls)) if isinstance(s, URIRef))
        narrower[str(cls)] = subs
    return narrower


def generate(n: int, seed: int, *, error_rate: float = 0.0, syntax_errors: bool = True) -> Iterator[SynthPatient]:
    """Yield ``n`` synthetic patients, deterministically for ``seed``."""
    if n < 0:
        raise InputError("--n must be >= 0")
    if not 0.0 <= error_rate <= 1.0:
        raise InputError("--error-rate must be between 0 and 1")
    rng = random.Random(seed)
    narrower = _narrower_classes()
    kinds = [k for k in ERROR_KINDS if syntax_errors or k != "syntax"]
    width = max(7, len(str(n)))
    for i in range(1, n + 1):
        pid = f"SYN-{seed}-{i:0{width}d}"
        iri = f"{PATIENT}{pid}"
        props: list[tuple[str, str]] = []
        if rng.random() >= _MISSING_PATIENT_FIELD:
            props.append((str(NPC.age), _lit(max(18, min(92, round(rng.gauss(50, 11)))), "integer")))
        if rng.random() >= _MISSING_PATIENT_FIELD:
            props.append((str(NPC.radiotherapyCourses), _lit(_pick(rng, _COURSES), "integer")))
        if rng.random() >= 2 * _MISSING_PATIENT_FIELD:
            props.append((str(NPC.ecogPerformanceStatus), _lit(_pick(rng, _ECOG), "integer")))
        findings: list[SynthFinding] = []
        for r in range(1, int(_pick(rng, _N_RECURRENCES)) + 1):  # type: ignore[call-overload]
            site = str(_pick(rng, _RECURRENCE_SITE))
            classes = [site]
            if site != str(NPC.ResidualDiseaseAfterFirstRadicalRadiotherapy) and rng.random() < 0.5:
                classes.append(str(NPC.RecurrenceAfterRadiotherapy))
            status = NPC.Absent if rng.random() < _RECURRENCE_ABSENT else NPC.Present
            rec = SynthFinding(f"recurrence-{r}", f"{iri}/recurrence-{r}", classes, [str(status)])
            if rng.random() < 0.93:
                rec.props.append((str(NPC.rTCategory), f"<{_pick(rng, _RT)}>"))
            if rng.random() < 0.93:
                rec.props.append((str(NPC.rNCategory), f"<{_pick(rng, _RN)}>"))
            if rng.random() < 0.9:
                rec.props.append((str(NPC.monthsSinceRadiotherapy), _lit(round(rng.lognormvariate(3.0, 0.6), 1), "decimal")))
            findings.append(rec)
        for key, cls, p_present, p_absent in _FINDINGS:
            u = rng.random()
            if u >= p_present + p_absent:
                continue
            status = NPC.Present if u < p_present else NPC.Absent
            subs = narrower[str(cls)]
            chosen = rng.choice(subs) if subs and rng.random() < _NARROWER_SHARE else str(cls)
            findings.append(SynthFinding(key, f"{iri}/{key}", [chosen], [str(status)]))
        patient = SynthPatient(iri, pid, props, findings)
        if error_rate and rng.random() < error_rate:
            _inject(rng, patient, rng.choice(kinds))
        yield patient


def _inject(rng: random.Random, patient: SynthPatient, kind: str) -> None:
    patient.defect = kind
    if kind == "ill-typed-age":
        patient.props = [(p, o) for p, o in patient.props if p != str(NPC.age)]
        patient.props.append((str(NPC.age), _lit(rng.choice(["abc", "58.5", "unknown"]), "integer")))
        return
    recurrences = [f for f in patient.findings if f.key.startswith("recurrence-")]
    if kind == "ill-typed-months" and recurrences:
        rec = recurrences[0]
        rec.props = [(p, o) for p, o in rec.props if p != str(NPC.monthsSinceRadiotherapy)]
        rec.props.append((str(NPC.monthsSinceRadiotherapy), _lit("n/a", "decimal")))
    elif kind == "finding-without-status" and patient.findings:
        patient.findings[-1].statuses = []
    elif kind == "two-statuses" and patient.findings:
        patient.findings[-1].statuses = [str(NPC.Present), str(NPC.Absent)]
    elif kind == "status-not-a-status" and patient.findings:
        patient.findings[-1].statuses = [str(NPC.rT2)]
    elif kind == "patient-without-identifier":
        patient.identifier = None
    elif kind == "syntax":
        pass  # applied when serialising
    else:  # the patient has nothing to break in this way: break the identifier instead
        patient.defect = "patient-without-identifier"
        patient.identifier = None


def _turtle_block(patient: SynthPatient) -> str:
    """Turtle for one patient: the N-Triples lines are valid Turtle; syntax defects are N-Triples only."""
    saved, patient.defect = patient.defect, None if patient.defect == "syntax" else patient.defect
    try:
        return "\n".join(patient.ntriples()) + "\n\n"
    finally:
        patient.defect = saved


def _write_csv(handle: IO[str], patients: Iterator[SynthPatient], mapping: CsvMapping) -> int:
    writer = csv.writer(handle, lineterminator="\n")
    writer.writerow(mapping.columns())
    count = 0
    for patient in patients:
        writer.writerow(mapping.row_for(patient))
        count += 1
    return count


def synth(
    n: int,
    seed: int,
    path: str | Path,
    *,
    fmt: str | None = None,
    error_rate: float = 0.0,
    syntax_errors: bool = True,
) -> int:
    """Write ``n`` synthetic patients to ``path`` (format from ``fmt`` or the suffix); return ``n``.

    ``fhir-ndjson`` writes a FHIR Bulk Data export into the folder ``path`` (new, or empty).
    """
    target = Path(path)
    fmt = fmt or target.suffix.lstrip(".").lower()
    if fmt not in FORMATS:
        raise InputError(f"unknown synthetic-cohort format {fmt!r} (use one of {', '.join(FORMATS)})", path=str(path))
    patients = generate(n, seed, error_rate=error_rate, syntax_errors=syntax_errors and fmt != "ttl")
    if fmt == "fhir-ndjson":
        from npc_kg.cohort.synth_fhir import write_export

        return write_export(patients, target)
    count = 0
    with atomic_output(target, newline="") as handle:
        if fmt == "csv":
            count = _write_csv(handle, patients, load_mapping())
        elif fmt == "ttl":
            handle.write(f"# Synthetic cohort: npc-kg synth --n {n} --seed {seed}. No patient is real.\n\n")
            for patient in patients:
                handle.write(_turtle_block(patient))
                count += 1
        else:
            buffer: list[str] = []
            for patient in patients:
                buffer.extend(patient.ntriples())
                count += 1
                if len(buffer) > 20000:
                    handle.write("\n".join(buffer) + "\n")
                    buffer.clear()
            if buffer:
                handle.write("\n".join(buffer) + "\n")
    return count
