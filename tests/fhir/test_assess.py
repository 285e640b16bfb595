"""npc-kg assess and npc_kg.assess read FHIR: detection, site mappings, out of scope everywhere, traceable rows."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, PROV, RDF, RDFS

import npc_kg
from npc_kg.cli import main
from npc_kg.core.rules import OUT_OF_SCOPE, VIOLATED
from npc_kg.errors import InputError
from npc_kg.namespace import NPC

DATA = Path(__file__).resolve().parent.parent / "data" / "fhir"
SITE = DATA / "site-mapping.yaml"
BONE = DATA / "valid" / "ineligible-ci-3-bone-metastasis.json"
ELIGIBLE = DATA / "valid" / "eligible.json"
OUT = DATA / "valid" / "out-of-scope-no-cancer.json"


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["assess", *args])
    out, err = capsys.readouterr()
    return code, out, err


def _rows(assessment: Any) -> dict[str, Any]:
    return {row.criterion.rsplit("/", 1)[-1]: row for row in assessment.criteria}


def test_every_input_form_of_a_bundle_gives_the_same_assessment(site_mapping: Any) -> None:
    doc = json.loads(BONE.read_text(encoding="utf-8"))
    forms = [BONE, str(BONE), doc, BONE.read_text(encoding="utf-8")]
    results = [npc_kg.assess(form, mapping=site_mapping) for form in forms]
    for [one] in results:
        assert one.verdict == "ineligible"
        assert one.source_id == "npc-ineligible-ci-3-bone-metastasis"
        assert [(r.status, r.sources) for r in one.criteria] == [(r.status, r.sources) for r in results[0][0].criteria]


def test_mapping_given_as_file_list_or_compiled_mapping(site_mapping: Any) -> None:
    by_file = npc_kg.assess(ELIGIBLE, mapping=SITE)
    by_list = npc_kg.assess(ELIGIBLE, mapping=[str(SITE)])
    compiled = npc_kg.assess(ELIGIBLE, mapping=site_mapping)
    assert by_file[0].verdict == by_list[0].verdict == compiled[0].verdict == "eligible"
    # without the site's codes, the findings that have no public code are not recorded
    [shipped] = npc_kg.assess(ELIGIBLE)
    assert shipped.verdict == "indeterminate"
    assert str(NPC.SkullBaseBoneDestruction) in shipped.missing


def test_each_row_names_the_resources_behind_its_status(site_mapping: Any) -> None:
    [eligible] = npc_kg.assess(ELIGIBLE, mapping=site_mapping)
    rows = _rows(eligible)
    # "distant metastasis absent" traces back to the cM0 observation
    assert [s.reference for s in rows["ci-3-distant-metastasis"].sources] == ["Observation/npc-eligible-m"]
    assert [s.reference for s in rows["ind-3-no-distant-metastasis"].sources] == ["Observation/npc-eligible-m"]
    assert {s.reference for s in rows["ind-1-uncontrolled-or-recurrent-disease"].sources} == {
        "Condition/npc-eligible-npc", "Observation/npc-eligible-rt", "Observation/npc-eligible-rn"}
    assert "Observation/npc-eligible-comorbidities" in {s.reference for s in rows["ci-4-age-frailty-condition-organ"].sources}
    [bone] = npc_kg.assess(BONE, mapping=site_mapping)
    violated = _rows(bone)["ci-3-distant-metastasis"]
    assert violated.status == VIOLATED
    # a violated row names what triggered it (the present bone metastasis), not the records that rule things out
    assert [s.reference for s in violated.sources] == ["Condition/npc-ineligible-ci-3-bone-metastasis-bone"]
    assert all(s.node.startswith(bone.patient + "/fhir/") for s in violated.sources)


def test_rdf_input_rows_name_no_resources() -> None:
    [rdf] = npc_kg.assess(Path(__file__).resolve().parents[2] / "examples" / "patients" / "eligible.ttl")
    assert all(row.sources == () for row in rdf.criteria)


def test_bridges_are_configuration_not_data(site_mapping: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """A narrower code (C79.51 bone metastasis) is evaluated by the closures: no SPARQL or pySHACL fallback."""
    from npc_kg.shacl.engines import Engines
    from npc_kg.shacl.reference import ReferenceEvaluator

    def refuse(*_args: Any, **_kwargs: Any) -> Any:
        raise AssertionError("fell back from the closure evaluator")

    monkeypatch.setattr(Engines, "sparql_hits", refuse)
    monkeypatch.setattr(ReferenceEvaluator, "validate", refuse)
    [bone] = npc_kg.assess(BONE, mapping=site_mapping)
    assert bone.verdict == "ineligible"
    assert _rows(bone)["ci-3-distant-metastasis"].status == VIOLATED
    code = "http://purl.bioontology.org/ontology/ICD10CM/C79.51"
    assert (code, str(NPC.DistantMetastasis)) in bone.subclasses


def test_reference_engine_gives_the_same_rows_and_links_results(site_mapping: Any) -> None:
    [local] = npc_kg.assess(BONE, mapping=site_mapping)
    [reference] = npc_kg.assess(BONE, mapping=site_mapping, engine="reference")
    assert [(r.status, r.message, r.sources) for r in local.criteria] == \
        [(r.status, r.message, r.sources) for r in reference.criteria]
    graph = local.to_rdf()  # runs the reference with the same bridges
    assert len(list(graph.subjects(NPC.criterionStatus, NPC.Violated))) == 2
    assert list(graph.objects(None, NPC.producedBy))


def test_out_of_scope_in_every_output(capsys: pytest.CaptureFixture[str]) -> None:
    code, text, err = _run(capsys, str(OUT), "--mapping", str(SITE))
    assert code == 0 and err == ""
    assert "Verdict:   OUT-OF-SCOPE" in text
    assert "does not apply" in text and "no Condition coded as npc:NasopharyngealCarcinoma is recorded" in text
    assert "Criteria" not in text and "Missing data" not in text
    for verdict in ("ELIGIBLE", "INELIGIBLE", "INDETERMINATE", "error"):
        assert f"Verdict:   {verdict}\n" not in text

    code, out, _ = _run(capsys, str(OUT), "--format", "json")
    [data] = json.loads(out)
    assert code == 0 and data["verdict"] == OUT_OF_SCOPE
    assert data["criteria"] == [] and data["missing"] == [] and data["evidence"] == []
    assert "no Condition coded" in data["out_of_scope"]
    assert data["source_id"] == "npc-out-of-scope-no-cancer"

    code, out, _ = _run(capsys, str(OUT), "--format", "ttl")
    graph = Graph().parse(data=out, format="turtle")
    [node] = graph.subjects(RDF.type, NPC.Assessment)
    assert graph.value(node, NPC.verdict) == NPC.OutOfScope
    assert "no Condition coded" in str(graph.value(node, RDFS.comment))
    assert not list(graph.objects(node, NPC.criterionResult))

    code, out, _ = _run(capsys, str(OUT), "--format", "html")
    assert code == 0 and 'data-verdict="out-of-scope"' in out
    assert "does not apply to this patient" in out and "no Condition coded" in out
    assert "<h2>Criteria</h2>" not in out


def test_rows_name_resources_in_text_json_ttl_and_html(capsys: pytest.CaptureFixture[str]) -> None:
    code, text, _ = _run(capsys, str(ELIGIBLE), "--mapping", str(SITE))
    assert code == 0
    block = text[text.index("contraindication 3: distant metastasis"):text.index("contraindication 4")]
    assert "resources: Observation/npc-eligible-m" in block
    assert "Source id: npc-eligible" in text

    _code, out, _ = _run(capsys, str(ELIGIBLE), "--mapping", str(SITE), "--format", "json")
    [data] = json.loads(out)
    rows = {row["criterion"].rsplit("/", 1)[-1]: row for row in data["criteria"]}
    assert rows["ci-3-distant-metastasis"]["sources"] == ["Observation/npc-eligible-m"]

    _code, out, _ = _run(capsys, str(ELIGIBLE), "--mapping", str(SITE), "--format", "ttl")
    graph = Graph().parse(data=out, format="turtle")
    [row] = [r for r in graph.subjects(NPC.criterion, URIRef("https://w3id.org/npc-kg/kb/ci-3-distant-metastasis"))]
    [source] = graph.objects(row, PROV.wasDerivedFrom)
    assert graph.value(source, DCTERMS.identifier) == Literal("Observation/npc-eligible-m")

    _code, out, _ = _run(capsys, str(BONE), "--mapping", str(SITE), "--format", "html")
    assert "Resources behind this status" in out
    assert "<code>Condition/npc-ineligible-ci-3-bone-metastasis-bone</code>" in out
    # the record that triggered the violated row, with the resource it came from
    assert re.search(r"recorded present\s*<span class=\"muted\">\(from Condition/npc-ineligible-ci-3-bone-metastasis-bone\)",
                     out)


def test_bulk_export_is_refused_with_a_pointer_to_assess_cohort(capsys: pytest.CaptureFixture[str]) -> None:
    code, _out, err = _run(capsys, str(DATA / "bulk" / "Patient.ndjson"))
    assert code == 2 and "npc-kg assess-cohort" in err and "Traceback" not in err


def test_json_ld_still_reads_as_rdf(tmp_path: Path) -> None:
    source = Path(__file__).resolve().parents[2] / "examples" / "patients" / "eligible.ttl"
    graph = Graph().parse(source, format="turtle")
    path = tmp_path / "patient.json"
    path.write_text(graph.serialize(format="json-ld"), encoding="utf-8")
    [result] = npc_kg.assess(path)
    assert result.verdict == "eligible" and result.out_of_scope is None


def test_age_from_birth_date_at_the_assessment_date(builder: Any, site_mapping: Any) -> None:
    from npc_kg.assessment.assess import assess_input

    resources = builder.base("aged")
    resources["patient"]["birthDate"] = "1970-06-15"
    bundle = builder.bundle(resources)
    for at, age in (("2026-06-14T12:00:00Z", 55), ("2026-06-15T00:00:00Z", 56)):
        [_found], graph = assess_input(bundle, mapping=site_mapping, at=at)
        assert graph is not None
        assert graph.value(URIRef(str(NPC) + "patient/aged"), NPC.age) == Literal(age)
    resources["patient"]["birthDate"] = "1970"  # a partial date: not recorded
    [_found], graph = assess_input(builder.bundle(resources), mapping=site_mapping, at="2026-06-15T00:00:00Z")
    assert graph is not None and graph.value(URIRef(str(NPC) + "patient/aged"), NPC.age) is None


def test_no_patient_value_in_the_error_of_a_bad_bundle(capsys: pytest.CaptureFixture[str]) -> None:
    code, _out, err = _run(capsys, str(DATA / "invalid" / "several-patients.json"))
    assert code == 2 and "Traceback" not in err and "npc-invalid" not in err.split(":", 1)[1]


def test_json_that_is_neither_fhir_nor_json_ld_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["assess", str(DATA / "invalid" / "not-fhir.json")]) == 2
    err = capsys.readouterr().err
    assert "not-fhir.json: neither JSON-LD" in err and "nor FHIR (no resourceType)" in err
    assert "someone" not in err, "never a value"


def test_invalid_json_names_line_and_column(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "control.json"
    path.write_text('{"resourceType": "Patient",\n "id": "a\tb"}', encoding="utf-8")
    assert main(["assess", str(path)]) == 2
    err = capsys.readouterr().err
    assert re.search(r"control\.json:2:\d+: invalid JSON: Invalid control character$", err.strip()), err


@pytest.mark.parametrize(("born", "problem"), [
    ("SECRET-4242", "not a FHIR date"),
    ("4242-13-45", "not a FHIR date"),
    ("2030-01-01", "after the date of the assessment (2026-01-01)"),
    ("1960-13", "not a FHIR date"),
    ("2099", "after the date of the assessment (2026-01-01)"),
    ("1960", None),  # a partial date leaves the age not recorded (docs/fhir.md)
    ("1960-05", None),
    ("1960-05-02", None),
])
def test_a_birth_date_that_is_no_date_is_an_error(born: str, problem: str | None, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    bundle = json.loads(ELIGIBLE.read_text(encoding="utf-8"))
    for entry in bundle["entry"]:
        if entry["resource"]["resourceType"] == "Patient":
            entry["resource"]["birthDate"] = born
    path = tmp_path / "born.json"
    path.write_text(json.dumps(bundle), encoding="utf-8")
    code = main(["assess", str(path), "--mapping", str(SITE), "--at", "2026-01-01"])
    err = capsys.readouterr().err
    if problem is None:
        assert code == 0
    else:
        # a date out of its form is refused by the element check, one after the assessment by the age rule
        assert code == 2 and ("Patient.birthDate should be text in the form YYYY, YYYY-MM or YYYY-MM-DD (FHIR date)" in err
                              if problem == "not a FHIR date" else f"Patient birthDate: {problem}" in err), err
        assert "SECRET" not in err


def test_assess_counts_fhir_ages_to_at(tmp_path: Path) -> None:
    from npc_kg.assessment.assess import assess_many
    from npc_kg.fhir.errors import FhirInputError

    bundle = json.loads(ELIGIBLE.read_text(encoding="utf-8"))
    for entry in bundle["entry"]:
        if entry["resource"]["resourceType"] == "Patient":
            entry["resource"]["birthDate"] = "2030-01-01"
    assert npc_kg.assess(bundle, mapping=SITE, at="2031-06-01")[0].verdict == "eligible"
    assert assess_many([bundle], mapping=SITE, at="2031-06-01")[0].verdict == "eligible"
    with pytest.raises(FhirInputError, match="after the date of the assessment"):
        npc_kg.assess(bundle, mapping=SITE, at="2026-01-01")


def test_assess_at_sets_the_provenance_time() -> None:
    [found] = npc_kg.assess(ELIGIBLE, mapping=SITE, at="2031-06-01T08:00:00Z")
    assert found.to_dict()["provenance"]["generated_at"] == "2031-06-01T08:00:00Z"


def test_a_patient_model_error_never_quotes_the_fhir_id(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = ELIGIBLE.read_text(encoding="utf-8")
    bundle = json.loads(text)
    patient = next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient")
    bundle = json.loads(text.replace(patient["id"], "SECRET-4242"))
    next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient")["birthDate"] = "1800-01-01"
    path = tmp_path / "old.json"
    path.write_text(json.dumps(bundle), encoding="utf-8")
    assert main(["assess", str(path), "--mapping", str(SITE), "--at", "2026-01-01"]) == 3
    err = capsys.readouterr().err
    assert "old.json: the patient: age (npc:age): is above the maximum 120" in err
    assert "SECRET-4242" not in err


def test_a_limit_error_never_quotes_the_fhir_id(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = ELIGIBLE.read_text(encoding="utf-8")
    patient = next(e["resource"] for e in json.loads(text)["entry"] if e["resource"]["resourceType"] == "Patient")
    path = tmp_path / "many.json"
    path.write_text(text.replace(patient["id"], "SECRET-4242"), encoding="utf-8")
    from npc_kg import limits

    try:
        assert main(["assess", str(path), "--mapping", str(SITE), "--max-findings", "1"]) == 2
    finally:
        limits.reset()  # the CLI sets the limit for the process
    err = capsys.readouterr().err
    assert "the patient has more than 1 finding records" in err and "SECRET-4242" not in err


def test_assess_at_takes_a_date() -> None:
    from datetime import date

    [found] = npc_kg.assess(ELIGIBLE, mapping=SITE, at=date(2031, 6, 1))
    assert found.to_dict()["provenance"]["generated_at"] == "2031-06-01T00:00:00Z"


@pytest.mark.parametrize(("at", "message"), [(1700000000, "at= is ISO 8601 text, a datetime or a date, not int"),
                                             ("yesterday", "not an ISO 8601 date-time"),
                                             ("9999-12-31T23:59:59-12:00", "out of the range of dates")])
def test_a_bad_at_is_an_input_error(at: object, message: str) -> None:
    from npc_kg.errors import InputError

    with pytest.raises(InputError, match=message):
        npc_kg.assess(ELIGIBLE, mapping=SITE, at=at)  # type: ignore[arg-type]


def test_assess_cohort_at_takes_a_date(tmp_path: Path) -> None:
    from datetime import date

    summary = npc_kg.assess_cohort([ELIGIBLE], tmp_path / "rows.csv", mapping=SITE, at=date(2031, 6, 1), progress=False)
    assert summary.provenance.generated_at == "2031-06-01T00:00:00Z"


def test_a_fhir_mapping_with_no_fhir_input_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    """It was not read, with no word: a site's codes seemed to apply to an RDF patient."""
    rdf = Path(__file__).resolve().parents[2] / "examples" / "patients" / "eligible.ttl"
    with pytest.raises(InputError, match="is a FHIR site mapping, and no input is FHIR"):
        npc_kg.assess(rdf, mapping=SITE)
    assert main(["assess", str(rdf), "--mapping", str(SITE)]) == 2
    assert "no input is FHIR: it would not be read" in capsys.readouterr().err
    assert main(["assess", str(rdf), str(ELIGIBLE), "--mapping", str(SITE), "--format", "json"]) == 0  # one is FHIR
    assert len(json.loads(capsys.readouterr().out)) == 2
    from npc_kg.assessment.assess import assess_many

    assert len(assess_many([rdf, ELIGIBLE], mapping=SITE)) == 2  # each input is not checked alone


def test_a_dict_bundle_with_date_objects_is_read_and_one_with_odd_keys_is_refused() -> None:
    """A dict made in Python may hold a date object (a model library's dict): read as its text. A key
    that is not text is not FHIR: a clean FhirInputError (the element check crashed on it)."""
    import datetime

    from npc_kg.fhir.errors import FhirInputError

    def bundle_with(edit: Any) -> dict[str, Any]:
        bundle = json.loads(ELIGIBLE.read_text(encoding="utf-8"))
        edit({entry["resource"]["resourceType"]: entry["resource"] for entry in bundle["entry"]})
        return bundle

    dated = bundle_with(lambda r: r["Patient"].__setitem__("birthDate", datetime.date(1960, 5, 2)))
    [result] = npc_kg.assess(dated, mapping=SITE, at="2026-01-01")
    assert result.verdict == npc_kg.assess(ELIGIBLE, mapping=SITE, at="2026-01-01")[0].verdict
    odd = bundle_with(lambda r: r["Condition"]["code"].__setitem__(1, "not FHIR"))
    with pytest.raises(FhirInputError, match="check the resource against FHIR R4"):
        npc_kg.assess(odd, mapping=SITE, at="2026-01-01")
