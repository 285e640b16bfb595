"""The examples in docs/patient-model.md and docs/assessment-json.md are true."""

from __future__ import annotations

import ast
import re

import npc_kg


def blocks(text: str, language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", text, flags=re.DOTALL)


def test_patient_model_turtle_example_is_eligible(helpers) -> None:
    text = (helpers.REPO / "docs" / "patient-model.md").read_text(encoding="utf-8")
    [result] = npc_kg.assess(blocks(text, "turtle")[0])
    assert result.verdict == "eligible"


def test_patient_model_dict_example_is_eligible(helpers) -> None:
    text = (helpers.REPO / "docs" / "patient-model.md").read_text(encoding="utf-8")
    example = ast.literal_eval(blocks(text, "python")[0])
    [result] = npc_kg.assess(example)
    assert result.verdict == "eligible"


def test_assessment_json_doc_lists_every_key(helpers) -> None:
    text = (helpers.REPO / "docs" / "assessment-json.md").read_text(encoding="utf-8")
    [result] = npc_kg.assess(helpers.REPO / "examples" / "patients" / "indeterminate.ttl")
    data = result.to_dict()
    documented = set(re.findall(r"`([a-z_]+)`", text))
    keys = set(data) | set(data["criteria"][0])
    for item in data["prognosis"] + data["evidence"]:
        keys |= set(item)
    assert keys <= documented, keys - documented
