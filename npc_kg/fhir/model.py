"""What the FHIR reader returns: a patient (graph, records and the resources behind them) or an error record."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from rdflib import RDFS, Graph

__all__ = ["FhirPatient", "FhirRecordError", "FindingRecord", "ReadStats", "SourceRef", "Statement"]


@dataclass(frozen=True)
class SourceRef:
    """A FHIR resource: its type, its id (or bundle ``fullUrl`` when it has none) and where it was read."""

    type: str
    id: str
    where: str
    """``file:line`` (NDJSON) or ``file#/entry/3/resource`` (JSON), for people; never dereferenced."""
    path: str = ""
    """The file (or ``<dict>``) it was read from; :attr:`line` or :attr:`pointer` say where in it."""
    line: int | None = None
    pointer: str | None = None

    def place(self) -> dict[str, Any]:
        """``path``, ``line`` and ``pointer`` for an error about this resource (:class:`~npc_kg.fhir.errors.FhirInputError`)."""
        return {"path": self.path or self.where, "line": self.line, "pointer": self.pointer}

    @property
    def reference(self) -> str:
        """The FHIR relative reference, ``Condition/abc``."""
        return f"{self.type}/{self.id}"


@dataclass(frozen=True)
class Statement:
    """What one mapping rule read from one resource, before (and whether or not) it became a record.

    ``code`` is the CURIE of the code or value read (None for a reference or a boolean); ``state``
    one of present, absent, not-recorded, dropped; ``finding`` the class or code IRI of the
    record it made, or None when the code is not mapped (or maps to nothing for this state).
    """

    rule: str
    source: SourceRef
    code: str | None
    state: str
    finding: str | None = None
    reference: str | None = None
    """For a present comorbidity: the reference it names (not followed)."""


@dataclass(frozen=True)
class FindingRecord:
    """A finding record of the patient graph: its node, types, status and the resources behind it."""

    node: str
    classes: tuple[str, ...]
    status: str
    rule: str
    sources: tuple[SourceRef, ...]
    code: str | None = None
    properties: tuple[tuple[str, str], ...] = ()
    """``(predicate IRI, object IRI)`` pairs, e.g. the rT and rN categories of a recurrence."""
    literals: tuple[tuple[str, str, str], ...] = ()
    """``(predicate IRI, lexical form, datatype IRI)``, e.g. the months since radiotherapy of a recurrence."""


@dataclass
class ReadStats:
    """Counts of what was read but not used (never the values)."""

    resources: int = 0
    dropped: int = 0
    """Resources in state ``dropped`` (entered in error, cancelled: the mapping's ``states`` say which)."""
    unused_types: Counter[str] = field(default_factory=Counter)
    """Resources of FHIR R4 types no rule reads, by type."""
    unknown_systems: Counter[str] = field(default_factory=Counter)
    """Codings whose system is not in the mapping's ``systems``, by system URI."""
    unmapped_codes: int = 0
    """Codings of a known system whose code is not in the code tables."""

    def add(self, other: ReadStats) -> None:
        """Add ``other``'s counts to these."""
        self.resources += other.resources
        self.dropped += other.dropped
        self.unused_types.update(other.unused_types)
        self.unknown_systems.update(other.unknown_systems)
        self.unmapped_codes += other.unmapped_codes


@dataclass
class FhirPatient:
    """One FHIR patient, read and mapped.

    ``graph`` is the patient in npc-kg's patient model (docs/patient-model.md), or None when
    ``out_of_scope`` says why the patient is outside the treatment's disease (no eligibility
    verdict is given for such a patient). ``records`` name the resources behind each finding
    record; ``statements`` everything the rules read; ``context`` values kept as context only.
    """

    source_id: str
    iri: str
    where: str
    records: tuple[FindingRecord, ...]
    properties: dict[str, tuple[Any, str, tuple[SourceRef, ...]]]
    """predicate IRI -> (value, datatype IRI, sources)."""
    statements: tuple[Statement, ...]
    context: dict[str, tuple[tuple[str, SourceRef], ...]]
    stats: ReadStats
    out_of_scope: str | None = None
    patient_source: SourceRef | None = None
    bridges: tuple[tuple[str, str], ...] = ()
    """``(code IRI, class IRI)``: the ``rdfs:subClassOf`` bridges of the narrower codes the records use."""
    lines: tuple[str, ...] = field(default=(), repr=False)
    """The patient-model triples as N-Triples lines (without the bridges); empty when out of scope."""
    _graph: Graph | None = field(default=None, repr=False, compare=False)

    @property
    def in_scope(self) -> bool:
        """True when the patient has a recorded disease of the treatment."""
        return self.out_of_scope is None

    def ntriples(self, *, bridges: bool = True) -> list[str]:
        """The patient graph as N-Triples lines (``rdf:type npc:Patient`` first); ``[]`` when out of scope.

        ``bridges=False`` leaves out the ``rdfs:subClassOf`` triples of narrower codes (a cohort
        engine is then given :meth:`FhirMapping.bridges` once, as part of its class hierarchy).
        """
        if not self.in_scope:
            return []
        out = list(self.lines)
        if bridges:
            out += [f"<{code}> <{RDFS.subClassOf}> <{cls}> ." for code, cls in self.bridges]
        return out

    @property
    def graph(self) -> Graph | None:
        """The patient graph with its bridges (parsed once), or None when out of scope."""
        if not self.in_scope:
            return None
        if self._graph is None:
            from npc_kg.namespace import PREFIXES

            graph = Graph()
            for prefix, iri in PREFIXES.items():
                graph.bind(prefix, iri)
            graph.parse(data="\n".join(self.ntriples()) + "\n", format="nt")
            self._graph = graph
        return self._graph


@dataclass(frozen=True)
class FhirRecordError:
    """A FHIR patient (or an unattributable record) that cannot be read: one error row of a cohort.

    ``message`` names the file, line or pointer and what to do, never a patient value.
    """

    source_id: str
    message: str
    path: str | None = None
    line: int | None = None
