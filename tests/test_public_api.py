"""The public API: every name in ``npc_kg.__all__`` resolves, and functions stay functions."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import npc_kg


def test_every_public_name_resolves() -> None:
    for name in npc_kg.__all__:
        assert getattr(npc_kg, name) is not None, name


_IMPORT_ALL_FIRST = """
import importlib, pkgutil, types
import npc_kg
for module in pkgutil.walk_packages(npc_kg.__path__, "npc_kg."):
    importlib.import_module(module.name)
print([name for name in npc_kg.__all__ if isinstance(getattr(npc_kg, name), types.ModuleType)])
"""


def test_api_functions_are_not_shadowed_by_submodules() -> None:
    """In a fresh interpreter, importing every submodule first must not turn an API name into a module."""
    result = subprocess.run([sys.executable, "-c", _IMPORT_ALL_FIRST], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize(("call", "message"), [
    (lambda tmp: npc_kg.export(["ttl"], tmp / "x.ttl"), "the export format is text"),
    (lambda tmp: npc_kg.export("ttl", None), "the export target is a file name or a path"),
    (lambda tmp: npc_kg.export("ttl", tmp / "x.ttl", graph="x.ttl"), "graph= is an rdflib Graph"),
    (lambda tmp: npc_kg.info(5), r"info\(\) takes an rdflib Graph"),
    (lambda tmp: npc_kg.synth("5", 1, tmp / "c.nt"), "the number of patients is a whole number"),
    (lambda tmp: npc_kg.synth(5, None, tmp / "c.nt"), "--seed / seed: a whole number"),
    (lambda tmp: npc_kg.synth(5, 1, tmp / "c.nt", error_rate="0.1"), "a number between 0 and 1"),
    (lambda tmp: npc_kg.synth(5, 1, None), "synth writes to a file name or a path"),
])
def test_arguments_of_the_wrong_type_are_npc_kg_errors(call: Any, message: str, tmp_path: Path) -> None:
    from npc_kg.errors import NpcKgError

    with pytest.raises(NpcKgError, match=message):
        call(tmp_path)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("mapping", [5, [None], {"format": "npc-kg-fhir-mapping/1"}])
def test_a_mapping_of_the_wrong_type_is_an_input_error(mapping: Any, tmp_path: Path) -> None:
    from npc_kg.errors import InputError

    bundle = Path(__file__).resolve().parent / "data" / "fhir" / "valid" / "eligible.json"
    with pytest.raises(InputError, match="mapping= takes a YAML file or a list of them"):
        npc_kg.assess(bundle, mapping=mapping)
    with pytest.raises(InputError, match="mapping= takes a YAML file or a list of them"):
        npc_kg.assess_cohort([bundle], tmp_path / "rows.csv", mapping=mapping, progress=False)
