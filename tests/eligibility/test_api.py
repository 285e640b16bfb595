"""npc_kg.assess: inputs, three-valued semantics, narrower classes, evidence, outputs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import rdflib
from rdflib import RDF, Graph, URIRef

import npc_kg
from npc_kg.assessment.assess import assess_graph, reference_statuses
from npc_kg.errors import InputError, PatientModelError
from npc_kg.namespace import KB, NPC, PATIENT, RESULT, SH
from npc_kg.patient import dict_keys, patient_from_dict
from tests.packdata import criteria_count

CI1 = str(KB["ci-1-skull-base-or-cranial-nerve"])
CI3 = str(KB["ci-3-distant-metastasis"])
CI4 = str(KB["ci-4-age-frailty-condition-organ"])
IND1 = str(KB["ind-1-uncontrolled-or-recurrent-disease"])
IND2 = str(KB["ind-2-local-no-skull-base-or-cranial-nerve"])
IND3 = str(KB["ind-3-no-distant-metastasis"])


def only(assessments: list) -> npc_kg.Assessment:
    assert len(assessments) == 1
    return assessments[0]


# --- inputs ---------------------------------------------------------------------------------


def test_every_input_form_gives_the_same_result(helpers, tmp_path: Path) -> None:
    path = helpers.REPO / "tests" / "data" / "patients" / "valid" / "ci-4-violated-frailty.ttl"
    text = path.read_text(encoding="utf-8")
    graph = Graph().parse(data=text, format="turtle")
    jsonld = graph.serialize(format="json-ld")
    results = [only(npc_kg.assess(x)) for x in (path, str(path), text, graph, jsonld)]
    assert {r.verdict for r in results} == {"ineligible"}
    assert len({json.dumps(r.to_dict(), sort_keys=True) for r in results}) == 1


def test_json_ld_native_numbers_are_valid_decimals(helpers) -> None:
    """rdflib keeps JSON's int as the value of an xsd:decimal literal; validation goes by the lexical form."""
    [result] = npc_kg.assess(helpers.REPO / "examples" / "patients" / "eligible.jsonld")
    assert result.verdict == "eligible"


def test_dict_input_is_assessed(helpers) -> None:
    result = only(npc_kg.assess(helpers.patient_dict()))
    assert result.verdict == "eligible"
    assert result.patient == str(PATIENT["P-1"])
    assert all(row.status == "satisfied" for row in result.criteria)


def test_patient_from_dict_builds_the_documented_graph(helpers) -> None:
    graph = patient_from_dict(helpers.patient_dict(cranial_nerve_palsy="present"))
    [patient] = graph.subjects(RDF.type, NPC.Patient)
    records = set(graph.objects(patient, NPC.hasFinding))
    assert len(records) == 11
    [recurrence] = [r for r in records if (r, RDF.type, NPC.LocalRecurrence) in graph]
    assert (recurrence, RDF.type, NPC.RecurrenceAfterRadiotherapy) in graph
    assert (recurrence, NPC.rTCategory, NPC.rT2) in graph
    assert (recurrence, NPC.findingStatus, NPC.Present) in graph
    [palsy] = [r for r in records if (r, RDF.type, NPC.CranialNervePalsy) in graph]
    assert (palsy, NPC.findingStatus, NPC.Present) in graph
    assert graph.value(patient, NPC.age).toPython() == 58


def test_dict_keys_come_from_shapes_and_ontology() -> None:
    keys = dict_keys()
    assert {"id", "age", "radiotherapy_courses", "ecog"} <= set(keys["patient"])
    assert {"rT", "rN", "months_since_radiotherapy", "status"} <= set(keys["record"])
    assert {"distant_metastasis", "frailty", "cranial_nerve_palsy", "local_recurrence"} <= set(keys["findings"])


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"weight": 70}, "unknown field key"),
        ({"findings": {"broken_leg": "present"}}, "unknown finding key"),
        ({"findings": {"frailty": "maybe"}}, "field 'status' is not one of"),
        ({"recurrences": [{"site": "elbow"}]}, "field 'site' names no single kind"),
        ({"recurrences": [{"site": "local", "rT": "rT9"}]}, "field 'rT' is not one of"),
    ],
)
def test_bad_dicts_raise_patient_model_errors(helpers, change: dict, fragment: str) -> None:
    data = {**helpers.patient_dict(), **change}
    with pytest.raises(PatientModelError) as info:
        npc_kg.assess(data)
    assert any(fragment in line for line in info.value.errors), info.value.errors
    assert info.value.exit_code == 3


def test_ill_typed_dict_value_is_a_data_error_without_the_value(helpers) -> None:
    data = {**helpers.patient_dict(), "age": "SECRET-AGE"}
    with pytest.raises(PatientModelError) as info:
        npc_kg.assess(data)
    text = str(info.value) + "\n".join(info.value.errors)
    assert "age (npc:age): is not a valid xsd:integer" in text
    assert "SECRET-AGE" not in text


def test_several_patients_in_one_graph(helpers) -> None:
    graph = patient_from_dict(helpers.patient_dict("A"))
    graph += patient_from_dict(helpers.patient_dict("B", distant_metastasis="present"))
    results = npc_kg.assess(graph)
    assert [r.patient.rsplit("/", 1)[-1] for r in results] == ["A", "B"]
    assert [r.verdict for r in results] == ["eligible", "ineligible"]


# --- three-valued semantics and class hierarchy ---------------------------------------------


def status_of(data: dict, criterion: str) -> str:
    return {row.criterion: row.status for row in only(npc_kg.assess(data)).criteria}[criterion]


def test_recorded_absent_and_not_recorded_differ(helpers) -> None:
    absent = only(npc_kg.assess(helpers.patient_dict(distant_metastasis="absent")))
    missing = only(npc_kg.assess(helpers.patient_dict(distant_metastasis=None)))
    assert absent.verdict == "eligible"
    assert missing.verdict == "indeterminate"
    assert {r.criterion: r.status for r in absent.criteria}[CI3] == "satisfied"
    assert {r.criterion: r.status for r in missing.criteria}[CI3] == "unknown"
    assert str(NPC.DistantMetastasis) in missing.missing
    assert str(NPC.DistantMetastasis) not in absent.missing


def test_narrower_class_frailty_triggers_contraindication_4(helpers) -> None:
    assert status_of(helpers.patient_dict(frailty="present"), CI4) == "violated"


def test_hp_coded_finding_triggers_contraindication_1(helpers) -> None:
    ttl = helpers.PREFIXES_TTL + """
ex:hp a npc:Patient ; npc:hasFinding ex:hp-rec , ex:hp-cn .
ex:hp-rec a npc:RecurrenceAfterRadiotherapy , npc:RegionalRecurrence ; npc:findingStatus npc:Present .
ex:hp-cn a HP:0006824 ; npc:findingStatus npc:Present .
"""
    result = only(npc_kg.assess(ttl))
    statuses = {r.criterion: r.status for r in result.criteria}
    assert statuses[CI1] == "violated"
    assert statuses[IND2] == "satisfied"  # no local recurrence: not applicable
    assert result.verdict == "ineligible"


def test_age_alone_never_triggers_contraindication_4(helpers) -> None:
    old = {**helpers.patient_dict(advanced_age=None), "age": 120}
    assert status_of(old, CI4) == "unknown"
    assert status_of({**helpers.patient_dict(), "age": 120}, CI4) == "satisfied"


def test_indication_2_not_applicable_message(helpers) -> None:
    data = helpers.patient_dict()
    data["recurrences"] = [{"site": "regional", "kind": "recurrence"}]
    result = only(npc_kg.assess(data))
    [row] = [r for r in result.criteria if r.criterion == IND2]
    assert row.status == "satisfied"
    assert "Not applicable" in row.message


def test_rows_carry_kb_labels_kinds_sources_and_quotes(helpers, kg: Graph) -> None:
    result = only(npc_kg.assess(helpers.patient_dict(distant_metastasis="present")))
    assert [r.kind for r in result.criteria] == ["indication"] * 3 + ["contraindication"] * 5
    [row] = [r for r in result.criteria if r.criterion == CI3]
    assert row.label == "contraindication 3: distant metastasis"
    assert row.quote == "3There were distant metastasis."
    assert row.source == str(KB["source-000"])
    assert row.message == "Distant metastasis is recorded present."


def test_treatment_curie_subclass_and_unknown_treatment(helpers) -> None:
    data = helpers.patient_dict()
    assert only(npc_kg.assess(data, "npc:SalvageSurgery")).verdict == "eligible"
    narrower = only(npc_kg.assess(data, NPC.NasopharyngealSalvageSurgery))
    assert narrower.treatment == str(NPC.NasopharyngealSalvageSurgery)
    assert len(narrower.criteria) == criteria_count()
    with pytest.raises(InputError):
        npc_kg.assess(data, "npc:ThirdCourseRadiotherapy")
    with pytest.raises(InputError):
        npc_kg.assess(data, "nope:Thing")
    with pytest.raises(InputError, match=r"did you mean 'npc:SalvageSurgery'\? \(choices: npc:SalvageSurgery"):
        npc_kg.assess(data, "npc:SalvageSurgeri")  # a typo: the closest treatment, then the choices


# --- prognosis, evidence, statements --------------------------------------------------------


def test_prognosis_follows_the_patients_findings(helpers) -> None:
    data = helpers.patient_dict()
    data["recurrences"][0]["rN"] = "rN2"
    rn2 = {p["association"]: p["basis"] for p in only(npc_kg.assess(data)).prognosis}
    rn0 = {p["association"]: p["basis"] for p in only(npc_kg.assess(helpers.patient_dict())).prognosis}
    assert rn2[str(KB["assoc-001-rn23-os"])] == "patient-finding"
    assert rn2[str(KB["assoc-001-rn23-pfs"])] == "patient-finding"
    assert str(KB["assoc-001-rn23-os"]) not in rn0
    assert rn0[str(KB["assoc-001-local-recurrence-pfs"])] == "patient-finding"
    assert str(KB["assoc-001-regional-recurrence-pfs"]) not in rn0
    assert rn0[str(KB["assoc-001-salvage-surgery-os"])] == "treatment-option"


def test_evidence_for_local_recurrence_compares_surgery_and_second_course(helpers) -> None:
    result = only(npc_kg.assess(helpers.patient_dict()))
    figures = {e["figure"]: e for e in result.evidence if e["type"] == "figure"}
    surgery = figures[str(KB["fig-000-primary-recurrence-surgery-survival-5y"])]
    second_course = figures[str(KB["fig-000-two-course-rt-survival-5y"])]
    for figure in (surgery, second_course):
        assert figure["time_horizon_months"] == 60
        assert figure["source_type"] == str(NPC.HospitalWebPage)
        assert figure["population"] and figure["source"] and figure["quote"]
    assert surgery["lower_bound"] == 0.44 and surgery["upper_bound"] == 0.51
    assert str(KB["fig-000-neck-surgery-survival-5y"]) not in figures  # regional only


def test_regional_recurrence_gets_neck_figures_not_primary_ones(helpers) -> None:
    data = helpers.patient_dict()
    data["recurrences"] = [{"site": "regional", "kind": "recurrence"}]
    figures = {e["figure"] for e in only(npc_kg.assess(data)).evidence if e["type"] == "figure"}
    assert str(KB["fig-000-neck-surgery-survival-5y"]) in figures
    assert str(KB["fig-000-primary-recurrence-surgery-survival-5y"]) not in figures


def test_third_course_statement_only_after_relapse_following_a_second_course(helpers) -> None:
    third = str(KB["stmt-000-third-course-ineffective"])
    relapse = helpers.patient_dict()
    relapse["radiotherapy_courses"] = 2
    relapse["recurrences"] = [{"site": "local", "kind": "relapse_or_remnant_after_second_course"}]
    first = only(npc_kg.assess(relapse))
    assert third in {e.get("statement") for e in first.evidence}
    plain = only(npc_kg.assess(helpers.patient_dict()))
    assert third not in {e.get("statement") for e in plain.evidence}


# --- outputs --------------------------------------------------------------------------------


def test_to_dict_has_exactly_the_documented_shape(helpers) -> None:
    data = only(npc_kg.assess(helpers.patient_dict(frailty=None))).to_dict()
    assert list(data) == ["patient", "treatment", "verdict", "criteria", "missing", "prognosis", "evidence", "provenance",
                          "source_id", "out_of_scope"]
    assert data["verdict"] == "indeterminate"
    assert data["missing"] == [str(NPC.Frailty)]
    assert data["out_of_scope"] is None
    for row in data["criteria"]:
        assert list(row) == ["criterion", "label", "kind", "status", "message", "source", "quote", "sources"]
        assert row["status"] in ("satisfied", "violated", "unknown")
        assert row["sources"] == []  # RDF input: no record names the resource it was derived from
        assert all(isinstance(v, str) for k, v in row.items() if k != "sources")
    assert {e["type"] for e in data["evidence"]} == {"figure", "statement"}
    assert json.loads(only(npc_kg.assess(helpers.patient_dict(frailty=None))).to_json()) == data


def test_to_rdf_links_rows_to_validation_results(helpers) -> None:
    result = only(npc_kg.assess(helpers.patient_dict(distant_metastasis="present", frailty=None)))
    graph = result.to_rdf()
    [assessment] = graph.subjects(RDF.type, NPC.Assessment)
    assert assessment == result.iri and str(assessment).startswith(str(RESULT))
    assert graph.value(assessment, NPC.verdict) == NPC.Ineligible
    assert graph.value(assessment, NPC.assessedTreatment) == NPC.SalvageSurgery
    rows = list(graph.objects(assessment, NPC.criterionResult))
    assert len(rows) == criteria_count()
    for row in rows:
        status = graph.value(row, NPC.criterionStatus)
        produced = list(graph.objects(row, NPC.producedBy))
        if status == NPC.Satisfied:
            assert produced == []
        else:
            assert produced
            for node in produced:
                assert (node, RDF.type, SH.ValidationResult) in graph
                severity = graph.value(node, SH.resultSeverity)
                assert severity == (SH.Violation if status == NPC.Violated else SH.Warning)
                assert graph.value(node, SH.focusNode) == URIRef(result.patient)
    again = only(npc_kg.assess(helpers.patient_dict(distant_metastasis="present", frailty=None)))
    assert again.iri == result.iri, "assessment IRIs are deterministic"


def test_reference_statuses_runs_one_validation_for_many_patients(helpers, monkeypatch: pytest.MonkeyPatch) -> None:
    import npc_kg.shacl.reference as module

    graph = Graph()
    for name, change in (("a", {}), ("b", {"distant_metastasis": "present"}), ("c", {"frailty": None})):
        graph += patient_from_dict(helpers.patient_dict(name, **change))
    calls = []
    real = module.validate
    monkeypatch.setattr(module, "validate", lambda g, **options: calls.append(1) or real(g, **options))
    statuses = reference_statuses(graph)
    assert len(calls) == 1
    by_id = {iri.rsplit("/", 1)[-1]: row for iri, row in statuses.items()}
    assert [by_id[k]["verdict"] for k in "abc"] == ["eligible", "ineligible", "indeterminate"]
    assert by_id["b"][CI3] == "violated" and by_id["b"][IND3] == "violated"
    assert by_id["c"][CI4] == "unknown"
    single = only(npc_kg.assess(helpers.patient_dict("b", distant_metastasis="present")))
    assert {r.criterion: r.status for r in single.criteria} == {k: v for k, v in by_id["b"].items() if k != "verdict"}


def test_reference_statuses_strict_raises_on_data_errors(helpers) -> None:
    graph = patient_from_dict(helpers.patient_dict())
    [patient] = graph.subjects(RDF.type, NPC.Patient)
    graph.set((patient, NPC.age, rdflib.Literal("abc", datatype=rdflib.XSD.integer)))
    with pytest.raises(PatientModelError):
        reference_statuses(graph)
    assert reference_statuses(graph, strict=False)[str(patient)]["verdict"] == "eligible"


def test_pyshacl_global_flags_are_restored(helpers) -> None:
    from rdflib.term import _XSD_PFX, _toPythonMapping

    boolean = URIRef(_XSD_PFX + "boolean")
    before = (rdflib.NORMALIZE_LITERALS, _toPythonMapping[boolean])
    try:
        rdflib.NORMALIZE_LITERALS = False
        assess_graph(patient_from_dict(helpers.patient_dict()))
        assert rdflib.NORMALIZE_LITERALS is False
        assert _toPythonMapping[boolean] is before[1]
    finally:
        rdflib.NORMALIZE_LITERALS = before[0]


def test_input_graph_is_not_modified(helpers) -> None:
    graph = patient_from_dict(helpers.patient_dict())
    before = set(graph)
    npc_kg.assess(graph)
    assert set(graph) == before


def test_an_rdflib_dataset_is_read_as_the_union_of_its_graphs() -> None:
    from rdflib import Dataset, URIRef

    examples = Path(__file__).resolve().parents[2] / "examples" / "patients"
    in_default = Dataset()
    in_default.parse(examples / "eligible.ttl", format="turtle")
    in_named = Dataset()
    in_named.graph(URIRef("https://example.org/g")).parse(examples / "ineligible.ttl", format="turtle")
    assert npc_kg.assess(in_default)[0].verdict == "eligible"
    assert npc_kg.assess(in_named)[0].verdict == "ineligible"


def test_a_one_line_string_that_is_no_rdf_file_name_says_how_it_was_read() -> None:
    from npc_kg.errors import InputError

    with pytest.raises(InputError, match=r"one line that does not end in an RDF file extension is read as Turtle text"):
        npc_kg.assess("examples/patients")


@pytest.mark.parametrize("graph", [None, "ex:p a npc:Patient .", {"id": "p"}])
def test_reassess_and_assess_graph_take_a_graph(graph: object) -> None:
    """Anything else was a bare AttributeError from deep inside."""
    [first] = npc_kg.assess(Path(__file__).resolve().parents[2] / "examples" / "patients" / "eligible.ttl")
    with pytest.raises(InputError, match="assess_graph takes an rdflib Graph"):
        first.reassess(graph)  # type: ignore[arg-type]
    with pytest.raises(InputError, match="assess_graph takes an rdflib Graph"):
        assess_graph(graph)  # type: ignore[arg-type]
