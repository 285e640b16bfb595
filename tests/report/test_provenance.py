"""Every output carries its provenance: KB version, ontology version, treatment, engine, time."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rdflib import Graph
from rdflib.compare import isomorphic
from rdflib.namespace import PROV, XSD

import npc_kg
from npc_kg.assessment.provenance import assessment_time, ontology_version_iri
from npc_kg.cli import main
from npc_kg.errors import InputError
from npc_kg.kg.packs import package_packs
from npc_kg.namespace import NPC

REPO = Path(__file__).resolve().parents[2]
PATIENT = REPO / "examples" / "patients" / "indeterminate.ttl"


def test_time_comes_from_at_then_source_date_epoch_then_now(monkeypatch: pytest.MonkeyPatch) -> None:
    assert assessment_time("2026-03-04T05:06:07+01:00").isoformat() == "2026-03-04T04:06:07+00:00"
    assert assessment_time("2026-03-04T05:06:07").isoformat() == "2026-03-04T05:06:07+00:00", "no offset: UTC"
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "0")
    assert assessment_time(None).isoformat() == "1970-01-01T00:00:00+00:00"
    monkeypatch.delenv("SOURCE_DATE_EPOCH")
    assert assessment_time(None).microsecond == 0
    with pytest.raises(InputError, match="ISO 8601"):
        assessment_time("yesterday")
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "soon")
    with pytest.raises(InputError, match="SOURCE_DATE_EPOCH"):
        assessment_time(None)


def test_json_carries_kb_version_ontology_treatment_engine_and_time() -> None:
    [local] = npc_kg.assess(PATIENT)
    [reference] = npc_kg.assess(PATIENT, engine="reference")
    prov = local.to_dict()["provenance"]
    assert prov == {
        "kb_version": npc_kg.__version__, "ontology_version": ontology_version_iri(),
        "treatment": str(NPC.SalvageSurgery), "engine": "local", "generated_at": "2026-01-01T00:00:00Z",
        "generated_by": f"npc-kg {npc_kg.__version__}",
        # issue 11: the criteria packs of the configuration (the package's own, read from its manifests)
        "packs": [{"iri": pack.iri, "version": pack.version} for pack in package_packs()],
    }
    assert prov["ontology_version"].startswith("https://w3id.org/npc-kg/ontology/")
    assert reference.to_dict()["provenance"]["engine"] == "reference"


def test_rdf_provenance_is_prov_o_and_deterministic() -> None:
    [a] = npc_kg.assess(PATIENT)
    graph = a.to_rdf()
    when = graph.value(a.iri, PROV.generatedAtTime)
    assert when is not None and when.datatype == XSD.dateTime and str(when).startswith("2026-01-01T00:00:00")
    activity = graph.value(a.iri, PROV.wasGeneratedBy)
    used = set(graph.objects(activity, PROV.used))
    assert {ontology_version_iri(), str(NPC.SalvageSurgery)} <= {str(u) for u in used}
    agent = graph.value(activity, PROV.wasAssociatedWith)
    assert (agent, None, PROV.SoftwareAgent) in graph
    [again] = npc_kg.assess(PATIENT)
    assert isomorphic(graph, again.to_rdf()), "SOURCE_DATE_EPOCH makes the RDF reproducible"


@pytest.mark.parametrize("fmt", ["text", "json", "ttl", "html"])
def test_every_cli_format_carries_the_provenance_and_honours_at(fmt: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["assess", str(PATIENT), "--format", fmt, "--at", "2030-05-06T07:08:09Z"]) == 0
    out = capsys.readouterr().out
    assert "2030-05-06T07:08:09" in out
    assert npc_kg.__version__ in out and ontology_version_iri() in out
    if fmt == "json":
        assert json.loads(out)[0]["provenance"]["generated_at"] == "2030-05-06T07:08:09Z"
    if fmt == "ttl":
        graph = Graph().parse(data=out, format="turtle")
        assert len(list(graph.subject_objects(PROV.generatedAtTime))) == 1


def test_bad_at_is_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["assess", str(PATIENT), "--at", "not a time"]) == 2
    assert "ISO 8601" in capsys.readouterr().err
