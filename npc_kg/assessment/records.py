"""The finding records behind each criterion of an assessment, and where each came from.

Runs the named query ``queries/criterion-records.rq`` over the knowledge graph plus the patient
graph (a private in-memory pyoxigraph store; nothing leaves the process), with the
``rdfs:subClassOf`` pairs the assessment gave its evaluators (the bridges of narrower FHIR
codes). A row of the HTML report carries these "evidence records": the record (the RDF node, or
the FHIR resource it was read from, through ``prov:wasDerivedFrom``), its class and label, and
its recorded status.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import pyoxigraph as ox
from rdflib import RDFS, Graph, URIRef

from npc_kg.errors import QueryError
from npc_kg.kg.load import kg_ntriples
from npc_kg.sparql.catalog import resolve
from npc_kg.sparql.native import solutions
from npc_kg.sparql.safety import check_safe, parse
from npc_kg.sparql.terms import from_oxigraph, inject_values

__all__ = ["EvidenceRecord", "criterion_records", "named_rows"]


@dataclass(frozen=True)
class EvidenceRecord:
    """A patient's finding record that bears on a criterion."""

    record: str
    """The record's IRI, or ``""`` for a blank node."""
    finding: str
    """Its most specific class under the finding the criterion concerns."""
    label: str
    status: str
    """``present``, ``absent`` or ``""`` (no status)."""
    source: str
    """Where the record came from: the resource it was derived from, or the input's RDF node."""

    def to_dict(self) -> dict[str, str]:
        """A JSON-ready dict."""
        return {"record": self.record, "finding": self.finding, "label": self.label, "status": self.status,
                "source": self.source}


def _store(patient_graph: Graph | None, subclasses: Iterable[tuple[str, str]] = ()) -> ox.Store:
    store = ox.Store()
    store.bulk_load(kg_ntriples(), format=ox.RdfFormat.N_TRIPLES)
    bridges = "".join(f"<{a}> <{RDFS.subClassOf}> <{b}> .\n" for a, b in subclasses)
    if bridges:
        store.bulk_load(bridges.encode(), format=ox.RdfFormat.N_TRIPLES)
    if patient_graph is not None:
        store.bulk_load(patient_graph.serialize(format="nt", encoding="utf-8"), format=ox.RdfFormat.N_TRIPLES)
    return store


def named_rows(name: str, store: ox.Store, bindings: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Run the named SELECT query ``name`` on ``store`` (checked: no SERVICE or LOAD) with ``bindings`` as VALUES."""
    text = resolve(name).text
    check_safe(parse(text))
    try:  # read to the end in this thread: pyoxigraph's result iterator must not outlive the call (npc_kg.sparql.native)
        variables, rows = solutions(store, inject_values(text, bindings or {}))
    except QueryError:
        raise QueryError(f"{name}.rq is not a SELECT query") from None
    return [{v: from_oxigraph(term) for v, term in zip(variables, row, strict=True)} for row in rows]


def criterion_records(patient_graph: Graph, patient: str, store: ox.Store | None = None) -> dict[str, list[EvidenceRecord]]:
    """Criterion IRI -> the patient's records of the findings it concerns, sorted by record."""
    rows = named_rows("criterion-records", store or _store(patient_graph), {"patient": URIRef(patient)})
    out: dict[str, list[EvidenceRecord]] = {}
    for row in rows:
        node = str(row["recordIri"] or "")
        status = str(row["status"]).rsplit("/", 1)[-1].lower() if row.get("status") is not None else ""
        derived, identifier = row.get("derivedFrom"), row.get("sourceId")
        if identifier is not None:
            where = str(identifier)  # e.g. the FHIR reference Observation/abc
        elif derived is not None:
            where = str(derived)
        else:
            where = f"RDF node <{node}>" if node else "a blank node of the input"
        record = EvidenceRecord(
            record=node,
            finding=str(row["class"]),
            label=str(row.get("classLabel") or str(row["class"]).rsplit("/", 1)[-1]),
            status=status,
            source=where,
        )
        items = out.setdefault(str(row["criterion"]), [])
        if record not in items:
            items.append(record)
    return out


def store_for(patient_graph: Graph | None, subclasses: Iterable[tuple[str, str]] = ()) -> ox.Store:
    """A private in-memory store of the knowledge graph, the ``subclasses`` pairs and ``patient_graph``."""
    return _store(patient_graph, subclasses)
