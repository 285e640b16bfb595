"""Synthetic cohorts of recurrent-NPC patients for tests and benchmarks (no patient is real).

``synth(n, seed, path)`` writes ``n`` made-up patients in the patient model of
``docs/patient-model.md`` as N-Triples, Turtle or CSV (the CSV layout of
``mappings/cohort-csv.yaml`` and the loaded criteria packs), or as a FHIR Bulk Data export in a
folder (``fhir-ndjson``, :mod:`npc_kg.cohort.synth_fhir`). The findings drawn are those the
treatment's criteria concern (``npc:concernsFinding``: the data, not a list here); the
distributions are data too, in ``mappings/synth.yaml`` (and a pack's ``synth.yaml``),
documented in ``docs/cohort.md``. They are invented to exercise the engine (missing data,
narrower finding classes, external codes, several recurrences, ill-typed literals,
patient-model breakers) and carry no clinical meaning.

Output is deterministic for a seed, streamed patient by patient (constant memory) and atomic.
Every patient's triples are contiguous and start with its ``rdf:type npc:Patient`` triple, as
``npc-kg assess-cohort`` expects.
"""

from __future__ import annotations

import csv
import os
import random
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from rdflib import RDF, RDFS, URIRef

from npc_kg.atomic import atomic_output, check_not_input
from npc_kg.cohort.csv_mapping import CsvMapping, expand, load_mapping
from npc_kg.errors import InputError, OutputError
from npc_kg.kg.packs import PackInput, finding_key, using_packs
from npc_kg.namespace import NPC, PATIENT, PREFIXES
from npc_kg.resources import data_path, knowledge_files
from npc_kg.suggest import did_you_mean
from npc_kg.yamlio import read_yaml

__all__ = ["ERROR_KINDS", "FORMATS", "Distributions", "SynthFinding", "SynthPatient", "distributions", "generate",
           "read_rates", "synth"]

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


# ---------------------------------------------------------------------------------------------
# The distributions: mappings/synth.yaml, the packs' synth.yaml, and the treatment's criteria
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Field:
    """A property drawn for a patient or a recurrence record: ``(predicate, N-Triples object)`` or nothing."""

    property: str
    missing: float
    datatype: str | None = None
    weights: tuple[tuple[object, int], ...] = ()
    normal: tuple[float, float, int, int] | None = None
    lognormal: tuple[float, float, int] | None = None

    def draw(self, rng: random.Random) -> tuple[str, str] | None:
        if rng.random() < self.missing:
            return None
        if self.normal is not None:
            mean, sd, low, high = self.normal
            value: object = max(low, min(high, round(rng.gauss(mean, sd))))
        elif self.lognormal is not None:
            mu, sigma, digits = self.lognormal
            value = round(rng.lognormvariate(mu, sigma), digits)
        else:
            value = _pick(rng, self.weights)
        if self.datatype is None:
            return self.property, f"<{value}>"
        return self.property, f'"{value}"^^<{self.datatype}>'


@dataclass(frozen=True)
class Distributions:
    """What :func:`generate` draws from: ``mappings/synth.yaml`` (and the packs') plus the treatment's findings."""

    patient: tuple[_Field, ...]
    recurrence_count: tuple[tuple[object, int], ...]
    sites: tuple[tuple[object, int], ...]
    also_class: str
    also_share: float
    also_not_with: frozenset[str]
    recurrence_absent: float
    recurrence_fields: tuple[_Field, ...]
    findings: tuple[tuple[str, str, float, float], ...]
    """``(CSV key, finding class, P(present), P(absent))`` in the order drawn."""
    narrower: dict[str, tuple[str, ...]]
    narrower_share: float


def _share(value: Any, what: str, where: str) -> float:
    if not isinstance(value, int | float) or isinstance(value, bool) or not 0 <= value <= 1:
        raise InputError(f"{what} must be a number from 0 to 1", path=where)
    return float(value)


def _field(spec: Any, prefixes: dict[str, str], where: str) -> _Field:
    datatype = expand(spec["datatype"], prefixes, where) if spec.get("datatype") else None
    normal = spec.get("normal")
    lognormal = spec.get("lognormal")
    weights = tuple((k if datatype else expand(k, prefixes, where), int(v)) for k, v in (spec.get("weights") or {}).items())
    if not weights and normal is None and lognormal is None:
        raise InputError(f"{spec.get('property')}: give weights, normal or lognormal", path=where)
    return _Field(
        property=expand(spec["property"], prefixes, where),
        missing=_share(spec.get("missing", 0), f"{spec.get('property')}: missing", where),
        datatype=datatype,
        weights=weights,
        normal=(float(normal["mean"]), float(normal["sd"]), int(normal["min"]), int(normal["max"])) if normal else None,
        lognormal=(float(lognormal["mu"]), float(lognormal["sigma"]), int(lognormal.get("digits", 1))) if lognormal else None,
    )


def _rates(doc: Any, prefixes: dict[str, str], where: str) -> dict[str, tuple[float, float]]:
    rates: dict[str, tuple[float, float]] = {}
    for name, rate in ((doc.get("findings") or {}).get("rates") or {}).items():
        unknown = sorted(set(rate) - {"present", "absent"}) if isinstance(rate, dict) else []
        if unknown:
            hint = did_you_mean(str(unknown[0]), ("present", "absent"))
            raise InputError(f"findings: rates: {name}: unknown key {unknown[0]!r}{'; ' + hint if hint else ''} "
                             "(a rate has present and absent)", path=where)
        present = _share(rate.get("present", 0), f"findings: rates: {name}: present", where)
        absent = _share(rate.get("absent", 0), f"findings: rates: {name}: absent", where)
        if present + absent > 1:
            raise InputError(f"findings: rates: {name}: present + absent must not exceed 1", path=where)
        rates[expand(name, prefixes, where)] = (present, absent)
    return rates


_PACK_RATES_FORMAT = "npc-kg-synth/1"
_PACK_RATES_KEYS = {"format", "prefixes", "findings"}


def read_rates(path: str | Path, prefixes: dict[str, str] | None = None) -> dict[str, tuple[float, float]]:
    """The per-finding rates ``{finding class IRI: (P(present), P(absent))}`` of a synth.yaml (a pack's, say)."""
    where = str(path)
    doc = read_yaml(where, "synth distributions") or {}
    if not isinstance(doc, dict) or doc.get("format") != _PACK_RATES_FORMAT:
        raise InputError(f"a pack's synth.yaml starts with format: {_PACK_RATES_FORMAT} (docs/packs.md)", path=where)
    for key, allowed in (("", _PACK_RATES_KEYS), ("findings", {"rates"})):
        section = doc.get(key) if key else doc
        for name in section if isinstance(section, dict) else ():
            if name not in allowed:
                hint = did_you_mean(str(name), allowed)
                raise InputError(f"{key + ': ' if key else ''}unknown key {name!r}{'; ' + hint if hint else ''} "
                                 f"(a pack's synth.yaml has {', '.join(sorted(allowed))})", path=where)
    try:
        known = {**(prefixes or {}), **{str(k): str(v) for k, v in (doc.get("prefixes") or {}).items()}}
        return _rates(doc, known, where)
    except (KeyError, TypeError, AttributeError, ValueError) as error:
        raise InputError(f"malformed synth distributions: missing or wrong key {error}", path=where) from None


def distributions(treatment: str | URIRef | None = None) -> Distributions:
    """The distributions of the active configuration for ``treatment`` (default: every treatment the
    loaded packs state criteria of, in IRI order): ``mappings/synth.yaml``, each pack's
    ``synth.yaml`` rates, and the findings the treatment's criteria concern, in criterion order."""
    from npc_kg.kg.load import load
    from npc_kg.kg.packs import active_packs
    from npc_kg.shacl.engines import engines_for

    where = str(data_path("mappings", "synth.yaml"))
    doc = read_yaml(where, "synth distributions")
    try:
        prefixes = {str(k): str(v) for k, v in (doc.get("prefixes") or {}).items()}
        rates = _rates(doc, prefixes, where)
        for pack in active_packs():
            extra = pack.data_file("synth.yaml")
            if extra is not None:
                rates.update(read_rates(extra, prefixes))
        findings_doc = doc["findings"]
        default = findings_doc["default"]
        default_rate = (_share(default["present"], "findings: default: present", where),
                        _share(default["absent"], "findings: default: absent", where))
        recurrences = doc["recurrences"]
        also = recurrences["also"]
        engines = engines_for()
        treatments = [engines.treatment(treatment)] if treatment is not None else [URIRef(t) for t in engines.treatments()]
        kg = load()
        episodes = {str(s) for s in kg.transitive_subjects(RDFS.subClassOf, NPC.ResidualOrRecurrentDisease)}
        keys = {f.cls: f.key for f in load_mapping().findings if f.cls}
        drawn: dict[str, None] = {}
        for target in treatments:
            for criterion in engines.criteria_of(target):
                drawn.update({f: None for f in criterion.findings if f not in episodes})
        findings = []
        for finding in drawn:
            present, absent = rates.get(finding, default_rate)
            key = keys.get(finding) or finding_key(finding)
            findings.append((key, finding, present, absent))
        narrower = {f: tuple(sorted(str(s) for s in kg.subjects(RDFS.subClassOf, URIRef(f)) if isinstance(s, URIRef)))
                    for _k, f, _p, _a in findings}
        return Distributions(
            patient=tuple(_field(spec, prefixes, where) for spec in doc["patient"]),
            recurrence_count=tuple((int(k), int(v)) for k, v in recurrences["count"].items()),
            sites=tuple((expand(k, prefixes, where), int(v)) for k, v in recurrences["site"].items()),
            also_class=expand(also["class"], prefixes, where),
            also_share=_share(also["share"], "recurrences: also: share", where),
            also_not_with=frozenset(expand(c, prefixes, where) for c in also.get("not_with") or []),
            recurrence_absent=_share(recurrences["absent"], "recurrences: absent", where),
            recurrence_fields=tuple(_field(spec, prefixes, where) for spec in recurrences.get("properties") or []),
            findings=tuple(findings),
            narrower=narrower,
            narrower_share=_share(findings_doc["narrower_share"], "findings: narrower_share", where),
        )
    except (KeyError, TypeError, AttributeError, ValueError) as error:
        raise InputError(f"malformed synth distributions: missing or wrong key {error}", path=where) from None


def generate(n: int, seed: int, *, error_rate: float = 0.0, syntax_errors: bool = True,
             treatment: str | URIRef | None = None) -> Iterator[SynthPatient]:
    """Yield ``n`` synthetic patients, deterministically for ``seed``, drawing the findings of ``treatment``'s
    criteria (default: of every treatment the active configuration's packs state criteria of)."""
    if not isinstance(n, int) or isinstance(n, bool) or n < 0:
        raise InputError(f"--n / n: the number of patients is a whole number >= 0, not {n!r}")
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise InputError(f"--seed / seed: a whole number, not {seed!r} (the same seed gives the same cohort)")
    if not isinstance(error_rate, int | float) or not 0.0 <= error_rate <= 1.0:
        raise InputError(f"--error-rate / error_rate: a number between 0 and 1, not {error_rate!r}")
    spec = distributions(treatment)
    return _patients(n, seed, spec, error_rate, syntax_errors)


def _patients(n: int, seed: int, spec: Distributions, error_rate: float, syntax_errors: bool) -> Iterator[SynthPatient]:
    rng = random.Random(seed)
    kinds = [k for k in ERROR_KINDS if syntax_errors or k != "syntax"]
    width = max(7, len(str(n)))
    for i in range(1, n + 1):
        pid = f"SYN-{seed}-{i:0{width}d}"
        iri = f"{PATIENT}{pid}"
        props = [drawn for drawn in (f.draw(rng) for f in spec.patient) if drawn is not None]
        findings: list[SynthFinding] = []
        for r in range(1, int(_pick(rng, spec.recurrence_count)) + 1):  # type: ignore[call-overload]
            site = str(_pick(rng, spec.sites))
            classes = [site]
            if site not in spec.also_not_with and rng.random() < spec.also_share:
                classes.append(spec.also_class)
            status = NPC.Absent if rng.random() < spec.recurrence_absent else NPC.Present
            rec = SynthFinding(f"recurrence-{r}", f"{iri}/recurrence-{r}", classes, [str(status)])
            rec.props += [drawn for drawn in (f.draw(rng) for f in spec.recurrence_fields) if drawn is not None]
            findings.append(rec)
        for key, cls, p_present, p_absent in spec.findings:
            u = rng.random()
            if u >= p_present + p_absent:
                continue
            status = NPC.Present if u < p_present else NPC.Absent
            subs = spec.narrower[cls]
            chosen = rng.choice(subs) if subs and rng.random() < spec.narrower_share else cls
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
        patient.findings[-1].statuses = [str(NPC.Patient)]  # an IRI of the model that is no finding status
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
    treatment: str | URIRef | None = None,
    packs: Iterable[PackInput] | None = None,
) -> int:
    """Write ``n`` synthetic patients to ``path`` (format from ``fmt`` or the suffix); return ``n``.

    ``packs`` are criteria-pack folders loaded beside the package's (``docs/packs.md``); the
    findings drawn are those of ``treatment``'s criteria (default: of every loaded treatment).
    ``fhir-ndjson`` writes a FHIR Bulk Data export into the folder ``path`` (new, or empty).
    """
    if not isinstance(path, str | os.PathLike):
        raise OutputError(f"synth writes to a file name or a path, not {type(path).__name__}")
    with using_packs(packs):
        return _synth(n, seed, Path(path), fmt, error_rate, syntax_errors, treatment)


def _synth(n: int, seed: int, target: Path, fmt: str | None, error_rate: float, syntax_errors: bool,
           treatment: str | URIRef | None) -> int:
    path = target
    fmt = fmt or target.suffix.lstrip(".").lower()
    if fmt not in FORMATS:
        raise InputError(f"unknown synthetic-cohort format {fmt!r} (use one of {', '.join(FORMATS)})", path=str(path))
    check_not_input(target, knowledge_files())  # synthetic patients never replace the package's own files
    patients = generate(n, seed, error_rate=error_rate, syntax_errors=syntax_errors and fmt != "ttl", treatment=treatment)
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
