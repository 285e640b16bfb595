"""Adversarial synthetic patients for the differential of every evaluator against pySHACL.

``generate(n, seed)`` starts from ``npc-kg synth``'s patients (the patient model of
``docs/patient-model.md``: several recurrences, narrower finding classes, mapped external codes,
missing records) and gives most of them one or two *mutations* (:data:`MUTATIONS`): odd
literal forms, ill-typed and out-of-range values, shared and blank-node finding records,
narrower classes, missing or double statuses, unknown predicates, no findings at all.

The output is N-Triples in which every patient's triples are contiguous and start with its
``rdf:type npc:Patient`` triple, as ``npc-kg assess-cohort`` reads them. A record shared with
another patient is written again, identically, in the other patient's block, so every block is
self-contained and the answers do not depend on where the cohort reader cuts its batches.
Deterministic for a seed. Every patient is made up; no value means anything clinically.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache

from rdflib import RDF, RDFS, URIRef

from npc_kg.cohort.synth import generate as synth_patients
from npc_kg.namespace import NPC, PREFIXES

__all__ = ["LITERAL_FORMS", "MUTATIONS", "Cohort", "generate"]

_XSD = PREFIXES["xsd"]
_TYPE = f"<{RDF.type}>"
_HAS_FINDING = f"<{NPC.hasFinding}>"
_STATUS = f"<{NPC.findingStatus}>"
_IDENTIFIER = f"<{PREFIXES['dcterms']}identifier>"
_INTEGER_FIELDS = (f"<{NPC.age}>", f"<{NPC.radiotherapyCourses}>", f"<{NPC.ecogPerformanceStatus}>")
_MONTHS = f"<{NPC.monthsSinceRadiotherapy}>"
_UNKNOWN = "http://example.org/adversarial/"  # predicates and classes no shape knows


def _lit(lexical: str, datatype: str | None = None, language: str | None = None) -> str:
    text = lexical.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    if language:
        return f'"{text}"@{language}'
    if datatype:
        return f'"{text}"^^<{datatype if ":" in datatype and "/" in datatype else _XSD + datatype}>'
    return f'"{text}"'


@dataclass
class _Record:
    """A finding record: its N-Triples node and its triples ``(predicate, object)``."""

    node: str
    triples: list[tuple[str, str]]


@dataclass
class _Patient:
    iri: str
    props: list[tuple[str, str]]
    records: list[_Record]
    links: list[str] = field(default_factory=list)  # extra npc:hasFinding objects (literals)
    shared: list[_Record] = field(default_factory=list)  # records of other patients it also has
    kinds: list[str] = field(default_factory=list)
    sources: list[_Patient] = field(default_factory=list)  # the patients whose records it shares

    def ntriples(self) -> list[str]:
        s = f"<{self.iri}>"
        lines = [f"{s} {_TYPE} <{NPC.Patient}> ."]
        lines += [f"{s} {p} {o} ." for p, o in self.props]
        records = self.records + self.shared
        lines += [f"{s} {_HAS_FINDING} {r.node} ." for r in records]
        lines += [f"{s} {_HAS_FINDING} {o} ." for o in self.links]
        for record in records:
            lines += [f"{record.node} {p} {o} ." for p, o in record.triples]
        return lines


@dataclass(frozen=True)
class Cohort:
    """The N-Triples of a cohort and the mutations each patient carries."""

    data: bytes
    kinds: dict[str, tuple[str, ...]]
    """Patient IRI -> its mutation kinds (empty: unmutated), with those of the patients it shares a record with."""


# -- mutations ------------------------------------------------------------------------------------
# Each takes (rng, patient, context) and changes the patient in place. Odd literal forms go on the
# patient's integer fields (xsd:integer 0..5 or 0..120), its identifier (xsd:string) and the
# months since radiotherapy of a recurrence record (xsd:decimal or xsd:integer, 0..600).

def _set(props: list[tuple[str, str]], predicate: str, *objects: str) -> None:
    props[:] = [(p, o) for p, o in props if p != predicate] + [(predicate, o) for o in objects]


def _integer_field(rng: random.Random, patient: _Patient, lexical: Callable[[int], str], datatype: str | None) -> None:
    _set(patient.props, rng.choice(_INTEGER_FIELDS), _lit(lexical(rng.randint(0, 5)), datatype))


def _months(rng: random.Random, patient: _Patient, value: str) -> None:
    records = [r for r in patient.records if any(p == _MONTHS for p, _o in r.triples)] or patient.records
    if not records:
        _set(patient.props, _INTEGER_FIELDS[0], value)  # nothing to put it on: the age gets it
        return
    record = rng.choice(records)
    _set(record.triples, _MONTHS, value)


def _some_record(rng: random.Random, patient: _Patient) -> _Record | None:
    return rng.choice(patient.records) if patient.records else None


def m_int_datatype(rng: random.Random, p: _Patient, _c: _Context) -> None:
    """``"5"^^xsd:int`` where the shape says ``sh:datatype xsd:integer`` (a different datatype)."""
    _integer_field(rng, p, str, "int")


def m_plus_sign(rng: random.Random, p: _Patient, _c: _Context) -> None:
    """``"+5"^^xsd:integer``: a valid lexical form that is not the canonical one."""
    _integer_field(rng, p, lambda v: f"+{v}", "integer")


def m_leading_zero(rng: random.Random, p: _Patient, _c: _Context) -> None:
    """``"05"^^xsd:integer``."""
    _integer_field(rng, p, lambda v: f"0{v}", "integer")


def m_equal_values(rng: random.Random, p: _Patient, _c: _Context) -> None:
    """Two lexical forms of one value (``"3"`` and ``"03"``): two RDF terms, so two values for ``sh:maxCount 1``."""
    value = rng.randint(0, 5)
    _set(p.props, rng.choice(_INTEGER_FIELDS), _lit(str(value), "integer"), _lit(f"0{value}", "integer"))


def m_decimal_zero(rng: random.Random, p: _Patient, _c: _Context) -> None:
    """``"4.0"^^xsd:decimal`` as months since radiotherapy (valid), or as an integer field (wrong datatype)."""
    value = rng.randint(0, 5)
    if rng.random() < 0.5:
        _months(rng, p, _lit(f"{value}.0", "decimal"))
    else:
        _set(p.props, rng.choice(_INTEGER_FIELDS), _lit(f"{value}.0", "decimal"))


def m_double(rng: random.Random, p: _Patient, _c: _Context) -> None:
    """``"1e0"^^xsd:double`` (not decimal, not integer)."""
    value = _lit(f"{rng.randint(0, 5)}e0", "double")
    if rng.random() < 0.5:
        _months(rng, p, value)
    else:
        _set(p.props, rng.choice(_INTEGER_FIELDS), value)


def m_boolean(rng: random.Random, p: _Patient, _c: _Context) -> None:
    """Booleans ``"1"``, ``"true"``, ``"yes"`` (ill-typed) where an integer is expected, and on an unknown predicate."""
    lexical = rng.choice(["1", "true", "yes", "0"])
    _set(p.props, rng.choice(_INTEGER_FIELDS), _lit(lexical, "boolean"))
    p.props.append((f"<{_UNKNOWN}flag>", _lit(rng.choice(["1", "true", "yes"]), "boolean")))


def m_language_tag(rng: random.Random, p: _Patient, _c: _Context) -> None:
    """A language-tagged identifier (``sh:datatype xsd:string`` rejects it) or integer field."""
    if rng.random() < 0.7:
        _set(p.props, _IDENTIFIER, _lit(p.iri.rsplit("/", 1)[-1], language=rng.choice(["en", "en-GB", "zh"])))
    else:
        _set(p.props, rng.choice(_INTEGER_FIELDS), _lit("3", language="en"))


def m_typed_string(rng: random.Random, p: _Patient, _c: _Context) -> None:
    """``"P-1"^^xsd:string`` instead of the plain literal (the same term in RDF 1.1), or a plain integer field."""
    if rng.random() < 0.7:
        _set(p.props, _IDENTIFIER, _lit(p.iri.rsplit("/", 1)[-1], "string"))
    else:
        _set(p.props, rng.choice(_INTEGER_FIELDS), _lit(str(rng.randint(0, 5))))


def m_ill_typed(rng: random.Random, p: _Patient, _c: _Context) -> None:
    """Ill-typed values every parser rejects: ``"abc"^^xsd:integer``, ``"4.5"^^xsd:integer``, ``"n/a"^^xsd:decimal``."""
    if rng.random() < 0.6:
        _set(p.props, rng.choice(_INTEGER_FIELDS), _lit(rng.choice(["abc", "4.5", "", "3-"]), "integer"))
    else:
        _months(rng, p, _lit(rng.choice(["n/a", "1,5", "12.5.1"]), "decimal"))


def m_lenient_lexical(rng: random.Random, p: _Patient, _c: _Context) -> None:
    """Forms Python's ``int()``/``Decimal()`` read and XML Schema does not: ``" 3"``, ``"0_3"``, ``"٣"``, ``"1_2.5"``."""
    if rng.random() < 0.6:
        _set(p.props, rng.choice(_INTEGER_FIELDS), _lit(rng.choice([" 3", "3 ", "0_3", "\u0663"]), "integer"))
    else:
        _months(rng, p, _lit(rng.choice([" 12.5", "1_2.5", "\u0661\u0662"]), "decimal"))


def m_out_of_range(rng: random.Random, p: _Patient, _c: _Context) -> None:
    """Values just outside (or on) a range bound: 6, -1, -0, 600.5, 600.0."""
    if rng.random() < 0.5:
        _set(p.props, rng.choice(_INTEGER_FIELDS[1:]), _lit(rng.choice(["6", "-1", "-0", "5"]), "integer"))
    else:
        _months(rng, p, _lit(rng.choice(["600.5", "600.0", "-0.0", "0.00"]), "decimal"))


def m_escaped_string(rng: random.Random, p: _Patient, _c: _Context) -> None:
    """An identifier with a quote and a non-ASCII character (escapes: the strict N-Triples reader gives up)."""
    _set(p.props, _IDENTIFIER, _lit(p.iri.rsplit("/", 1)[-1] + rng.choice(['-"q"', "-é", "-\\"])))


def m_shared_record(rng: random.Random, p: _Patient, context: _Context) -> None:
    """A finding record that another (earlier) patient has too."""
    if context.done:
        other = rng.choice(context.done)
        if other.records:
            p.shared.append(rng.choice(other.records))
            p.sources.append(other)


def m_blank_records(rng: random.Random, p: _Patient, context: _Context) -> None:
    """Finding records as blank nodes instead of IRIs."""
    for record in p.records:
        context.blank += 1
        record.node = f"_:r{context.blank}"


def m_narrower_class(rng: random.Random, p: _Patient, _c: _Context) -> None:
    """A record retyped with a narrower class of its class (mapped external codes included), from the ontology."""
    candidates = [(r, c) for r in p.records for pred, c in r.triples if pred == _TYPE and _narrower(c)]
    if candidates:
        record, cls = rng.choice(candidates)
        narrower = rng.choice(_narrower(cls))
        record.triples = [(pred, narrower if (pred, o) == (_TYPE, cls) else o) for pred, o in record.triples]


def m_missing_status(rng: random.Random, p: _Patient, _c: _Context) -> None:
    """A record without ``npc:findingStatus``."""
    record = _some_record(rng, p)
    if record is not None:
        record.triples = [(pred, o) for pred, o in record.triples if pred != _STATUS]


def m_two_statuses(rng: random.Random, p: _Patient, _c: _Context) -> None:
    """A record both present and absent."""
    record = _some_record(rng, p)
    if record is not None:
        _set(record.triples, _STATUS, f"<{NPC.Present}>", f"<{NPC.Absent}>")


def m_status_not_a_status(rng: random.Random, p: _Patient, _c: _Context) -> None:
    """A record whose status is an IRI that is not a status, or a literal."""
    record = _some_record(rng, p)
    if record is not None:
        _set(record.triples, _STATUS, rng.choice([f"<{NPC.rT2}>", _lit("present"), f"<{_UNKNOWN}Present>"]))


def m_conflicting_records(rng: random.Random, p: _Patient, context: _Context) -> None:
    """A second record of the same class with the opposite status (present wins)."""
    record = _some_record(rng, p)
    if record is None:
        return
    statuses = {o for pred, o in record.triples if pred == _STATUS}
    flipped = f"<{NPC.Absent}>" if f"<{NPC.Present}>" in statuses else f"<{NPC.Present}>"
    context.blank += 1
    twin = _Record(f"<{p.iri}/twin-{context.blank}>", [(pred, o) for pred, o in record.triples if pred == _TYPE])
    twin.triples.append((_STATUS, flipped))
    p.records.append(twin)


def m_extra_predicates(rng: random.Random, p: _Patient, _c: _Context) -> None:
    """Predicates and classes no shape knows, on the patient and on a record."""
    p.props.append((f"<{_UNKNOWN}note>", _lit("free text", language="en")))
    p.props.append((f"<{_UNKNOWN}score>", _lit("7", "integer")))
    record = _some_record(rng, p)
    if record is not None:
        record.triples.append((f"<{_UNKNOWN}seenBy>", f"<{_UNKNOWN}clinician>"))
        record.triples.append((_TYPE, f"<{_UNKNOWN}Observation>"))


def m_no_findings(rng: random.Random, p: _Patient, _c: _Context) -> None:
    """A patient with no finding records at all."""
    p.records.clear()
    p.shared.clear()


def m_untyped_record(rng: random.Random, p: _Patient, _c: _Context) -> None:
    """A record with no ``rdf:type`` (or a type that is not a finding class)."""
    record = _some_record(rng, p)
    if record is not None:
        record.triples = [(pred, o) for pred, o in record.triples if pred != _TYPE]
        if rng.random() < 0.5:
            record.triples.append((_TYPE, f"<{_UNKNOWN}Observation>"))


def m_literal_finding(rng: random.Random, p: _Patient, _c: _Context) -> None:
    """``npc:hasFinding`` with a literal object."""
    p.links.append(_lit(rng.choice(["skull base", "1"]), rng.choice([None, "string"])))


MUTATIONS: dict[str, Callable[[random.Random, _Patient, _Context], None]] = {
    "int-datatype": m_int_datatype,
    "plus-sign": m_plus_sign,
    "leading-zero": m_leading_zero,
    "equal-values": m_equal_values,
    "decimal-zero": m_decimal_zero,
    "double": m_double,
    "boolean": m_boolean,
    "language-tag": m_language_tag,
    "typed-string": m_typed_string,
    "ill-typed": m_ill_typed,
    "lenient-lexical": m_lenient_lexical,
    "out-of-range": m_out_of_range,
    "escaped-string": m_escaped_string,
    "shared-record": m_shared_record,
    "blank-records": m_blank_records,
    "narrower-class": m_narrower_class,
    "missing-status": m_missing_status,
    "two-statuses": m_two_statuses,
    "status-not-a-status": m_status_not_a_status,
    "conflicting-records": m_conflicting_records,
    "extra-predicates": m_extra_predicates,
    "no-findings": m_no_findings,
    "untyped-record": m_untyped_record,
    "literal-finding": m_literal_finding,
}
"""Every mutation kind, by name (the names the known-differences table uses)."""

LITERAL_FORMS = frozenset({
    "int-datatype", "plus-sign", "leading-zero", "equal-values", "decimal-zero", "double", "boolean",
    "language-tag", "typed-string", "ill-typed", "lenient-lexical", "out-of-range", "escaped-string",
})
"""The mutation kinds that change only the form of literals."""


_RARE = frozenset({"boolean", "double", "language-tag", "literal-finding", "missing-status", "status-not-a-status",
                   "two-statuses", "untyped-record"})
"""Kinds that always break the patient model: drawn half as often, so that most patients keep a verdict."""


def _draw(rng: random.Random, count: int) -> list[str]:
    """``count`` distinct mutation kinds, the :data:`_RARE` ones with half the weight."""
    names = sorted(MUTATIONS)
    weights = [1 if name in _RARE else 2 for name in names]
    chosen: list[str] = []
    while len(chosen) < count:
        name = rng.choices(names, weights=weights)[0]
        if name not in chosen:
            chosen.append(name)
    return sorted(chosen)


@dataclass
class _Context:
    done: list[_Patient] = field(default_factory=list)
    blank: int = 0


@cache
def _narrower_table() -> dict[str, tuple[str, ...]]:
    """Each class of the ontology -> its direct named subclasses (N-Triples terms)."""
    from npc_kg.kg.load import load

    table: dict[str, list[str]] = {}
    for sub, sup in load().subject_objects(RDFS.subClassOf):
        if isinstance(sub, URIRef) and isinstance(sup, URIRef):
            table.setdefault(f"<{sup}>", []).append(f"<{sub}>")
    return {cls: tuple(sorted(subs)) for cls, subs in table.items()}


def _narrower(cls: str) -> tuple[str, ...]:
    return _narrower_table().get(cls, ())


def generate(n: int, seed: int, *, mutated: float = 0.75) -> Cohort:
    """``n`` adversarial patients, deterministically for ``seed``; a share ``mutated`` carries 1 or 2 mutations."""
    rng = random.Random(seed)
    context = _Context()
    lines: list[str] = []
    kinds: dict[str, tuple[str, ...]] = {}
    for base in synth_patients(n, seed):
        patient = _Patient(base.iri, [(_IDENTIFIER, _lit(base.identifier))] if base.identifier else [], [])
        patient.props += [(f"<{p}>", o) for p, o in base.props]
        for finding in base.findings:
            triples = [(_TYPE, f"<{c}>") for c in finding.classes]
            triples += [(_STATUS, f"<{s}>") for s in finding.statuses]
            triples += [(f"<{p}>", o) for p, o in finding.props]
            patient.records.append(_Record(f"<{finding.node}>", triples))
        if rng.random() < mutated:
            for kind in _draw(rng, rng.choice([1, 1, 1, 2, 2])):
                MUTATIONS[kind](rng, patient, context)
                patient.kinds.append(kind)
        context.done.append(patient)
    for patient in context.done:  # after every mutation, so a shared record is the same in every block
        lines += patient.ntriples()
        # a shared record may carry its first patient's mutations: they count for this patient too
        inherited = [k for source in patient.sources for k in source.kinds]
        kinds[patient.iri] = tuple(dict.fromkeys([*patient.kinds, *inherited]))
    return Cohort(("\n".join(lines) + "\n").encode("utf-8"), kinds)
