"""docs/fhir.md, "Semantics": one test per row (S1-S19), on small synthetic patients."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

import npc_kg
from npc_kg.fhir import FhirPatient, read_bundle
from npc_kg.namespace import NPC

DOCS = Path(__file__).resolve().parents[2] / "docs" / "fhir.md"
ICD_C79_51 = "http://purl.bioontology.org/ontology/ICD10CM/C79.51"


def _read(builder: Any, mapping: Any, edit: Any = None, pid: str = "sem") -> FhirPatient:
    resources = builder.base(pid)
    if edit is not None:
        edit(pid, resources)
    return read_bundle(builder.bundle(resources), mapping=mapping)


def _records(patient: FhirPatient) -> set[tuple[str, str]]:
    return {(cls, record.status) for record in patient.records for cls in record.classes}


def _statuses(patient: FhirPatient) -> dict[str, str]:
    assert patient.graph is not None
    [assessment] = npc_kg.assess(patient.graph)
    return {row.criterion.rsplit("/", 1)[-1]: row.status for row in assessment.criteria}


def test_every_row_has_its_test() -> None:
    rows = re.findall(r"^\| (S\d+) \|.*`(test_s\d+_\w+)` \|$", DOCS.read_text(encoding="utf-8"), re.MULTILINE)
    assert len(rows) == 19
    for row_id, name in rows:
        assert name.startswith(f"test_{row_id.lower()}_")
        assert name in globals(), f"{row_id}: {name} is not defined in {__file__}"


def test_s1_refuted_is_absent(builder: Any, site_mapping: Any) -> None:
    patient = _read(builder, site_mapping)  # the base patient: frailty refuted
    assert (str(NPC.Frailty), "absent") in _records(patient)
    [statement] = [s for s in patient.statements if s.source.id == "sem-frailty"]
    assert statement.state == "absent" and statement.code == "HP:0033675"


def test_s2_comorbidity_absent_extension(builder: Any, site_mapping: Any) -> None:
    patient = _read(builder, site_mapping)
    absent = {(s.code, s.state) for s in patient.statements if s.rule == "comorbidity-absent"}
    assert absent == {("HP:0001399", "absent"), ("HP:0000083", "absent")}
    assert (str(NPC.HepaticInsufficiency), "absent") in _records(patient)
    assert (str(NPC.RenalInsufficiency), "absent") in _records(patient)


def test_s3_cm0_is_absent_and_latest_decides(builder: Any, site_mapping: Any) -> None:
    patient = _read(builder, site_mapping)
    assert (str(NPC.DistantMetastasis), "absent") in _records(patient)
    later = _read(builder, site_mapping, builder.M_LATER_UNMAPPED)
    assert not any(str(NPC.DistantMetastasis) in r.classes for r in later.records)
    assert _statuses(later)["ci-3-distant-metastasis"] == "unknown"


def test_s4_history_of_metastatic_cancer(builder: Any, site_mapping: Any) -> None:
    no_history = _read(builder, site_mapping, builder._chain(builder._drop("m"), builder.HISTORY_FALSE))
    assert (str(NPC.DistantMetastasis), "absent") in _records(no_history)

    def history_true(pid: str, res: dict[str, Any]) -> None:
        builder.HISTORY_FALSE(pid, res)
        res["history"]["valueBoolean"] = True

    past = _read(builder, site_mapping, builder._chain(builder._drop("m"), history_true))
    assert not any(str(NPC.DistantMetastasis) in r.classes for r in past.records)
    assert [s.state for s in past.statements if s.rule == "history-of-metastatic-cancer"] == ["not-recorded"]


def test_s5_missing_resource_is_not_recorded(builder: Any, site_mapping: Any) -> None:
    patient = _read(builder, site_mapping, builder._drop("frailty"))
    assert not any(str(NPC.Frailty) in r.classes for r in patient.records)
    assert _statuses(patient)["ci-4-age-frailty-condition-organ"] == "unknown"


@pytest.mark.parametrize("status", ["resolved", "inactive", "remission"])
def test_s6_resolved_inactive_remission(builder: Any, site_mapping: Any, status: str) -> None:
    patient = _read(builder, site_mapping, builder._present("frailty", builder.HPO, "HP:0033675", clinical=status,
                                                            verification=None))
    assert [s.state for s in patient.statements if s.source.id == "sem-frailty"] == ["not-recorded"]
    assert not any(str(NPC.Frailty) in r.classes for r in patient.records)


def test_s7_entered_in_error_dropped(builder: Any, site_mapping: Any) -> None:
    condition = _read(builder, site_mapping, builder._secondary("bone", builder.ICD, "C79.51", "bone",
                                                                verification="entered-in-error"))
    assert not any(ICD_C79_51 in r.classes for r in condition.records)
    assert condition.stats.dropped == 1

    def m_in_error(pid: str, res: dict[str, Any]) -> None:
        res["m"]["status"] = "entered-in-error"

    observation = _read(builder, site_mapping, m_in_error)
    assert not any(str(NPC.DistantMetastasis) in r.classes for r in observation.records)
    assert [s.state for s in observation.statements if s.rule == "m-category"] == ["dropped"]
    courses = _read(builder, site_mapping, builder._set("course-3", builder.STOPPED_COURSE_RESOURCE))
    assert courses.properties[str(NPC.radiotherapyCourses)][0] == 1


@pytest.mark.parametrize("verification", ["unconfirmed", "provisional", "differential"])
def test_s8_unconfirmed_and_preliminary(builder: Any, site_mapping: Any, verification: str) -> None:
    patient = _read(builder, site_mapping, builder._secondary("bone", builder.ICD, "C79.51", "bone",
                                                              verification=verification))
    assert not any(ICD_C79_51 in r.classes for r in patient.records)

    def preliminary(pid: str, res: dict[str, Any]) -> None:
        res["m"]["status"] = "preliminary"

    assert not any(str(NPC.DistantMetastasis) in r.classes for r in _read(builder, site_mapping, preliminary).records)


def test_s9_exact_match_is_the_class(builder: Any, site_mapping: Any) -> None:
    present = _read(builder, site_mapping, builder._present("frailty", builder.HPO, "HP:0033675"))
    assert (str(NPC.Frailty), "present") in _records(present)
    assert present.bridges == ()
    assert _statuses(present)["ci-4-age-frailty-condition-organ"] == "violated"


def test_s10_narrower_code(builder: Any, site_mapping: Any) -> None:
    present = _read(builder, site_mapping, builder._secondary("bone", builder.ICD, "C79.51", "bone"))
    assert (ICD_C79_51, "present") in _records(present)
    assert (ICD_C79_51, str(NPC.DistantMetastasis)) in present.bridges
    assert _statuses(present)["ci-3-distant-metastasis"] == "violated"
    refuted_only = _read(builder, site_mapping, builder._chain(
        builder._drop("m"), builder._secondary("bone", builder.ICD, "C79.51", "bone", clinical=None, verification="refuted")))
    assert (ICD_C79_51, "absent") in _records(refuted_only)
    assert not any(str(NPC.DistantMetastasis) in r.classes for r in refuted_only.records)
    statuses = _statuses(refuted_only)
    assert statuses["ci-3-distant-metastasis"] == statuses["ind-3-no-distant-metastasis"] == "unknown"


def test_s11_broader_code(builder: Any, site_mapping: Any) -> None:
    present = _read(builder, site_mapping, builder._chain(builder._drop("m"), builder._secondary(
        "secondary", builder.SCT, "128462008", "Secondary malignant neoplastic disease (disorder)")))
    assert not any(str(NPC.DistantMetastasis) in r.classes for r in present.records)
    refuted = _read(builder, site_mapping, builder._chain(builder._drop("m"), builder._secondary(
        "secondary", builder.SCT, "128462008", "x", clinical=None, verification="refuted")))
    assert (str(NPC.DistantMetastasis), "absent") in _records(refuted)


def test_s12_c77_never_distant(builder: Any, site_mapping: Any) -> None:
    patient = _read(builder, site_mapping, builder._chain(builder._drop("m"), builder._secondary(
        "nodes", builder.ICD, "C77.0", "Secondary and unspecified malignant neoplasm of lymph nodes of head, face and neck")))
    assert not any(r.rule == "condition" and r.code == "ICD10CM:C77.0" for r in patient.records)
    [row] = site_mapping.codes["ICD10CM:C77.0"]
    assert row.negated and row.target == str(NPC.DistantMetastasis)
    assert _statuses(patient)["ci-3-distant-metastasis"] == "unknown"


@pytest.mark.parametrize("code", ["C11.0", "C11.1", "C11.2", "C11.3", "C11.8", "C11.9"])
def test_s13_npc_in_scope(builder: Any, site_mapping: Any, code: str) -> None:
    patient = _read(builder, site_mapping, builder._npc(code=(builder.ICD, code, "nasopharynx")))
    assert patient.in_scope and patient.graph is not None


def test_s14_out_of_scope(builder: Any, site_mapping: Any) -> None:
    broader = _read(builder, site_mapping, builder._npc(code=(builder.SCT, "126680004", "Neoplasm of nasopharynx")))
    assert not broader.in_scope and broader.graph is None and broader.ntriples() == []
    assert "broader" in (broader.out_of_scope or "")
    refuted = _read(builder, site_mapping, builder._npc(clinical=None, verification="refuted"))
    assert "ruled out" in (refuted.out_of_scope or "")
    none = _read(builder, site_mapping, builder._drop("npc"))
    assert "no Condition coded" in (none.out_of_scope or "")
    remission = _read(builder, site_mapping, builder._npc(clinical="remission"))
    assert remission.in_scope, "a remitted NPC is still the patient's NPC"


@pytest.mark.parametrize(("rt", "rn", "body", "expected"), [
    ("rT2", "rN0", False, NPC.LocalRecurrence),
    (None, "rN2", False, NPC.RegionalRecurrence),
    ("rT1", "rN3", False, NPC.LocoregionalRecurrence),
    (None, None, True, NPC.LocalRecurrence),
    (None, "rN0", True, NPC.LocalRecurrence),
    (None, None, False, NPC.ResidualOrRecurrentDisease),
])
def test_s15_recurrence_and_site(builder: Any, site_mapping: Any, rt: str | None, rn: str | None, body: bool,
                                 expected: Any) -> None:
    edits = [builder._drop("rt", "rn"), builder._npc(body_site=body)]
    if rt:
        edits.append(builder._category("rt", "21911-3", "rT", rt, "2024-05-02", "mcode-tnm-primary-tumor-category"))
    if rn:
        edits.append(builder._category("rn", "21912-1", "rN", rn, "2024-05-02", "mcode-tnm-regional-nodes-category"))
    patient = _read(builder, site_mapping, builder._chain(*edits))
    [record] = [r for r in patient.records if r.rule == "recurrence"]
    assert record.classes == (str(expected),) and record.status == "present"
    assert dict(record.properties).get(str(NPC.rTCategory)) == (str(NPC[rt]) if rt else None)
    assert dict(record.properties).get(str(NPC.rNCategory)) == (str(NPC[rn]) if rn else None)
    active = _read(builder, site_mapping, builder._npc(clinical="active"))
    assert not [r for r in active.records if r.rule == "recurrence"]


def test_s16_radiotherapy_courses(builder: Any, site_mapping: Any) -> None:
    two = _read(builder, site_mapping, builder._chain(builder.SECOND_COURSE))
    assert two.properties[str(NPC.radiotherapyCourses)][0] == 2
    none = _read(builder, site_mapping, builder._drop("course"))
    assert str(NPC.radiotherapyCourses) not in none.properties

    def planned(pid: str, res: dict[str, Any]) -> None:
        res["course"]["status"] = "preparation"

    assert _read(builder, site_mapping, planned).properties[str(NPC.radiotherapyCourses)][0] == 0


def test_s17_ecog_is_context(builder: Any, site_mapping: Any) -> None:
    def ecog(value: int, date: str) -> Any:
        return builder._set(f"ecog-{date}", lambda pid: builder.observation(
            pid, f"{pid}-ecog-{date}", builder.concept(builder.LOINC, "89247-1"), {"valueInteger": value}, date=date))

    patient = _read(builder, site_mapping, builder._chain(ecog(4, "2024-09-01"), ecog(2, "2023-01-01")))
    assert patient.properties[str(NPC.ecogPerformanceStatus)][0] == 4  # the latest
    assert not any(str(NPC.PoorGeneralCondition) in r.classes and r.status == "present" for r in patient.records)
    assert _statuses(patient)["ci-4-age-frailty-condition-organ"] == "satisfied"


def test_s18_unknown_systems_counted(builder: Any, site_mapping: Any) -> None:
    def local_code(pid: str, res: dict[str, Any]) -> None:
        res["x"] = builder.condition(pid, f"{pid}-x", builder.concept("http://hospital.example/codes", "liver-failure"))

    patient = _read(builder, site_mapping, local_code)
    assert patient.stats.unknown_systems == {"http://hospital.example/codes": 1}
    assert not any(r.sources[0].id == "sem-x" for r in patient.records)


def test_s19_rdf_input_unchanged(repo: Path) -> None:
    [assessment] = npc_kg.assess(repo / "examples" / "patients" / "eligible.ttl")
    assert assessment.verdict == "eligible"
