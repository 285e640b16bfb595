"""``npc_kg.assess`` on the local engine (the default) gives the rows of the pySHACL reference.

The local engine computes which shapes report on which patient; each row's status, message and
missing items then follow from the shapes, as they do from pySHACL's results. Checked on every
example and test patient, on a synthetic cohort, for the RDF output (which the local engine
produces by running the reference once, on demand), and for patient-model errors (always worded
by the reference).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
from rdflib import Graph
from rdflib.compare import isomorphic

from npc_kg.assessment.assess import assess, assess_graph, assess_many
from npc_kg.cohort.synth import synth
from npc_kg.errors import InputError, PatientModelError

REPO = Path(__file__).parents[2]
TEST_PATIENTS = REPO / "tests" / "data" / "patients"
PATIENTS = sorted((REPO / "examples" / "patients").glob("*.ttl")) + sorted((TEST_PATIENTS / "valid").glob("*.ttl"))
def rows(assessment: Any) -> dict[str, Any]:
    """``to_dict()`` without the provenance, which names the engine."""
    data = assessment.to_dict()
    assert data.pop("provenance")["engine"] in ("local", "reference")
    return data


INVALID = sorted(p for p in (TEST_PATIENTS / "invalid").glob("*.ttl") if p.name != "syntax-error.ttl")


@pytest.mark.parametrize("path", PATIENTS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_local_rows_equal_the_reference(path: Path) -> None:
    local = assess(path)
    reference = assess(path, engine="reference")
    assert [rows(a) for a in local] == [rows(a) for a in reference]
    assert all(len(a.report) == 0 for a in local), "the local engine runs no pySHACL unless asked"


def test_local_rows_equal_the_reference_on_a_synthetic_cohort(tmp_path: Path) -> None:
    synth(60, 17, tmp_path / "c.nt")  # missing data at the documented rates: many unknown rows
    graph = Graph().parse(tmp_path / "c.nt", format="nt")
    local = {a.patient: rows(a) for a in assess_graph(graph)}
    reference = {a.patient: rows(a) for a in assess_graph(graph, engine="reference")}
    assert local == reference
    assert {a["verdict"] for a in local.values()} == {"eligible", "ineligible", "indeterminate"}
    assert any(len(a["missing"]) > 1 for a in local.values()), "several missing items: their order is checked"


@pytest.mark.parametrize("name", ["indeterminate.ttl", "ineligible-ci-4-frailty.ttl"])
def test_rdf_output_is_the_references(name: str) -> None:
    [local] = assess(REPO / "examples" / "patients" / name)
    [reference] = assess(REPO / "examples" / "patients" / name, engine="reference")
    same = dataclasses.replace(reference, provenance=local.provenance)  # the provenance names the engine
    assert isomorphic(local.to_rdf(), same.to_rdf())
    explained = local.explained()
    assert explained is local.explained(), "pySHACL runs once"
    assert len(explained.report) > 0
    assert any(row.produced_by for row in explained.criteria)


@pytest.mark.parametrize("path", INVALID, ids=lambda p: p.name)
def test_patient_model_errors_are_worded_by_the_reference(path: Path) -> None:
    with pytest.raises(PatientModelError) as local:
        assess(path)
    with pytest.raises(PatientModelError) as reference:
        assess(path, engine="reference")
    assert local.value.errors == reference.value.errors
    assert str(local.value) == str(reference.value)


def test_unknown_engine_is_an_input_error() -> None:
    with pytest.raises(InputError, match="unknown engine"):
        assess_many([REPO / "examples" / "patients" / "eligible.ttl"], engine="fast-and-loose")
