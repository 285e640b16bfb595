"""The memoised FHIRPath selectors answer exactly as fhirpathpy does on the whole resource."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from npc_kg.fhir.fhirpath import Selector, compile_selector
from npc_kg.fhir.resources import r4_resource_types

DATA = Path(__file__).resolve().parent.parent / "data" / "fhir"


def _resources() -> Iterator[dict[str, Any]]:
    for path in [*sorted((DATA / "valid").glob("*.json")), *sorted((DATA / "mcode").glob("*.json"))]:
        doc = json.loads(path.read_text(encoding="utf-8"))
        if doc["resourceType"] == "Bundle":
            yield from (entry["resource"] for entry in doc["entry"])
        else:
            yield doc


def _selectors(mapping: Any) -> list[Selector]:
    found = [step.selector for table in (mapping.scope.states,) for step in table if step.selector]
    for rule in (*mapping.findings, *mapping.properties, *mapping.context):
        found += [step.selector for step in rule.states if step.selector]
        found += [s for s in (getattr(rule, "value", None), getattr(rule, "codes_of", None),
                              getattr(rule, "references_of", None)) if s is not None]
    found += list(mapping.dates.values())
    recurrence = mapping.recurrence
    found += [recurrence.status, recurrence.body_site, *(c.value for c in recurrence.categories)]
    return found


def test_memo_equals_plain_evaluation(site_mapping: Any) -> None:
    resources = list(_resources())
    selectors = _selectors(site_mapping)
    assert len(resources) > 500 and len(selectors) > 15
    checked = 0
    for selector in selectors:
        for resource in resources:
            assert selector(resource) == selector.evaluate(resource), (selector.expression, resource.get("id"))
            checked += 1
    assert checked > 10_000


def test_choice_types_and_unsafe_expressions() -> None:
    resource = {"resourceType": "Observation", "valueInteger": 3, "status": "final"}
    assert compile_selector("value")(resource) == (3,)
    unsafe = compile_selector("children().count()")
    assert unsafe._memoised is False and unsafe(resource) == unsafe.evaluate(resource) == (3,)
    with pytest.raises(ValueError, match="is not valid"):
        compile_selector("where(")


def test_r4_resource_types() -> None:
    types = r4_resource_types()
    assert {"Patient", "Condition", "Observation", "Procedure", "Bundle", "Composition"} <= types
    assert "DomainResource" not in types and "CodeableConcept" not in types
    assert len(types) == 146
