"""The JSON form of the FHIR elements the mapping reads (npc_kg.fhir.elements), from the R4 model."""

from __future__ import annotations

from typing import Any

import pytest

from npc_kg.fhir.elements import element_problem  # the fhir extra: conftest.py fails under CI without it

CODING = {"system": "http://example.org/codes", "code": "x"}


@pytest.mark.parametrize(("kind", "elements", "problem"), [
    ("Condition", {"code": "text"}, "Condition.code should be a JSON object (FHIR CodeableConcept)"),
    ("Condition", {"code": {"coding": [{**CODING, "system": 5}]}}, "Condition.code.coding.system should be text (FHIR uri)"),
    ("Condition", {"verificationStatus": "text"}, "Condition.verificationStatus should be a JSON object"),
    ("Observation", {"valueInteger": "1"}, "Observation.valueInteger should be a whole number (FHIR integer)"),
    ("Observation", {"valueInteger": True}, "Observation.valueInteger should be a whole number"),
    ("Observation", {"valueBoolean": "false"}, "Observation.valueBoolean should be true or false (FHIR boolean)"),
    ("Observation", {"valueQuantity": {"value": "3"}}, "Observation.valueQuantity.value should be a number (FHIR decimal)"),
    ("Observation", {"component": [{"code": "text"}]}, "Observation.component.code should be a JSON object"),
    ("Observation", {"extension": [{"url": "u", "valueCodeableConcept": 1}]},
     "Observation.extension.valueCodeableConcept should be a JSON object"),
    ("Patient", {"birthDate": 19600101}, "Patient.birthDate should be text in the form YYYY, YYYY-MM or YYYY-MM-DD (FHIR date)"),
    ("Observation", {"effectiveDateTime": "2024-13-45"}, "Observation.effectiveDateTime should be text in the form"),
    ("Condition", {"verificationStatus": None}, "Condition.verificationStatus is null"),
])
def test_a_malformed_element_is_named_without_its_value(kind: str, elements: dict[str, Any], problem: str) -> None:
    found = element_problem(kind, elements)
    assert found is not None and found.startswith(problem)
    for value in elements.values():
        assert repr(value) not in found.removeprefix(problem)


@pytest.mark.parametrize(("kind", "elements"), [
    ("Condition", {"code": {"coding": [CODING], "text": "free text"}}),
    ("Condition", {"code": {"text": "free text only"}}),
    ("Condition", {"code": {"coding": CODING}}),  # one Coding where FHIR repeats it: read as one
    ("Observation", {"status": "final", "valueInteger": 1, "valueQuantity": {"value": 2.5}}),
    ("Observation", {"status": ["final"]}),
    ("Observation", {"unknownElement": 1, "_status": {"extension": []}, "resourceType": "Observation"}),
    ("Observation", {"extension": [{"url": "u", "valueString": "text", "madeUp": 5, "": 1}]}),
    ("Patient", {"contained": [{"resourceType": "Observation", "status": 5}]}),  # contained resources are not read
])
def test_a_readable_or_unknown_element_is_not_judged(kind: str, elements: dict[str, Any]) -> None:
    assert element_problem(kind, elements) is None


def test_hostile_nesting_is_bounded() -> None:
    deep: dict[str, Any] = {"text": "x"}
    for _ in range(5000):
        deep = {"extension": [{"url": "u", "extension": [deep]}]}
    assert element_problem("Observation", {"extension": [deep]}) is None


def test_only_the_elements_a_selector_reads_are_judged_below_the_top() -> None:
    """A flaw in an element nothing reads (a display that is a number) does not refuse the resource."""
    status = {"verificationStatus": {"coding": [{**CODING, "display": 7}]}}
    assert element_problem("Condition", status, frozenset({"verificationStatus", "coding", "where", "system", "code"})) is None
    assert element_problem("Condition", status) == "Condition.verificationStatus.coding.display should be text (FHIR string)"
    bad = {"verificationStatus": {"coding": [{**CODING, "code": 7}]}}
    assert element_problem("Condition", bad, frozenset({"verificationStatus", "coding", "code"})) is not None
    value = {"extension": [{"url": "u", "valueCodeableConcept": "text"}]}
    assert element_problem("Observation", value, frozenset({"extension", "url", "value"})) is not None  # value[x]


def test_a_key_that_is_not_text_is_not_judged() -> None:
    assert element_problem("Condition", {"code": {1: "x", "coding": [{2: "y"}]}, 3: "z"}) is None  # type: ignore[dict-item]
