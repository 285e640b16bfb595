"""Nanopublications: one TriG file per evidence figure, prognostic association, statement and criterion.

``npc-kg export --format nanopub -o DIR`` writes ``DIR/<item>.trig`` (``kb:fig-001-os-3y`` becomes
``fig-001-os-3y.trig``) and ``DIR/index.tsv`` (item, nanopublication URI, file). Each
nanopublication follows the nanopub guidelines:

- **head**: ``this: a np:Nanopublication`` with its assertion, provenance and pubinfo graphs;
- **assertion**: the item's own triples (what it says: statistic, value, outcome, population,
  criterion kind, concerned findings...) and those of its population;
- **provenance**: ``sub:assertion prov:wasDerivedFrom`` the Web Annotation span of the source
  (``oa:hasSource``, ``oa:TextQuoteSelector`` with the verbatim ``oa:exact``),
  ``prov:hadPrimarySource`` the source and its description, and the item's text issues
  (``npc:textIssue``, ``skos:editorialNote``);
- **pubinfo**: ``dcterms:created`` (from ``SOURCE_DATE_EPOCH`` when set, for reproducible
  builds), ``dcterms:license`` and ``pav:version`` of the knowledge base, ``prov:wasDerivedFrom``
  the ontology's version IRI, and an ``rdfs:label``.

Trusty URIs are computed offline with the trusty-URI code of the ``nanopub`` package (2.0.1):
the nanopublication is built in the temporary namespace :data:`npc_kg.namespace.NANOPUB_TEMP`,
hashed (``RdfHasher.make_hash``) and renamed to its trusty URI (``purl.org/np/RA...``); each one is checked
with ``nanopub``'s ``verify_trusty`` before it is written. Nanopublications are unsigned unless
``sign`` names the user's RSA private key (PEM or nanopub's base64 form): then ``nanopub``'s
``add_signature`` signs and makes the trusty URI. Nothing is ever published: this module never
calls the network (``nanopub``'s ``publish`` is not used).
"""

from __future__ import annotations

import csv
import datetime
import io
import os
import warnings
from dataclasses import dataclass
from itertools import takewhile
from pathlib import Path
from typing import Any

from rdflib import RDF, RDFS, XSD, ConjunctiveGraph, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCTERMS, OWL, PROV, SKOS
from rdflib.term import Node

from npc_kg.errors import InputError, NpcKgError
from npc_kg.exporters.registry import register_exporter
from npc_kg.kg.folders import new_folder
from npc_kg.kg.prefixes import prefix_map, to_curie
from npc_kg.namespace import KB, NANOPUB_TEMP, NPC, OA, ONTOLOGY_IRI, PREFIXES

__all__ = ["ITEM_CLASSES", "Nanopub", "build_nanopubs", "load_signing_key", "write_nanopubs"]

ITEM_CLASSES = (NPC.EvidenceFigure, NPC.PrognosticAssociation, NPC.Statement, NPC.EligibilityCriterion)
"""The knowledge-base items that each become one nanopublication."""

TEMP_BASE = NANOPUB_TEMP

_PROVENANCE_PREDICATES = (PROV.wasDerivedFrom, NPC.reportedIn, NPC.textIssue, SKOS.editorialNote)


@dataclass(frozen=True)
class Nanopub:
    """One nanopublication: the item it publishes, its trusty URI and its quads."""

    item: URIRef
    uri: str
    dataset: ConjunctiveGraph

    @property
    def name(self) -> str:
        """File stem: the item's local name (``fig-001-os-3y``)."""
        return str(self.item)[len(str(KB)) :] if str(self.item).startswith(str(KB)) else to_curie(self.item).replace(":", "_")

    def trig(self) -> str:
        """The nanopublication as TriG: the prefixes, then its graphs ordered by IRI (Head, assertion,
        provenance, pubinfo), so that the same nanopublication is always the same bytes (rdflib orders
        a dataset's graphs by its store's sets)."""
        prefixes: set[str] = set()
        blocks: list[str] = []
        for graph in sorted((g for g in self.dataset.contexts() if len(g)), key=lambda g: str(g.identifier)):
            lines = graph.serialize(format="trig").strip("\n").split("\n")
            head = list(takewhile(lambda line: line.startswith("@prefix ") or not line.strip(), lines))
            prefixes.update(line for line in head if line.strip())
            blocks.append("\n".join(lines[len(head):]))
        return "\n".join(sorted(prefixes)) + "\n\n" + "\n\n".join(blocks) + "\n"


def _np() -> tuple[Namespace, Namespace, Namespace]:
    known = prefix_map()
    return Namespace(known["np"]), Namespace(known["npx"]), Namespace(known["pav"])


def _created() -> Literal:
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch is not None:
        try:
            moment = datetime.datetime.fromtimestamp(int(epoch), tz=datetime.UTC)
        except (ValueError, OverflowError, OSError):
            raise InputError(f"SOURCE_DATE_EPOCH must be a whole number of seconds, got {epoch!r}") from None
    else:
        moment = datetime.datetime.now(tz=datetime.UTC).replace(microsecond=0)
    # normalize=False: the lexical form is what the trusty hash covers, so rdflib must not rewrite it
    return Literal(moment.strftime("%Y-%m-%dT%H:%M:%SZ"), datatype=XSD.dateTime, normalize=False)


def _own_triples(kg: Graph, subject: Node, skip: tuple[URIRef, ...] = ()) -> list[tuple[Node, Node, Node]]:
    return [(subject, p, o) for p, o in kg.predicate_objects(subject) if p not in skip]


def load_signing_key(path: str | os.PathLike[str]) -> str:
    """Read an RSA private key (PEM, or nanopub's base64 ``id_rsa``) and return it as base64 (no PEM lines).

    The key is never printed or logged; an unreadable or invalid key is an :class:`InputError`
    naming the file only.
    """
    from base64 import decodebytes

    from Crypto.PublicKey import RSA

    file = Path(path)
    try:
        text = file.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError):
        raise InputError("cannot read the signing key (an RSA private key, PEM or base64)", path=str(file)) from None
    body = "".join(line.strip() for line in text.splitlines() if line.strip() and not line.startswith("-----"))
    try:
        RSA.import_key(decodebytes(body.encode("ascii")))
    except (ValueError, IndexError, TypeError):
        raise InputError("not an RSA private key (PEM or base64)", path=str(file)) from None
    return body


def _build_one(kg: Graph, item: URIRef, created: Literal, key: str | None) -> Nanopub:
    import rdflib

    saved = rdflib.NORMALIZE_LITERALS  # nanopub turns rdflib's literal normalisation off when imported
    from nanopub.sign_utils import add_signature, replace_trusty_in_graph, verify_trusty
    from nanopub.trustyuri.rdf import RdfHasher, RdfUtils
    from nanopub.utils import MalformedNanopubError, extract_np_metadata

    rdflib.NORMALIZE_LITERALS = saved

    np_ns, npx_ns, pav_ns = _np()
    local = str(item)[len(str(KB)) :] if str(item).startswith(str(KB)) else to_curie(item).replace(":", "_")
    sub = Namespace(f"{TEMP_BASE}{local}/")
    this = sub[""]
    with warnings.catch_warnings():  # nanopub's trusty-URI code works on a ConjunctiveGraph (deprecated in rdflib 7)
        warnings.simplefilter("ignore", DeprecationWarning)
        dataset = ConjunctiveGraph()
    for prefix, iri in {**PREFIXES, "np": str(np_ns), "npx": str(npx_ns), "pav": str(pav_ns)}.items():
        dataset.bind(prefix, iri)
    names = ("Head", "assertion", "provenance", "pubinfo")
    head, assertion, provenance, pubinfo = (Graph(dataset.store, sub[name]) for name in names)

    head.add((this, RDF.type, np_ns.Nanopublication))
    head.add((this, np_ns.hasAssertion, sub["assertion"]))
    head.add((this, np_ns.hasProvenance, sub["provenance"]))
    head.add((this, np_ns.hasPublicationInfo, sub["pubinfo"]))

    for triple in _own_triples(kg, item, _PROVENANCE_PREDICATES):
        assertion.add(triple)
    for population in kg.objects(item, NPC.population):
        for triple in _own_triples(kg, population, _PROVENANCE_PREDICATES):
            assertion.add(triple)

    for number, resource in enumerate(sorted(kg.objects(item, PROV.wasDerivedFrom), key=str), start=1):
        span, selector = sub[f"source-span-{number}"], sub[f"quote-{number}"]
        provenance.add((sub["assertion"], PROV.wasDerivedFrom, span))
        provenance.add((span, RDF.type, OA.SpecificResource))
        for source in kg.objects(resource, OA.hasSource):
            provenance.add((span, OA.hasSource, source))
        for found in kg.objects(resource, OA.hasSelector):
            provenance.add((span, OA.hasSelector, selector))
            provenance.add((selector, RDF.type, OA.TextQuoteSelector))
            for exact in kg.objects(found, OA.exact):
                provenance.add((selector, OA.exact, exact))
    for source in kg.objects(item, NPC.reportedIn):
        provenance.add((sub["assertion"], PROV.hadPrimarySource, source))
        for triple in _own_triples(kg, source, (PROV.wasDerivedFrom,)):
            provenance.add(triple)
    for predicate in (NPC.textIssue, SKOS.editorialNote):
        for value in kg.objects(item, predicate):
            provenance.add((sub["assertion"], predicate, value))

    label = kg.value(item, RDFS.label)
    pubinfo.add((this, DCTERMS.created, created))
    for licence in kg.objects(ONTOLOGY_IRI, DCTERMS.license):
        pubinfo.add((this, DCTERMS.license, licence))
    for version in kg.objects(ONTOLOGY_IRI, OWL.versionInfo):
        pubinfo.add((this, pav_ns.version, version))
    for version_iri in kg.objects(ONTOLOGY_IRI, OWL.versionIRI):
        pubinfo.add((this, PROV.wasDerivedFrom, version_iri))
    pubinfo.add((this, RDFS.label, Literal(f"npc-kg: {label}" if label is not None else f"npc-kg: {to_curie(item)}")))

    if key is None:
        artefact = RdfHasher.make_hash(RdfUtils.get_quads(dataset), baseuri=str(sub), hashstr=" ")
        signed = replace_trusty_in_graph(artefact, str(sub), dataset)
    else:
        from nanopub import Profile

        profile = Profile(orcid_id="", name="", private_key=key)
        signed = add_signature(dataset, profile, sub, pubinfo)
    signed.bind("npx", str(npx_ns))
    metadata = extract_np_metadata(signed)
    try:
        verify_trusty(signed, str(metadata.np_uri), metadata.namespace)
    except MalformedNanopubError as error:  # pragma: no cover - nanopub's own hashing disagreeing with itself
        raise NpcKgError(f"{to_curie(item)}: trusty URI check failed: {error}") from None
    return Nanopub(item=item, uri=str(metadata.np_uri), dataset=signed)  # type: ignore[arg-type]


def build_nanopubs(kg: Graph, *, sign: str | os.PathLike[str] | None = None) -> list[Nanopub]:
    """One nanopublication per figure, association, statement and criterion of ``kg``, sorted by item."""
    from npc_kg.extras import require

    require("nanopub", "nanopub", "the nanopub export")
    key = load_signing_key(sign) if sign is not None else None
    created = _created()
    items = sorted({i for cls in ITEM_CLASSES for i in kg.subjects(RDF.type, cls) if isinstance(i, URIRef)}, key=str)
    return [_build_one(kg, item, created, key) for item in items]


def _index(nanopubs: list[Nanopub]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, delimiter="\t", lineterminator="\n")
    writer.writerow(["item", "nanopub", "file"])
    for nanopub in nanopubs:
        writer.writerow([to_curie(nanopub.item), nanopub.uri, f"{nanopub.name}.trig"])
    return out.getvalue()


@register_exporter("nanopub")
def write_nanopubs(graph: Graph, path: Path, **options: Any) -> None:
    """Write the nanopublications of ``graph`` into the new or empty folder ``path`` (``sign=KEYFILE`` to sign)."""
    nanopubs = build_nanopubs(graph, sign=options.get("sign"))
    with new_folder(path) as work:
        for nanopub in nanopubs:
            (work / f"{nanopub.name}.trig").write_text(nanopub.trig(), encoding="utf-8")
        (work / "index.tsv").write_text(_index(nanopubs), encoding="utf-8")
