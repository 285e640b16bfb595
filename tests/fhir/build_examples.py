"""Build the synthetic NPC patient bundles of tests/data/fhir/{valid,invalid} and their expected results.

No patient is real: the bundles are made from the mCODE STU4 structures of the real examples
(tests/data/fhir/mcode/): PrimaryCancerCondition, SecondaryCancerCondition, TNM category
observations, ECOG, Comorbidities, RadiotherapyCourseSummary. Codes are those of
mappings/fhir-codes.sssom.tsv and mappings/fhir-mcode.yaml; the findings with no public code use
the test code system of tests/data/fhir/site-mapping.yaml.

The expected verdicts and statuses are written here by hand, one case at a time, from the
semantics table of docs/fhir.md; they are not computed by npc-kg. Run

    python tests/fhir/build_examples.py

to rewrite the files; tests/fhir/test_examples.py checks that the committed files equal this
script's output and that npc-kg gives the expected results.
"""

from __future__ import annotations

import copy
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

DATA = Path(__file__).resolve().parent.parent / "data" / "fhir"

MCODE = "http://hl7.org/fhir/us/mcode/StructureDefinition/"
CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"
OBS_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
SCT = "http://snomed.info/sct"
ICD = "http://hl7.org/fhir/sid/icd-10-cm"
LOINC = "http://loinc.org"
HPO = "http://human-phenotype-ontology.org"
TEST = "urn:npc-kg:test:findings"

CRITERIA = (
    "ind-1-uncontrolled-or-recurrent-disease",
    "ind-2-local-no-skull-base-or-cranial-nerve",
    "ind-3-no-distant-metastasis",
    "ci-1-skull-base-or-cranial-nerve",
    "ci-2-neck-lesion-adherent",
    "ci-3-distant-metastasis",
    "ci-4-age-frailty-condition-organ",
    "ci-5-other-contraindication",
)

Resources = dict[str, dict[str, Any]]


def coding(system: str, code: str, display: str | None = None) -> dict[str, Any]:
    out = {"system": system, "code": code}
    if display:
        out["display"] = display
    return out


def concept(system: str, code: str, display: str | None = None) -> dict[str, Any]:
    return {"coding": [coding(system, code, display)]}


def condition(pid: str, rid: str, code: dict[str, Any], *, clinical: str | None = "active",
              verification: str | None = "confirmed", profile: str | None = None, body_site: dict[str, Any] | None = None,
              onset: str = "2024-04-20") -> dict[str, Any]:
    resource: dict[str, Any] = {"resourceType": "Condition", "id": rid}
    if profile:
        resource["meta"] = {"profile": [MCODE + profile]}
    if clinical:
        resource["clinicalStatus"] = concept(CLINICAL, clinical)
    if verification:
        resource["verificationStatus"] = concept(VERIFICATION, verification)
    resource["category"] = [concept(CATEGORY, "problem-list-item")]
    resource["code"] = code
    if body_site:
        resource["bodySite"] = [body_site]
    resource["subject"] = {"reference": f"Patient/{pid}"}
    resource["onsetDateTime"] = onset
    return resource


def observation(pid: str, rid: str, code: dict[str, Any], value: dict[str, Any], *, status: str = "final",
                profile: str | None = None, category: str = "imaging", date: str = "2024-05-02") -> dict[str, Any]:
    resource: dict[str, Any] = {"resourceType": "Observation", "id": rid}
    if profile:
        resource["meta"] = {"profile": [MCODE + profile]}
    resource["status"] = status
    resource["category"] = [concept(OBS_CATEGORY, category)]
    resource["code"] = code
    resource["subject"] = {"reference": f"Patient/{pid}"}
    resource["effectiveDateTime"] = date
    resource.update(value)
    return resource


def base(pid: str) -> Resources:
    """An eligible NPC patient: local recurrence rT2 rN0 after one course, every finding recorded absent."""
    hp_absent = {
        "url": MCODE + "mcode-related-condition-absent",
        "valueCodeableConcept": concept(HPO, "HP:0001399", "Hepatic failure"),
    }
    renal_absent = {
        "url": MCODE + "mcode-related-condition-absent",
        "valueCodeableConcept": concept(HPO, "HP:0000083", "Renal insufficiency"),
    }
    return {
        "patient": {"resourceType": "Patient", "id": pid, "meta": {"profile": [MCODE + "mcode-cancer-patient"]},
                    "gender": "unknown"},
        "npc": condition(pid, f"{pid}-npc", concept(ICD, "C11.9", "Malignant neoplasm of nasopharynx, unspecified"),
                         clinical="recurrence", profile="mcode-primary-cancer-condition", onset="2021-03-01"),
        "rt": observation(pid, f"{pid}-rt", concept(LOINC, "21911-3", "Primary tumor.other [Class] Cancer"),
                          {"valueCodeableConcept": {"text": "rT2"}}, profile="mcode-tnm-primary-tumor-category"),
        "rn": observation(pid, f"{pid}-rn", concept(LOINC, "21912-1", "Regional lymph nodes.other [Class] Cancer"),
                          {"valueCodeableConcept": {"text": "rN0"}}, profile="mcode-tnm-regional-nodes-category"),
        "m": observation(pid, f"{pid}-m", concept(SCT, "399387003", "cM category"),
                         {"valueCodeableConcept": concept(SCT, "1229901006",
                                                          "American Joint Committee on Cancer cM0 (qualifier value)")},
                         profile="mcode-tnm-distant-metastases-category"),
        "ecog": observation(pid, f"{pid}-ecog", concept(LOINC, "89247-1", "ECOG Performance Status score"),
                            {"valueInteger": 1}, profile="mcode-ecog-performance-status", category="survey"),
        "course": {
            "resourceType": "Procedure", "id": f"{pid}-course-1",
            "meta": {"profile": [MCODE + "mcode-radiotherapy-course-summary"]},
            "status": "completed",
            "code": concept(SCT, "1217123003", "Radiotherapy course of treatment (regime/therapy)"),
            "subject": {"reference": f"Patient/{pid}"},
            "performedPeriod": {"start": "2021-04-01", "end": "2021-05-20"},
        },
        "comorbidities": {
            "resourceType": "Observation", "id": f"{pid}-comorbidities",
            "meta": {"profile": [MCODE + "mcode-comorbidities"]},
            "extension": [hp_absent, renal_absent],
            "status": "final",
            "category": [concept(OBS_CATEGORY, "social-history")],
            "code": concept(SCT, "398192003"),
            "subject": {"reference": f"Patient/{pid}"},
            "effectiveDateTime": "2024-05-02",
        },
        "skull-base": condition(pid, f"{pid}-skull-base", concept(TEST, "skull-base-bone-destruction"), clinical=None,
                                verification="refuted"),
        "cranial-nerve": condition(pid, f"{pid}-cranial-nerve", concept(HPO, "HP:0006824", "Cranial nerve paralysis"),
                                   clinical=None, verification="refuted"),
        "neck": condition(pid, f"{pid}-neck", concept(TEST, "neck-lesion-adherent"), clinical=None, verification="refuted"),
        "frailty": condition(pid, f"{pid}-frailty", concept(HPO, "HP:0033675", "Frailty"), clinical=None,
                             verification="refuted"),
        "other": condition(pid, f"{pid}-other", concept(TEST, "other-contraindication"), clinical=None,
                           verification="refuted"),
        "age": observation(pid, f"{pid}-age", concept(TEST, "advanced-age"), {"valueBoolean": False}, category="exam"),
        "condition": observation(pid, f"{pid}-condition", concept(TEST, "poor-general-condition"), {"valueBoolean": False},
                                 category="exam"),
    }


def bundle(resources: Resources, kind: str = "collection") -> dict[str, Any]:
    entries = []
    for resource in resources.values():
        entry: dict[str, Any] = {"fullUrl": f"http://example.org/fhir/{resource['resourceType']}/{resource['id']}",
                                 "resource": resource}
        if kind == "searchset":
            entry["search"] = {"mode": "match"}
        entries.append(entry)
    return {"resourceType": "Bundle", "type": kind, "entry": entries}


def statuses(**changed: str) -> dict[str, str]:
    out = {c: "satisfied" for c in CRITERIA}
    for key, value in changed.items():
        name = next(c for c in CRITERIA if c.startswith(key.replace("_", "-") + "-"))
        out[name] = value
    return out


# ---------------------------------------------------------------------------------------------
# Valid cases: (file stem, what it shows, edit of the base resources, expected)
# ---------------------------------------------------------------------------------------------


def _set(key: str, resource: Callable[[str], dict[str, Any]]) -> Callable[[str, Resources], None]:
    def edit(pid: str, res: Resources) -> None:
        res[key] = resource(pid)

    return edit


def _drop(*keys: str) -> Callable[[str, Resources], None]:
    def edit(pid: str, res: Resources) -> None:
        for key in keys:
            res.pop(key)

    return edit


def _chain(*edits: Callable[[str, Resources], None]) -> Callable[[str, Resources], None]:
    def edit(pid: str, res: Resources) -> None:
        for one in edits:
            one(pid, res)

    return edit


def _present(key: str, system: str, code: str, display: str | None = None, **kwargs: Any) -> Callable[[str, Resources], None]:
    return _set(key, lambda pid: condition(pid, f"{pid}-{key}", concept(system, code, display), **kwargs))


def _judgement(key: str, code: str, value: bool) -> Callable[[str, Resources], None]:
    return _set(key, lambda pid: observation(pid, f"{pid}-{key}", concept(TEST, code), {"valueBoolean": value},
                                             category="exam"))


def _secondary(key: str, system: str, code: str, display: str, **kwargs: Any) -> Callable[[str, Resources], None]:
    return _set(key, lambda pid: condition(pid, f"{pid}-{key}", concept(system, code, display),
                                           profile="mcode-secondary-cancer-condition", **kwargs))


def _category(key: str, loinc: str, display: str, value: str, date: str, profile: str) -> Callable[[str, Resources], None]:
    return _set(key, lambda pid: observation(pid, f"{pid}-{key}", concept(LOINC, loinc, display),
                                             {"valueCodeableConcept": {"text": value}}, date=date, profile=profile))


def _npc(clinical: str | None = "recurrence", verification: str | None = "confirmed", code: tuple[str, str, str] | None = None,
         body_site: bool = False) -> Callable[[str, Resources], None]:
    system, value, display = code or (ICD, "C11.9", "Malignant neoplasm of nasopharynx, unspecified")
    site = concept(SCT, "71836000", "Nasopharyngeal structure (body structure)") if body_site else None
    return _set("npc", lambda pid: condition(pid, f"{pid}-npc", concept(system, value, display), clinical=clinical,
                                             verification=verification, profile="mcode-primary-cancer-condition",
                                             body_site=site, onset="2021-03-01"))


M_LATER_UNMAPPED = _set("m-later", lambda pid: observation(
    pid, f"{pid}-m-later", concept(SCT, "399387003", "cM category"), {"valueCodeableConcept": {"text": "cM1"}},
    date="2024-06-10", profile="mcode-tnm-distant-metastases-category"))
HISTORY_FALSE = _set("history", lambda pid: observation(
    pid, f"{pid}-history", concept(SCT, "1287652008", "History of metastatic malignant neoplasm (situation)"),
    {"valueBoolean": False}, category="social-history", profile="mcode-history-of-metastatic-cancer"))
DISEASE_STATUS_DM = _set("status", lambda pid: observation(
    pid, f"{pid}-status", concept(LOINC, "97509-4", "Cancer Disease Progression"),
    {"valueCodeableConcept": concept(SCT, "399409002", "Distant metastasis present (finding)")},
    profile="mcode-cancer-disease-status", category="survey"))
SECOND_COURSE = _set("course-2", lambda pid: {
    "resourceType": "Procedure", "id": f"{pid}-course-2",
    "meta": {"profile": [MCODE + "mcode-radiotherapy-course-summary"]}, "status": "completed",
    "code": concept(SCT, "1217123003", "Radiotherapy course of treatment (regime/therapy)"),
    "subject": {"reference": f"Patient/{pid}"}, "performedPeriod": {"start": "2023-01-10", "end": "2023-02-20"}})

SITE = "site-mapping.yaml"
NO_SITE_MISSING = ["npc:SkullBaseBoneDestruction", "npc:NeckLesionAdherentToDeepTissueOrSkin", "npc:AdvancedAge",
                   "npc:PoorGeneralCondition", "npc:OtherContraindicationToSurgery"]

VALID: list[tuple[str, str, Callable[[str, Resources], None] | None, dict[str, Any]]] = [
    ("eligible", "every finding recorded absent (cM0 for distant metastasis, refuted Conditions, mCODE absent comorbidities, "
     "the clinician's judgement), a local recurrence rT2 rN0 after one course", None,
     {"mapping": SITE, "verdict": "eligible", "criteria": statuses(), "missing": [],
      "properties": {"npc:radiotherapyCourses": 1, "npc:ecogPerformanceStatus": 1},
      "records": [{"class": "npc:LocalRecurrence", "status": "present", "rT": "npc:rT2", "rN": "npc:rN0",
                   "sources": ["Condition/{pid}-npc", "Observation/{pid}-rt", "Observation/{pid}-rn"]},
                  {"class": "npc:DistantMetastasis", "status": "absent", "sources": ["Observation/{pid}-m"]},
                  {"class": "npc:HepaticInsufficiency", "status": "absent", "sources": ["Observation/{pid}-comorbidities"]},
                  {"class": "npc:CranialNervePalsy", "status": "absent", "sources": ["Condition/{pid}-cranial-nerve"]}]}),
    ("indeterminate-no-site-mapping", "the eligible bundle read without the site's mapping: the five findings with no "
     "public code are not recorded", None,
     {"mapping": None, "verdict": "indeterminate",
      "criteria": statuses(ind_2="unknown", ci_1="unknown", ci_2="unknown", ci_4="unknown", ci_5="unknown"),
      "missing": NO_SITE_MISSING}),
    ("ineligible-ci-1-skull-base", "skull-base bone destruction present (site code), with a local recurrence",
     _present("skull-base", TEST, "skull-base-bone-destruction"),
     {"mapping": SITE, "verdict": "ineligible", "criteria": statuses(ind_2="violated", ci_1="violated"), "missing": []}),
    ("ineligible-ci-1-cranial-nerve", "cranial nerve palsy present (HP:0006824, an exact match)",
     _present("cranial-nerve", HPO, "HP:0006824", "Cranial nerve paralysis"),
     {"mapping": SITE, "verdict": "ineligible", "criteria": statuses(ind_2="violated", ci_1="violated"), "missing": []}),
    ("ineligible-ci-2-neck-adherent", "adherent neck lesion present (site code)",
     _present("neck", TEST, "neck-lesion-adherent"),
     {"mapping": SITE, "verdict": "ineligible", "criteria": statuses(ci_2="violated"), "missing": []}),
    ("ineligible-ci-3-bone-metastasis", "bone metastasis (ICD-10-CM C79.51, narrower) present: counts as distant metastasis",
     _secondary("bone", ICD, "C79.51", "Secondary malignant neoplasm of bone"),
     {"mapping": SITE, "verdict": "ineligible", "criteria": statuses(ind_3="violated", ci_3="violated"), "missing": [],
      "records": [{"class": "ICD10CM:C79.51", "status": "present", "sources": ["Condition/{pid}-bone"]}]}),
    ("ineligible-ci-3-brain-metastasis", "brain metastasis (SNOMED CT 94225005, narrower) present",
     _secondary("brain", SCT, "94225005", "Secondary malignant neoplasm of brain"),
     {"mapping": SITE, "verdict": "ineligible", "criteria": statuses(ind_3="violated", ci_3="violated"), "missing": []}),
    ("ineligible-ci-3-disease-status", "mCODE CancerDiseaseStatus with value 399409002 Distant metastasis present",
     DISEASE_STATUS_DM,
     {"mapping": SITE, "verdict": "ineligible", "criteria": statuses(ind_3="violated", ci_3="violated"), "missing": []}),
    ("ineligible-ci-4-frailty", "frailty present (HP:0033675)", _present("frailty", HPO, "HP:0033675", "Frailty"),
     {"mapping": SITE, "verdict": "ineligible", "criteria": statuses(ci_4="violated"), "missing": []}),
    ("ineligible-ci-4-hepatic", "chronic hepatic failure (ICD-10-CM K72.10, narrower) present",
     _present("hepatic", ICD, "K72.10", "Chronic hepatic failure without coma"),
     {"mapping": SITE, "verdict": "ineligible", "criteria": statuses(ci_4="violated"), "missing": []}),
    ("ineligible-ci-4-renal", "end stage renal disease (ICD-10-CM N18.6, narrower) present",
     _present("renal", ICD, "N18.6", "End stage renal disease"),
     {"mapping": SITE, "verdict": "ineligible", "criteria": statuses(ci_4="violated"), "missing": []}),
    ("ineligible-ci-4-advanced-age", "advanced age in the clinician's judgement (site code, valueBoolean true)",
     _judgement("age", "advanced-age", True),
     {"mapping": SITE, "verdict": "ineligible", "criteria": statuses(ci_4="violated"), "missing": []}),
    ("ineligible-ci-4-poor-condition", "poor general condition (site code, valueBoolean true)",
     _judgement("condition", "poor-general-condition", True),
     {"mapping": SITE, "verdict": "ineligible", "criteria": statuses(ci_4="violated"), "missing": []}),
    ("ineligible-ci-5-other", "another contraindication to surgery (site code) present",
     _present("other", TEST, "other-contraindication"),
     {"mapping": SITE, "verdict": "ineligible", "criteria": statuses(ci_5="violated"), "missing": []}),
    ("absent-refuted-bone-only", "bone metastasis refuted and no M category: 'no bone metastasis' is not 'no distant "
     "metastasis', so distant metastasis is not recorded",
     _chain(_drop("m"), _secondary("bone", ICD, "C79.51", "Secondary malignant neoplasm of bone", clinical=None,
                                   verification="refuted")),
     {"mapping": SITE, "verdict": "indeterminate", "criteria": statuses(ind_3="unknown", ci_3="unknown"),
      "missing": ["npc:DistantMetastasis"]}),
    ("absent-refuted-bone-and-cm0", "bone metastasis refuted and cM0: distant metastasis absent",
     _secondary("bone", ICD, "C79.51", "Secondary malignant neoplasm of bone", clinical=None, verification="refuted"),
     {"mapping": SITE, "verdict": "eligible", "criteria": statuses(), "missing": []}),
    ("absent-history-of-metastatic-cancer", "no M category; HistoryOfMetastaticCancer valueBoolean false: distant "
     "metastasis absent", _chain(_drop("m"), HISTORY_FALSE),
     {"mapping": SITE, "verdict": "eligible", "criteria": statuses(), "missing": []}),
    ("absent-refuted-secondary-malignancy", "no M category; 128462008 Secondary malignant neoplastic disease refuted "
     "(a broader code): distant metastasis absent",
     _chain(_drop("m"), _secondary("secondary", SCT, "128462008", "Secondary malignant neoplastic disease (disorder)",
                                   clinical=None, verification="refuted")),
     {"mapping": SITE, "verdict": "eligible", "criteria": statuses(), "missing": []}),
    ("present-broader-secondary-malignancy", "128462008 Secondary malignant neoplastic disease present (broader: may "
     "be regional) and no M category: distant metastasis not recorded",
     _chain(_drop("m"), _secondary("secondary", SCT, "128462008", "Secondary malignant neoplastic disease (disorder)")),
     {"mapping": SITE, "verdict": "indeterminate", "criteria": statuses(ind_3="unknown", ci_3="unknown"),
      "missing": ["npc:DistantMetastasis"]}),
    ("regional-c77-not-distant", "C77.0 neck lymph-node metastasis present with cM0: regional disease, never distant "
     "metastasis", _secondary("nodes", ICD, "C77.0", "Secondary and unspecified malignant neoplasm of lymph nodes of "
                                                    "head, face and neck"),
     {"mapping": SITE, "verdict": "eligible", "criteria": statuses(), "missing": []}),
    ("resolved-frailty", "frailty with clinicalStatus resolved: not recorded (not absent)",
     _present("frailty", HPO, "HP:0033675", "Frailty", clinical="resolved"),
     {"mapping": SITE, "verdict": "indeterminate", "criteria": statuses(ci_4="unknown"), "missing": ["npc:Frailty"]}),
    ("remission-hepatic", "hepatic failure with clinicalStatus remission and no absent comorbidity: not recorded",
     _chain(_drop("comorbidities"), _present("hepatic", HPO, "HP:0001399", "Hepatic failure", clinical="remission"),
            _present("renal", HPO, "HP:0000083", "Renal insufficiency", clinical=None, verification="refuted")),
     {"mapping": SITE, "verdict": "indeterminate", "criteria": statuses(ci_4="unknown"),
      "missing": ["npc:HepaticInsufficiency"]}),
    ("inactive-other", "another contraindication with clinicalStatus inactive: not recorded",
     _present("other", TEST, "other-contraindication", clinical="inactive", verification=None),
     {"mapping": SITE, "verdict": "indeterminate", "criteria": statuses(ci_5="unknown"),
      "missing": ["npc:OtherContraindicationToSurgery"]}),
    ("entered-in-error-metastasis", "a bone metastasis entered in error does not count at all",
     _secondary("bone", ICD, "C79.51", "Secondary malignant neoplasm of bone", verification="entered-in-error"),
     {"mapping": SITE, "verdict": "eligible", "criteria": statuses(), "missing": []}),
    ("provisional-metastasis", "a provisional bone metastasis and no M category: not recorded",
     _chain(_drop("m"), _secondary("bone", ICD, "C79.51", "Secondary malignant neoplasm of bone",
                                   verification="provisional")),
     {"mapping": SITE, "verdict": "indeterminate", "criteria": statuses(ind_3="unknown", ci_3="unknown"),
      "missing": ["npc:DistantMetastasis"]}),
    ("latest-m-category-decides", "cM0, then a later M category that is not cM0: the latest decides, distant "
     "metastasis not recorded", M_LATER_UNMAPPED,
     {"mapping": SITE, "verdict": "indeterminate", "criteria": statuses(ind_3="unknown", ci_3="unknown"),
      "missing": ["npc:DistantMetastasis"]}),
    ("preliminary-cm0", "a preliminary cM0 observation does not count",
     _set("m", lambda pid: observation(pid, f"{pid}-m", concept(SCT, "399387003", "cM category"),
                                       {"valueCodeableConcept": concept(SCT, "1229901006")}, status="preliminary")),
     {"mapping": SITE, "verdict": "indeterminate", "criteria": statuses(ind_3="unknown", ci_3="unknown"),
      "missing": ["npc:DistantMetastasis"]}),
    ("regional-recurrence", "rN2 and no rT: a regional recurrence, indication 2 does not apply",
     _chain(_drop("rt"), _category("rn", "21912-1", "Regional lymph nodes.other [Class] Cancer", "rN2", "2024-05-02",
                                   "mcode-tnm-regional-nodes-category")),
     {"mapping": SITE, "verdict": "eligible", "criteria": statuses(), "missing": [],
      "records": [{"class": "npc:RegionalRecurrence", "status": "present", "rN": "npc:rN2"}]}),
    ("locoregional-recurrence", "rT3 and rN1: a locoregional recurrence",
     _chain(_category("rt", "21911-3", "Primary tumor.other [Class] Cancer", "rT3", "2024-05-02",
                      "mcode-tnm-primary-tumor-category"),
            _category("rn", "21912-1", "Regional lymph nodes.other [Class] Cancer", "rN1", "2024-05-02",
                      "mcode-tnm-regional-nodes-category")),
     {"mapping": SITE, "verdict": "eligible", "criteria": statuses(), "missing": [],
      "records": [{"class": "npc:LocoregionalRecurrence", "status": "present", "rT": "npc:rT3", "rN": "npc:rN1"}]}),
    ("latest-rt-decides", "rT2, then a later rT4: the latest restaging category is kept",
     _category("rt-later", "21911-3", "Primary tumor.other [Class] Cancer", "rT4", "2024-07-01",
               "mcode-tnm-primary-tumor-category"),
     {"mapping": SITE, "verdict": "eligible", "criteria": statuses(), "missing": [],
      "records": [{"class": "npc:LocalRecurrence", "status": "present", "rT": "npc:rT4", "rN": "npc:rN0"}]}),
    ("body-site-local", "no restaging observation; the recurrent Condition's body site is the nasopharynx: local",
     _chain(_drop("rt", "rn"), _npc(body_site=True)),
     {"mapping": SITE, "verdict": "eligible", "criteria": statuses(), "missing": [],
      "records": [{"class": "npc:LocalRecurrence", "status": "present"}]}),
    ("unknown-site-recurrence", "a recurrence with no restaging observation and no body site: residual or recurrent "
     "disease, site unknown (indication 2 not applicable)", _drop("rt", "rn"),
     {"mapping": SITE, "verdict": "eligible", "criteria": statuses(), "missing": [],
      "records": [{"class": "npc:ResidualOrRecurrentDisease", "status": "present"}]}),
    ("relapse-status", "clinicalStatus relapse counts as a recurrence", _npc(clinical="relapse"),
     {"mapping": SITE, "verdict": "eligible", "criteria": statuses(), "missing": []}),
    ("no-recurrence-recorded", "the NPC Condition is active, not a recurrence: residual or recurrent disease not recorded",
     _npc(clinical="active"),
     {"mapping": SITE, "verdict": "indeterminate", "criteria": statuses(ind_1="unknown"),
      "missing": ["npc:ResidualOrRecurrentDisease"]}),
    ("second-course", "two completed radiotherapy courses, one entered in error and not counted",
     _chain(SECOND_COURSE, _set("course-3", lambda pid: {**STOPPED_COURSE_RESOURCE(pid)})),
     {"mapping": SITE, "verdict": "eligible", "criteria": statuses(), "missing": [],
      "properties": {"npc:radiotherapyCourses": 2}}),
    ("out-of-scope-broader-code", "only SNOMED CT 126680004 Neoplasm of nasopharynx (broader than NPC)",
     _npc(code=(SCT, "126680004", "Neoplasm of nasopharynx (disorder)")),
     {"mapping": SITE, "verdict": "out-of-scope", "reason": "broader"}),
    ("out-of-scope-refuted-npc", "the NPC Condition is refuted", _npc(clinical=None, verification="refuted"),
     {"mapping": SITE, "verdict": "out-of-scope", "reason": "ruled out"}),
    ("out-of-scope-npc-entered-in-error", "the only NPC Condition was entered in error",
     _npc(clinical=None, verification="entered-in-error"),
     {"mapping": SITE, "verdict": "out-of-scope", "reason": "no Condition coded"}),
    ("out-of-scope-no-cancer", "a patient with findings but no cancer Condition", _drop("npc"),
     {"mapping": SITE, "verdict": "out-of-scope", "reason": "no Condition coded"}),
]


def STOPPED_COURSE_RESOURCE(pid: str) -> dict[str, Any]:
    return {"resourceType": "Procedure", "id": f"{pid}-course-3",
            "meta": {"profile": [MCODE + "mcode-radiotherapy-course-summary"]}, "status": "entered-in-error",
            "code": concept(SCT, "1217123003", "Radiotherapy course of treatment (regime/therapy)"),
            "subject": {"reference": f"Patient/{pid}"}, "performedPeriod": {"start": "2023-06-01", "end": "2023-06-02"}}


def _transaction(resources: Resources) -> dict[str, Any]:
    """The eligible patient as a transaction bundle: urn:uuid fullUrls, references by fullUrl, no ids."""
    urls = {key: f"urn:uuid:00000000-0000-4000-8000-{index:012d}" for index, key in enumerate(resources)}
    patient_url = urls["patient"]
    entries = []
    for key, resource in resources.items():
        resource = copy.deepcopy(resource)
        resource.pop("id", None)
        if "subject" in resource:
            resource["subject"] = {"reference": patient_url}
        entries.append({"fullUrl": urls[key], "resource": resource,
                        "request": {"method": "POST", "url": resource["resourceType"]}})
    return {"resourceType": "Bundle", "type": "transaction", "entry": entries}


def _document(resources: Resources, pid: str) -> dict[str, Any]:
    composition = {"resourceType": "Composition", "id": f"{pid}-composition", "status": "final",
                   "type": concept(LOINC, "11506-3"), "subject": {"reference": f"Patient/{pid}"},
                   "date": "2024-05-03", "author": [{"display": "npc-kg test suite"}], "title": "synthetic record"}
    doc = bundle({"composition": composition, **resources}, "document")
    doc["identifier"] = {"system": "urn:ietf:rfc:3986", "value": "urn:uuid:00000000-0000-4000-8000-00000000d0c0"}
    doc["timestamp"] = "2024-05-03T10:00:00Z"
    return doc


BUNDLE_KINDS = [
    ("bundle-transaction", "the eligible patient as a transaction bundle (urn:uuid references, no ids)", "transaction"),
    ("bundle-searchset", "the eligible patient as a searchset bundle", "searchset"),
    ("bundle-document", "the eligible patient as a document bundle (Composition first)", "document"),
]


def valid_files() -> dict[str, tuple[Any, dict[str, Any]]]:
    """file name -> (JSON document, expected entry)."""
    out: dict[str, tuple[Any, dict[str, Any]]] = {}
    for stem, shows, edit, expected in VALID:
        pid = f"npc-{stem}"
        resources = base(pid)
        if edit is not None:
            edit(pid, resources)
        entry = json.loads(json.dumps(expected).replace("{pid}", pid))
        out[f"{stem}.json"] = (bundle(resources), {"shows": shows, "patient": pid, **entry})
    eligible = dict(VALID[0][3])
    for stem, shows, kind in BUNDLE_KINDS:
        pid = f"npc-{stem}"
        resources = base(pid)
        doc = _transaction(resources) if kind == "transaction" else _document(resources, pid) if kind == "document" \
            else bundle(resources, kind)
        source_id = "00000000-0000-4000-8000-000000000000" if kind == "transaction" else pid
        out[f"{stem}.json"] = (doc, {"shows": shows, "patient": source_id, "mapping": SITE,
                                     "verdict": eligible["verdict"], "criteria": eligible["criteria"], "missing": []})
    single = condition("npc-single", "npc-single-npc", concept(ICD, "C11.9", "Malignant neoplasm of nasopharynx, unspecified"),
                       clinical="recurrence", profile="mcode-primary-cancer-condition")
    out["single-resource-condition.json"] = (single, {
        "shows": "a single resource in a file: the recurrent NPC Condition alone; every finding not recorded",
        "patient": "npc-single", "mapping": SITE, "verdict": "indeterminate",
        "criteria": statuses(ind_3="unknown", ci_1="unknown", ci_2="unknown", ci_3="unknown", ci_4="unknown",
                             ci_5="unknown"),
        "missing": ["npc:DistantMetastasis", "npc:CranialNervePalsy", "npc:SkullBaseBoneDestruction",
                    "npc:NeckLesionAdherentToDeepTissueOrSkin", "npc:AdvancedAge", "npc:Frailty", "npc:HepaticInsufficiency",
                    "npc:PoorGeneralCondition", "npc:RenalInsufficiency", "npc:OtherContraindicationToSurgery"]})
    return out


# ---------------------------------------------------------------------------------------------
# Invalid cases: (file name, content, which rule it breaks, expected error class and fragment)
# ---------------------------------------------------------------------------------------------


def invalid_files() -> dict[str, tuple[str, dict[str, Any]]]:
    """file name -> (file text, expected entry)."""
    pid = "npc-invalid"
    good = base(pid)
    out: dict[str, tuple[str, dict[str, Any]]] = {}

    def add(name: str, doc: Any, breaks: str, error: str, fragment: str, pointer: str | None = None) -> None:
        text = doc if isinstance(doc, str) else json.dumps(doc, indent=1) + "\n"
        entry = {"breaks": breaks, "error": error, "fragment": fragment}
        if pointer is not None:
            entry["pointer"] = pointer
        out[name] = (text, entry)

    add("not-json.json", json.dumps(bundle(good))[:500] + "\n", "the file is not JSON (cut short)", "NotJsonError", "not JSON")
    add("not-fhir.json", {"patient": "someone", "findings": []}, "JSON without a resourceType is not FHIR", "NotFhirError",
        "no resourceType", "/")
    add("unknown-resource-type.json", bundle({**good, "x": {"resourceType": "Recurrence", "id": "x"}}),
        "an entry's resourceType is not a FHIR R4 resource type", "UnsupportedResourceError", "not a FHIR R4 resource type",
        f"/entry/{len(good)}/resource")
    add("unsupported-bundle-type.json", {**bundle(good), "type": "batch-response"},
        "a Bundle of type batch-response is not read", "UnsupportedResourceError", "a Bundle of type batch-response", "/type")
    missing = _transaction(good)
    missing["entry"][1]["resource"]["subject"] = {"reference": "urn:uuid:00000000-0000-4000-8000-0000000000ff"}
    add("missing-reference.json", missing, "a subject reference (urn:uuid) names no entry of the bundle",
        "MissingReferenceError", "subject: a reference to a resource that is not in the input", "/entry/1/resource")
    other = bundle(good)
    other["entry"][1]["resource"]["subject"] = {"reference": "Patient/someone-else"}
    add("other-patient-reference.json", other, "a Condition names a Patient the bundle does not hold",
        "MissingReferenceError", "names a Patient that is not in the bundle", "/entry/1/resource")
    duplicate = bundle(good)
    duplicate["entry"].append(copy.deepcopy(duplicate["entry"][1]))
    add("duplicate-ids.json", duplicate, "two Condition resources with the same id", "DuplicateIdError", "same id",
        f"/entry/{len(good)}/resource")
    second = base("npc-invalid-2")
    add("several-patients.json", bundle({**good, **{f"2-{k}": v for k, v in second.items()}}),
        "two Patient resources in one bundle", "SeveralPatientsError", "more than one Patient", f"/entry/{len(good)}/resource")
    nameless = {k: v for k, v in good.items() if k != "patient"}
    nameless["x"] = condition("npc-invalid-3", "npc-invalid-3-x", concept(TEST, "other-contraindication"))
    add("several-patients-by-reference.json", bundle(nameless), "no Patient resource, and resources of two patients",
        "SeveralPatientsError", "more than one patient")
    add("no-patient.json", {"resourceType": "Practitioner", "id": "doc"}, "a resource that names no patient",
        "NotFhirError", "no patient in the input", "/")
    inner = {**bundle({"patient": good["patient"]}), "id": "inner"}
    add("nested-bundle.json", bundle({"inner": inner}), "a Bundle inside a Bundle", "UnsupportedResourceError",
        "a Bundle inside a Bundle", "/entry/0/resource")
    text_code = copy.deepcopy(bundle(base(pid)))
    text_code["entry"][1]["resource"]["code"] = "C11.9"  # the NPC Condition's code as text: no code would match
    add("code-as-text.json", text_code, "a Condition.code that is text, not a CodeableConcept", "MalformedElementError",
        "Condition.code should be a JSON object (FHIR CodeableConcept)", "/entry/1/resource")
    text_status = copy.deepcopy(bundle(base(pid)))
    text_status["entry"][1]["resource"]["verificationStatus"] = "refuted"  # read as no status: present
    add("status-as-text.json", text_status, "a Condition.verificationStatus that is text, not a CodeableConcept",
        "MalformedElementError", "Condition.verificationStatus should be a JSON object (FHIR CodeableConcept)",
        "/entry/1/resource")
    text_system = copy.deepcopy(bundle(base(pid)))
    text_system["entry"][1]["resource"]["code"]["coding"][0]["system"] = 42
    add("coding-system-not-text.json", text_system, "a Coding whose system is a number", "MalformedElementError",
        "Condition.code.coding.system should be text (FHIR uri)", "/entry/1/resource")
    code_list = copy.deepcopy(bundle(base(pid)))
    code_list["entry"][1]["resource"]["code"]["coding"][0]["code"] = ["C11.9"]  # matched no code: out of scope
    add("coding-code-list.json", code_list, "a Coding whose code is a list", "MalformedElementError",
        "Condition.code.coding.code should be one text value (FHIR code)", "/entry/1/resource")
    null_status = copy.deepcopy(bundle(base(pid)))
    null_status["entry"][1]["resource"]["verificationStatus"] = None
    add("status-null.json", null_status, "a Condition.verificationStatus that is null", "MalformedElementError",
        "Condition.verificationStatus is null", "/entry/1/resource")
    bad_date = copy.deepcopy(bundle(base(pid)))
    m_entry = next(n for n, e in enumerate(bad_date["entry"]) if e["resource"]["id"] == f"{pid}-m")
    bad_date["entry"][m_entry]["resource"]["effectiveDateTime"] = "2024-13-45"  # ordered the observations wrongly
    add("effective-not-a-date.json", bad_date, "an Observation.effectiveDateTime that is no date", "MalformedElementError",
        "Observation.effectiveDateTime should be text in the form YYYY", f"/entry/{m_entry}/resource")
    add("entry-not-object.json", {"resourceType": "Bundle", "type": "collection", "entry": ["Patient/1"]},
        "a Bundle entry that is not a JSON object", "NotFhirError", "entry must be a JSON object", "/entry/0")
    return out


def bulk_files() -> dict[str, str]:
    """tests/data/fhir/bulk/: one export, two good patients and one of each broken kind.

    - npc-bulk-eligible, npc-bulk-ineligible: fine (their resources spread over three files, in no order);
    - npc-bulk-bad-line: one of its Observation lines is cut short (not JSON; the line names the patient);
    - npc-bulk-duplicate: two Condition lines with the same id;
    - npc-bulk-no-patient: resources, but no Patient resource in Patient.ndjson;
    - a line that is not JSON and names no patient: an error record of its own;
    - npc-bulk-out-of-scope: a Patient with no cancer Condition.
    """
    def resources(pid: str, edit: Callable[[str, Resources], None] | None = None) -> Resources:
        res = base(pid)
        if edit is not None:
            edit(pid, res)
        return res

    people = {
        "npc-bulk-eligible": resources("npc-bulk-eligible"),
        "npc-bulk-ineligible": resources("npc-bulk-ineligible", _secondary("bone", ICD, "C79.51",
                                                                           "Secondary malignant neoplasm of bone")),
        "npc-bulk-bad-line": resources("npc-bulk-bad-line"),
        "npc-bulk-duplicate": resources("npc-bulk-duplicate"),
        "npc-bulk-no-patient": resources("npc-bulk-no-patient"),
        "npc-bulk-out-of-scope": {"patient": base("npc-bulk-out-of-scope")["patient"]},
    }
    people["npc-bulk-no-patient"].pop("patient")
    files: dict[str, list[str]] = {"Patient.ndjson": [], "Condition.ndjson": [], "Observation.ndjson": [],
                                   "Procedure.ndjson": []}
    for pid, res in people.items():
        for key, resource in res.items():
            line = json.dumps(resource, separators=(",", ":"))
            if pid == "npc-bulk-bad-line" and key == "ecog":
                line = line[: line.index('"effectiveDateTime"')]  # cut short after its subject
            files[f"{resource['resourceType']}.ndjson"].append(line)
    files["Condition.ndjson"].append(json.dumps(people["npc-bulk-duplicate"]["frailty"], separators=(",", ":")))
    files["Observation.ndjson"].insert(3, '{"resourceType": "Observation", "status": ')
    for name in ("Condition.ndjson", "Observation.ndjson"):  # resources of a patient arrive in no order
        files[name] = files[name][::-1]
    return {name: "\n".join(lines) + "\n" for name, lines in files.items()}


BULK_EXPECTED = {
    "npc-bulk-eligible": {"verdict": "eligible"},
    "npc-bulk-ineligible": {"verdict": "ineligible"},
    "npc-bulk-out-of-scope": {"verdict": "out-of-scope"},
    "npc-bulk-bad-line": {"error": "not JSON", "file": "Observation.ndjson"},
    "npc-bulk-duplicate": {"error": "same id", "file": "Condition.ndjson"},
    "npc-bulk-no-patient": {"error": "not in the export's Patient resources"},
    "": {"error": "not JSON", "file": "Observation.ndjson", "line": None},
}


def render() -> dict[Path, str]:
    """Every file this script writes, with its text."""
    files: dict[Path, str] = {}
    expected_valid: dict[str, Any] = {}
    for name, (doc, entry) in valid_files().items():
        files[DATA / "valid" / name] = json.dumps(doc, indent=1) + "\n"
        expected_valid[name] = entry
    expected_invalid: dict[str, Any] = {}
    for name, (text, entry) in invalid_files().items():
        files[DATA / "invalid" / name] = text
        expected_invalid[name] = entry
    header = ("# Expected results, written by hand in tests/fhir/build_examples.py (regenerate with\n"
              "# `python tests/fhir/build_examples.py`). Synthetic patients: no patient is real.\n")
    files[DATA / "valid" / "expected.yaml"] = header + yaml.safe_dump(expected_valid, sort_keys=True, width=110)
    files[DATA / "invalid" / "expected.yaml"] = header + (
        "# Each file breaks one rule (`breaks`); `error` is the npc_kg.fhir exception class, `fragment` part of\n"
        "# its message, `pointer` the JSON pointer it names.\n") + yaml.safe_dump(expected_invalid, sort_keys=True,
                                                                                  width=110)
    for name, text in bulk_files().items():
        files[DATA / "bulk" / name] = text
    files[DATA / "bulk" / "expected.yaml"] = header + "# One record per patient (\"\" = a bad line naming no patient).\n" + \
        yaml.safe_dump(BULK_EXPECTED, sort_keys=True, width=110)
    return files


def main() -> int:
    for path, text in render().items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    print(f"wrote {len(render())} files under {DATA}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
