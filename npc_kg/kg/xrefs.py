"""Cross-references: CURIEs and the SKOS mappings between npc-kg terms and external vocabularies.

The prefix map is declarative: the ``@prefix`` lines of ``ontology/npc-kg.ttl``, the package
prefixes of :mod:`npc_kg.namespace` and the plain prefix entries of the published JSON-LD
context ``ontology/context.jsonld``. The three must agree (a prefix bound to two IRIs is an
error); ``tests/linking/test_curies.py`` checks the spellings against bioregistry.

The mappings themselves are the ``skos:*Match`` triples of the merged graph. Labels and
confidence of the external side come from ``mappings/external-terms.yaml``, which records how
each identifier was checked. :func:`xrefs` answers both directions: for an npc-kg term it
gives the external identifiers the ontology maps it to (asserted), and for an external
identifier the npc-kg terms mapped to it (inverse). Examples are in ``docs/linking.md``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

from rdflib import Graph, URIRef
from rdflib.namespace import OWL, RDFS, SKOS

from npc_kg.errors import InputError
from npc_kg.kg.prefixes import compress, expand_term, standardize_curie, to_curie
from npc_kg.namespace import BASE, MONDO_IMPORT_IRI, OIO
from npc_kg.resources import data_path
from npc_kg.yamlio import read_yaml

__all__ = [
    "MAPPING_PREDICATES",
    "Xref",
    "bridges",
    "external_terms",
    "import_xrefs",
    "mapping_rows",
    "to_curie",
    "to_iri",
    "xrefs",
]

MAPPING_PREDICATES = (SKOS.exactMatch, SKOS.closeMatch, SKOS.broadMatch, SKOS.narrowMatch, SKOS.relatedMatch)
"""The SKOS mapping predicates an npc-kg mapping may use."""

_INVERSE = {
    SKOS.exactMatch: SKOS.exactMatch,
    SKOS.closeMatch: SKOS.closeMatch,
    SKOS.relatedMatch: SKOS.relatedMatch,
    SKOS.broadMatch: SKOS.narrowMatch,
    SKOS.narrowMatch: SKOS.broadMatch,
}

Direction = Literal["asserted", "inverse", "via", "import"]


@dataclass(frozen=True)
class Xref:
    """One mapping, oriented from the term that was looked up.

    ``direction`` is ``"asserted"`` when the lookup term is the npc-kg subject of the mapping
    as the ontology states it, ``"inverse"`` when the lookup term is the external object (then
    ``predicate`` is the SKOS inverse: ``broadMatch`` becomes ``narrowMatch``), ``"via"`` for a
    mapping reached through an exact match (``via`` names the term in between), and
    ``"import"`` for a cross-reference the MONDO import states for the looked-up class.
    """

    subject: str
    predicate: str
    object: str
    subject_label: str | None
    object_label: str | None
    confidence: float | None
    direction: Direction
    justification: str | None = None
    comment: str | None = None
    via: str | None = None
    """For a ``via`` row: the term the crosswalk goes through (an npc-kg term or an imported class)."""
    source: str | None = None
    """Where the mapping is stated: npc-kg's mapping set, or the MONDO import with its version."""

    @property
    def labels(self) -> tuple[str | None, str | None]:
        """``(subject_label, object_label)``."""
        return (self.subject_label, self.object_label)

    def as_dict(self) -> dict[str, Any]:
        """Plain ``dict`` (JSON-ready)."""
        return {
            "subject": self.subject,
            "subject_label": self.subject_label,
            "predicate": self.predicate,
            "object": self.object,
            "object_label": self.object_label,
            "confidence": self.confidence,
            "direction": self.direction,
            "justification": self.justification,
            "comment": self.comment,
            "via": self.via,
            "source": self.source,
        }


@dataclass(frozen=True)
class MappingRow:
    """One SSSOM row, subject on the npc-kg side, as the ontology asserts it."""

    subject_id: str
    subject_label: str | None
    predicate_id: str
    object_id: str
    object_label: str
    mapping_justification: str
    confidence: float
    comment: str


def to_iri(curie_or_iri: str) -> URIRef:
    """Expand a CURIE (any accepted spelling of its prefix) or accept a full IRI known to the prefix map.

    Raises :class:`~npc_kg.kg.prefixes.UnknownPrefixError` (with a suggestion) for an unknown
    prefix and :class:`InputError` for an IRI outside every known namespace.
    """
    text = curie_or_iri.strip()
    iri = expand_term(text)
    if text.startswith(("http://", "https://", "<")) and compress(iri) is None:
        raise InputError(f"IRI {text!r} is in no known namespace (the known prefixes are in mappings/prefixes.yaml)")
    return URIRef(iri)


@lru_cache(maxsize=1)
def external_terms() -> dict[str, Any]:
    """Return ``mappings/external-terms.yaml`` (labels and check status of external IDs)."""
    path = data_path("mappings", "external-terms.yaml")
    document = read_yaml(path, "external-terms table")
    for key in ("mapping_set", "status", "terms"):
        if not isinstance(document, dict) or not isinstance(document.get(key), dict):
            raise InputError(f"missing mapping {key!r}", path=str(path))
    return document


def _label(graph: Graph, term: URIRef) -> str | None:
    labels = sorted(str(value) for value in graph.objects(term, RDFS.label))
    return labels[0] if labels else None


def mapping_rows(graph: Graph | None = None) -> list[MappingRow]:
    """Return one SSSOM row per ``skos:*Match`` triple whose subject is an npc-kg term, sorted.

    Raises :class:`InputError` if a mapped external identifier is not listed in
    ``mappings/external-terms.yaml`` (only checked identifiers may be mapped).
    """
    if graph is None:
        from npc_kg.kg.load import load

        graph = load()
    meta = external_terms()
    terms: dict[str, dict[str, Any]] = meta["terms"]
    status: dict[str, dict[str, Any]] = meta["status"]
    justification = str(meta["mapping_set"].get("mapping_justification", "semapv:ManualMappingCuration"))
    rows = []
    for predicate in MAPPING_PREDICATES:
        for subject, obj in graph.subject_objects(predicate):
            if not (isinstance(subject, URIRef) and str(subject).startswith(BASE)):
                continue
            object_id = to_curie(str(obj))
            term = terms.get(object_id)
            if term is None:
                raise InputError(
                    f"{to_curie(subject)} {to_curie(predicate)} {object_id}: the identifier is not listed "
                    "in mappings/external-terms.yaml, so its label and check status are unknown",
                    path=str(data_path("mappings", "external-terms.yaml")),
                )
            policy = status[term["status"]]
            comment = policy["comment"] + (" " + term["note"] if term.get("note") else "")
            rows.append(
                MappingRow(
                    subject_id=to_curie(subject),
                    subject_label=_label(graph, subject),
                    predicate_id=to_curie(predicate),
                    object_id=object_id,
                    object_label=str(term["label"]),
                    mapping_justification=justification,
                    confidence=float(policy["confidence"]),
                    comment=comment,
                )
            )
    return sorted(rows, key=lambda row: (row.subject_id, row.predicate_id, row.object_id))


_SOURCE = "npc-kg mappings (ontology/npc-kg.ttl, mappings/npc-kg.sssom.tsv)"


def _import_source(graph: Graph) -> str:
    version = graph.value(MONDO_IMPORT_IRI, OWL.versionInfo)
    return "MONDO import (ontology/imports/mondo_import.ttl" + (f", {version})" if version is not None else ")")


def _row_xref(row: MappingRow, *, inverse: bool) -> Xref:
    if not inverse:
        return Xref(row.subject_id, row.predicate_id, row.object_id, row.subject_label, row.object_label, row.confidence,
                    "asserted", row.mapping_justification, row.comment, source=_SOURCE)  # fmt: skip
    return Xref(row.object_id, to_curie(_INVERSE[to_iri(row.predicate_id)]), row.subject_id, row.object_label, row.subject_label,
                row.confidence, "inverse", row.mapping_justification, row.comment, source=_SOURCE)  # fmt: skip


def import_xrefs(term: URIRef, graph: Graph) -> list[Xref]:
    """The cross-references an imported class (a MONDO class of the import) carries itself.

    Its SKOS mapping triples, and its ``oboInOwl:hasDbXref`` values that no SKOS triple already
    gives (predicate ``oio:hasDbXref``; the CURIE standardised to npc-kg's prefix spelling where
    the prefix is known, else as the import writes it).
    """
    if str(term).startswith(BASE):
        return []
    subject = to_curie(term)
    label = _label(graph, term)
    source = _import_source(graph)
    found: list[Xref] = []
    seen: set[str] = set()
    for predicate in MAPPING_PREDICATES:
        for obj in sorted(graph.objects(term, predicate), key=str):
            if isinstance(obj, URIRef) and not str(obj).startswith(BASE):
                curie = to_curie(obj)
                seen.add(curie)
                found.append(Xref(subject, to_curie(predicate), curie, label, _label(graph, obj), None, "import", source=source))
    for value in sorted(str(v) for v in graph.objects(term, OIO.hasDbXref)):
        try:
            curie = standardize_curie(value)
        except InputError:
            curie = value
        if curie not in seen:
            seen.add(curie)
            found.append(Xref(subject, "oio:hasDbXref", curie, label, None, None, "import", source=source))
    return found


def xrefs(curie_or_iri: str, *, graph: Graph | None = None) -> list[Xref]:
    """Return the crosswalk of a term: its mappings, the mappings it reaches through an exact match, and
    the cross-references of its imported class.

    ``curie_or_iri`` is a CURIE (``npc:...`` or ``PREFIX:ID``, any accepted spelling of the prefix)
    or a full IRI. The rows come in this order:

    1. ``asserted``: the npc-kg term's own mappings; ``inverse``: the npc-kg terms mapped to the
       external identifier (with the inverse SKOS predicate);
    2. ``via``: for each npc-kg term the identifier is an exact match of (or the npc-kg term itself),
       that term's other mappings, marked with ``via`` = the term; for an npc-kg term exactly matched
       to an imported MONDO class, that class's own cross-references, ``via`` the MONDO class;
    3. ``import``: the identifier's own cross-references in the MONDO import (SKOS mappings and
       ``oboInOwl:hasDbXref``), each with its ``source``.

    An empty list means the identifier is known to no mapping. Raises :class:`InputError`
    (:class:`~npc_kg.kg.prefixes.UnknownPrefixError` with a suggestion) for an unknown prefix.
    """
    if not isinstance(curie_or_iri, str):
        raise InputError(f"xrefs takes a CURIE or an IRI as text, not {type(curie_or_iri).__name__}")
    iri = to_iri(curie_or_iri)
    if graph is None:
        from npc_kg.kg.load import load

        graph = load()
    query = to_curie(iri)
    rows = mapping_rows(graph)
    found: list[Xref] = []
    for row in rows:
        if row.subject_id == query:
            found.append(_row_xref(row, inverse=False))
        elif row.object_id == query:
            found.append(_row_xref(row, inverse=True))
    direct = list(found)
    # through an exact match: the npc-kg term's other mappings
    for hop in direct:
        if hop.predicate != "skos:exactMatch" or hop.direction != "inverse":
            continue
        for row in rows:
            if row.subject_id == hop.object and row.object_id != query:
                step = _row_xref(row, inverse=False)
                found.append(
                    Xref(
                        query, step.predicate, step.object, hop.subject_label, step.object_label, step.confidence, "via",
                        step.justification, step.comment, via=hop.object, source=_SOURCE,
                    )
                )
    # an npc-kg term exactly matched to an imported class: that class's own cross-references
    for hop in direct:
        if hop.predicate == "skos:exactMatch" and hop.direction == "asserted":
            target = to_iri(hop.object)
            for item in import_xrefs(target, graph):
                found.append(
                    Xref(
                        query, item.predicate, item.object, hop.subject_label, item.object_label, None, "via",
                        via=hop.object, source=item.source,
                    )
                )
    found += import_xrefs(iri, graph)
    return found


def bridges(curie_or_iri: str, *, graph: Graph | None = None) -> list[tuple[str, str, str]]:
    """Return the ``rdfs:subClassOf`` bridges between ``curie_or_iri`` and npc-kg classes.

    A bridge such as ``HP:0006824 rdfs:subClassOf npc:CranialNervePalsy`` is logic, not a
    mapping: it lets a finding coded with the external class count for the npc-kg class. Each
    item is ``(subject, "rdfs:subClassOf", object)`` as CURIEs, where one side is outside npc-kg.
    """
    if graph is None:
        from npc_kg.kg.load import load

        graph = load()
    iri = to_iri(curie_or_iri)
    found = []
    pairs = [(iri, o) for o in graph.objects(iri, RDFS.subClassOf)] + [(s, iri) for s in graph.subjects(RDFS.subClassOf, iri)]
    for sub, sup in pairs:
        if isinstance(sub, URIRef) and isinstance(sup, URIRef) and str(sub).startswith(BASE) != str(sup).startswith(BASE):
            found.append((to_curie(sub), "rdfs:subClassOf", to_curie(sup)))
    return sorted(found)

