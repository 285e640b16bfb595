"""The patient graph a FHIR patient becomes: the patient model's triples, provenance, bridges, no network."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest
from rdflib import RDF, RDFS, Graph, URIRef
from rdflib.namespace import DCTERMS, PROV

import npc_kg
from npc_kg.fhir import FhirPatient, iter_bulk, read_bundle
from npc_kg.namespace import NPC

DATA = Path(__file__).resolve().parent.parent / "data" / "fhir"


@pytest.fixture(scope="module")
def eligible(site_mapping: Any) -> FhirPatient:
    return read_bundle(DATA / "valid" / "eligible.json", mapping=site_mapping)


def _model(graph: Graph) -> set[tuple[Any, ...]]:
    """The patient-model content of a graph, independent of record names: one tuple per record, plus patient fields."""
    [patient] = list(graph.subjects(RDF.type, NPC.Patient))
    fields = {(str(p), o.toPython()) for p, o in graph.predicate_objects(patient)
              if p not in (NPC.hasFinding, PROV.wasDerivedFrom, RDF.type)}
    records = set()
    for record in graph.objects(patient, NPC.hasFinding):
        types = frozenset(str(t) for t in graph.objects(record, RDF.type))
        rest = frozenset((str(p), str(o)) for p, o in graph.predicate_objects(record) if p not in (RDF.type, PROV.wasDerivedFrom))
        records.add((types, rest))
    return fields | records


def test_same_triples_as_patient_from_dict(eligible: FhirPatient) -> None:
    """The FHIR graph holds what npc_kg.patient_from_dict makes of the same patient (plus provenance)."""
    expected = npc_kg.patient_from_dict({
        "id": "npc-eligible", "radiotherapy_courses": 1, "ecog": 1,
        "recurrences": [{"site": "local", "rT": "rT2", "rN": "rN0"}],
        "findings": {key: "absent" for key in (
            "skull_base_bone_destruction", "cranial_nerve_palsy", "distant_metastasis",
            "neck_lesion_adherent_to_deep_tissue_or_skin", "advanced_age", "frailty", "poor_general_condition",
            "hepatic_insufficiency", "renal_insufficiency", "other_contraindication_to_surgery")},
    })
    assert eligible.graph is not None
    assert _model(eligible.graph) == _model(expected)
    assert str(eligible.iri) == str(next(expected.subjects(RDF.type, NPC.Patient)))


def test_every_record_points_to_its_resources(eligible: FhirPatient) -> None:
    graph = eligible.graph
    assert graph is not None
    patient = URIRef(eligible.iri)
    records = list(graph.objects(patient, NPC.hasFinding))
    assert len(records) == len(eligible.records) == 11
    for record in records:
        sources = list(graph.objects(record, PROV.wasDerivedFrom))
        assert sources, f"{record} has no prov:wasDerivedFrom"
        for source in sources:
            assert (source, RDF.type, PROV.Entity) in graph
            [identifier] = list(graph.objects(source, DCTERMS.identifier))
            kind, rid = str(identifier).split("/", 1)
            assert (source, RDF.type, URIRef("http://hl7.org/fhir/" + kind)) in graph
            assert rid.startswith("npc-eligible")
            assert str(source).startswith(eligible.iri + "/fhir/"), "an npc-kg name, never a server URL"
    assert (patient, DCTERMS.identifier, None) in graph
    [patient_source] = list(graph.objects(patient, PROV.wasDerivedFrom))
    assert str(graph.value(patient_source, DCTERMS.identifier)) == "Patient/npc-eligible"


def test_distant_metastasis_absent_traces_to_the_cm0_observation(eligible: FhirPatient) -> None:
    graph = eligible.graph
    assert graph is not None
    [record] = [r for r in graph.subjects(RDF.type, NPC.DistantMetastasis)]
    assert (record, NPC.findingStatus, NPC.Absent) in graph
    identifiers = {str(graph.value(s, DCTERMS.identifier)) for s in graph.objects(record, PROV.wasDerivedFrom)}
    assert identifiers == {"Observation/npc-eligible-m"}


def test_narrower_codes_carry_their_bridge(site_mapping: Any) -> None:
    patient = read_bundle(DATA / "valid" / "ineligible-ci-3-bone-metastasis.json", mapping=site_mapping)
    code = URIRef("http://purl.bioontology.org/ontology/ICD10CM/C79.51")
    assert patient.graph is not None
    assert (code, RDFS.subClassOf, NPC.DistantMetastasis) in patient.graph
    lines = patient.ntriples(bridges=False)
    assert not any(str(RDFS.subClassOf) in line for line in lines)
    assert len(patient.ntriples()) == len(lines) + 1


def test_graph_is_valid_ntriples_in_order(eligible: FhirPatient) -> None:
    lines = eligible.ntriples()
    assert lines[0] == f"<{eligible.iri}> <{RDF.type}> <{NPC.Patient}> ."
    graph = Graph().parse(data="\n".join(lines), format="nt")
    assert len(graph) == len(set(lines))


def test_nothing_is_fetched(monkeypatch: pytest.MonkeyPatch, site_mapping: Any) -> None:
    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the FHIR reader opened a network connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    for path in sorted((DATA / "valid").glob("*.json")):
        read_bundle(path, mapping=site_mapping)
    assert list(iter_bulk([DATA / "bulk"], mapping=site_mapping))
