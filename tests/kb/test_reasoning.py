"""HermiT over the ontology and knowledge base: consistent, classified, failures name the culprit,
and no temporary file is left behind. One consistent run per session (``reasoning_run``)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
from rdflib import OWL, RDFS, Graph

from npc_kg.cli import main
from npc_kg.errors import InconsistentOntologyError
from npc_kg.kg.reason import ReasoningReport, reason, reasoning_graph
from npc_kg.namespace import NPC
from tests.kb.conftest import ReasoningRun

PREFIXES = """@prefix npc: <https://w3id.org/npc-kg/> .
@prefix kb: <https://w3id.org/npc-kg/kb/> .
@prefix owl: <http://www.w3.org/2002/07/owl#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
"""
UNSATISFIABLE = PREFIXES + """
npc:Frailty owl:disjointWith npc:RenalInsufficiency .
npc:FrailKidneyTestClass a owl:Class ; rdfs:subClassOf npc:Frailty , npc:RenalInsufficiency .
"""
INCONSISTENT = PREFIXES + """
npc:Frailty owl:disjointWith npc:RenalInsufficiency .
kb:test-patient-of-both a npc:Frailty , npc:RenalInsufficiency .
"""

pytestmark = pytest.mark.slow


def test_ontology_is_consistent(reasoning_run: ReasoningRun) -> None:
    report = reasoning_run.report
    assert isinstance(report, ReasoningReport)
    assert report.consistent
    assert report.unsatisfiable == ()
    assert report.classes >= 60


def test_inferred_hierarchy(reasoning_run: ReasoningRun) -> None:
    hierarchy = reasoning_run.report.hierarchy
    assert hierarchy[str(NPC.LocoregionalRecurrence)] == tuple(sorted((str(NPC.LocalRecurrence), str(NPC.RegionalRecurrence))))
    assert hierarchy[str(NPC.RetrospectiveCohortStudy)] == (str(NPC.ObservationalClinicalStudy),)
    # Inferred, not asserted: every member of the owl:oneOf is a StatisticType.
    assert (str(NPC.FractionStatistic), str(NPC.StatisticType)) in reasoning_run.report.inferred


def test_hierarchy_turtle(reasoning_run: ReasoningRun) -> None:
    graph = Graph().parse(data=reasoning_run.report.to_turtle(), format="turtle")
    assert (NPC.FractionStatistic, RDFS.subClassOf, NPC.StatisticType) in graph
    assert (NPC.AdvancedAge, RDFS.subClassOf, NPC.GeneralConditionContraindication) in graph


def test_no_temporary_files_left(reasoning_run: ReasoningRun) -> None:
    assert reasoning_run.before == []
    assert reasoning_run.after == []


def test_reasoning_graph_has_no_imports_or_owlready_annotations() -> None:
    extra = PREFIXES + """
    @prefix owlready: <http://www.lesfleursdunormal.fr/static/_downloads/owlready_ontology.owl#> .
    <https://w3id.org/npc-kg/ontology> owl:imports <https://example.org/never-fetched.owl> ;
        owlready:python_module "os" .
    """
    graph = reasoning_graph(extra_turtle=extra)
    assert (None, OWL.imports, None) not in graph
    assert not [p for p in graph.predicates() if "lesfleursdunormal" in str(p)]


def _in_private_tmp(tmp_path: Path, extra: str) -> tuple[str, list[str]]:
    saved = tempfile.tempdir
    tempfile.tempdir = str(tmp_path)
    try:
        with pytest.raises(InconsistentOntologyError) as caught:
            reason(extra_turtle=extra)
    finally:
        tempfile.tempdir = saved
    return str(caught.value), os.listdir(tmp_path)


def test_unsatisfiable_class_is_named(tmp_path: Path) -> None:
    message, leftovers = _in_private_tmp(tmp_path, UNSATISFIABLE)
    assert "unsatisfiable" in message
    assert "npc:FrailKidneyTestClass" in message
    assert "npc:Frailty" in message and "npc:RenalInsufficiency" in message
    assert leftovers == []


def test_inconsistent_individual_is_named(tmp_path: Path) -> None:
    message, leftovers = _in_private_tmp(tmp_path, INCONSISTENT)
    assert "inconsistent" in message
    assert "kb:test-patient-of-both" in message
    assert "npc:Frailty" in message and "npc:RenalInsufficiency" in message
    assert leftovers == [], "a failed HermiT run must not leave owlready2's temporary file behind"


def test_cli_reason_writes_hierarchy(reasoning_run: ReasoningRun, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                     capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    monkeypatch.setattr("npc_kg.cli.reason.reason", lambda: reasoning_run.report)
    target = tmp_path / "hierarchy.ttl"
    assert main(["reason", "-o", str(target)]) == 0
    out = capsys.readouterr().out
    assert "consistent     yes" in out
    graph = Graph().parse(data=target.read_text(encoding="utf-8"), format="turtle")
    assert (NPC.FractionStatistic, RDFS.subClassOf, NPC.StatisticType) in graph
    assert [p.name for p in tmp_path.iterdir()] == ["hierarchy.ttl"]


def test_cli_reason_refuses_to_overwrite_an_input(reasoning_run: ReasoningRun, monkeypatch: pytest.MonkeyPatch) -> None:
    from npc_kg.resources import data_path

    monkeypatch.setattr("npc_kg.cli.reason.reason", lambda: reasoning_run.report)
    ontology = data_path("ontology", "npc-kg.ttl")
    before = ontology.read_bytes()
    assert main(["reason", "-o", str(ontology)]) == 2
    assert ontology.read_bytes() == before


def test_cli_reason_exits_5_when_inconsistent(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr("npc_kg.cli.reason.reason", lambda: reason(extra_turtle=UNSATISFIABLE))
    assert main(["reason"]) == 5
    assert "npc:FrailKidneyTestClass" in capsys.readouterr().err


@pytest.mark.parametrize("target", ["/dev/null", "missing-folder/x.ttl", "."])
def test_cli_reason_refuses_a_bad_output_before_reasoning(target: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    ran: list[bool] = []
    monkeypatch.setattr("npc_kg.cli.reason.reason", lambda: ran.append(True))
    monkeypatch.chdir(tmp_path)
    assert main(["reason", "-o", target]) == 2
    assert ran == [], "HermiT does not run for an output that will be refused"
    assert capsys.readouterr().out == ""
