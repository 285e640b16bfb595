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

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from rdflib import Graph, URIRef
from rdflib.namespace import RDFS, SKOS

from npc_kg.errors import InputError
from npc_kg.namespace import BASE, PREFIXES
from npc_kg.rdfio import parse_file
from npc_kg.resources import data_path, read_yaml

if TYPE_CHECKING:  # pragma: no cover
    import curies

__all__ = [
    "MAPPING_PREDICATES",
    "Xref",
    "bridges",
    "converter",
    "external_terms",
    "mapping_rows",
    "prefix_map",
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

Direction = Literal["asserted", "inverse"]


@dataclass(frozen=True)
class Xref:
    """One mapping, oriented from the term that was looked up.

    ``direction`` is ``"asserted"`` when the lookup term is the npc-kg subject of the mapping
    as the ontology states it, and ``"inverse"`` when the lookup term is the external object:
    then ``predicate`` is the SKOS inverse (``broadMatch`` becomes ``narrowMatch``).
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


def _ttl_prefixes(path: Path) -> dict[str, str]:
    graph = Graph(bind_namespaces="none")
    parse_file(path, "turtle", graph=graph)
    return {prefix: str(iri) for prefix, iri in graph.namespaces() if prefix and prefix != "xml"}


def _context_prefixes(path: Path) -> dict[str, str]:
    context = json.loads(path.read_text(encoding="utf-8"))["@context"]
    return {key: value for key, value in context.items() if isinstance(value, str) and not key.startswith("@")}


@lru_cache(maxsize=1)
def prefix_map() -> dict[str, str]:
    """Return the merged prefix map (prefix -> URI prefix) of the ontology, package and context.

    Raises :class:`InputError` if two of the sources bind one prefix to different IRIs.
    """
    merged: dict[str, str] = {}
    origin: dict[str, str] = {}
    sources = (
        ("npc_kg.namespace.PREFIXES", dict(PREFIXES)),
        (str(data_path("ontology", "npc-kg.ttl")), _ttl_prefixes(data_path("ontology", "npc-kg.ttl"))),
        (str(data_path("ontology", "context.jsonld")), _context_prefixes(data_path("ontology", "context.jsonld"))),
    )
    for where, prefixes in sources:
        for prefix, iri in prefixes.items():
            if prefix in merged and merged[prefix] != iri:
                raise InputError(
                    f"prefix {prefix!r} is bound to {iri} here but to {merged[prefix]} in {origin[prefix]}", path=where
                )
            merged.setdefault(prefix, iri)
            origin.setdefault(prefix, where)
    return merged


@lru_cache(maxsize=1)
def converter() -> curies.Converter:
    """Return the :class:`curies.Converter` for :func:`prefix_map` (expands and compresses)."""
    import curies  # imported here: it costs half a second, and most CLI commands never need it

    return curies.Converter.from_prefix_map(prefix_map())


def to_iri(curie_or_iri: str) -> URIRef:
    """Expand a CURIE (``PREFIX:ID``) or accept a full IRI known to the prefix map.

    Raises :class:`InputError` for an unknown prefix or an IRI outside every known namespace.
    """
    text = curie_or_iri.strip()
    conv = converter()
    if text.startswith(("http://", "https://")):
        if conv.compress(text) is None:
            raise InputError(f"IRI {text!r} is in no known namespace (known prefixes: {_known()})")
        return URIRef(text)
    prefix, sep, local = text.partition(":")
    if not sep or not prefix or not local:
        raise InputError(f"{text!r} is neither a CURIE (PREFIX:ID) nor an http(s) IRI")
    expanded = conv.expand(text)
    if expanded is None:
        raise InputError(f"unknown prefix {prefix!r} in {text!r} (known prefixes: {_known()})")
    return URIRef(expanded)


def to_curie(iri: str | URIRef) -> str:
    """Compress ``iri`` to a CURIE, or return it unchanged if no prefix covers it."""
    return converter().compress(str(iri)) or str(iri)


def _known() -> str:
    return ", ".join(sorted(prefix_map()))


@lru_cache(maxsize=1)
def external_terms() -> dict[str, Any]:
    """Return ``mappings/external-terms.yaml`` (labels and check status of external IDs)."""
    path = data_path("mappings", "external-terms.yaml")
    document = read_yaml(path)
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


def xrefs(curie_or_iri: str, *, graph: Graph | None = None) -> list[Xref]:
    """Return the mappings of an npc-kg term, or the npc-kg terms an external identifier maps to.

    ``curie_or_iri`` is a CURIE (``npc:...`` or ``PREFIX:ID``) or a full
    IRI. An empty list means the identifier is known to no mapping. Raises
    :class:`InputError` for an unknown prefix.
    """
    iri = to_iri(curie_or_iri)
    query = to_curie(iri)
    found: list[Xref] = []
    for row in mapping_rows(graph):
        if row.subject_id == query:
            found.append(
                Xref(
                    subject=row.subject_id,
                    predicate=row.predicate_id,
                    object=row.object_id,
                    subject_label=row.subject_label,
                    object_label=row.object_label,
                    confidence=row.confidence,
                    direction="asserted",
                    justification=row.mapping_justification,
                    comment=row.comment,
                )
            )
        elif row.object_id == query:
            found.append(
                Xref(
                    subject=row.object_id,
                    predicate=to_curie(_INVERSE[to_iri(row.predicate_id)]),
                    object=row.subject_id,
                    subject_label=row.object_label,
                    object_label=row.subject_label,
                    confidence=row.confidence,
                    direction="inverse",
                    justification=row.mapping_justification,
                    comment=row.comment,
                )
            )
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

