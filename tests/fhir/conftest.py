"""Fixtures of the FHIR tests: the data folders, the mappings, and a check that the fhir extra is installed.

Without fhirpathpy and orjson (the ``fhir`` extra, also in ``test``) the tests of this folder fail
when the ``CI`` environment variable is set, and skip with a reason otherwise.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parent.parent / "data" / "fhir"
SITE_MAPPING = DATA / "site-mapping.yaml"


@pytest.fixture(autouse=True)
def _fhir_extra() -> None:
    """Fail under CI, skip locally, when the fhir extra is missing."""
    missing = [name for name in ("fhirpathpy", "orjson") if importlib.util.find_spec(name) is None]
    if missing:
        message = f"{', '.join(missing)} missing: pip install -e '.[test]' (or '.[fhir]')"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture(scope="session")
def data() -> Path:
    """tests/data/fhir."""
    return DATA


@pytest.fixture(scope="session")
def site_mapping():  # type: ignore[no-untyped-def]
    """The shipped mapping extended with tests/data/fhir/site-mapping.yaml (compiled once)."""
    from npc_kg.fhir import load_fhir_mapping

    return load_fhir_mapping([SITE_MAPPING])


@pytest.fixture(scope="session")
def shipped_mapping():  # type: ignore[no-untyped-def]
    """The shipped mapping alone."""
    from npc_kg.fhir import load_fhir_mapping

    return load_fhir_mapping()


def _load_builder():  # type: ignore[no-untyped-def]
    import importlib.util as util

    spec = util.spec_from_file_location("npc_kg_fhir_build_examples", Path(__file__).with_name("build_examples.py"))
    assert spec is not None and spec.loader is not None
    module = util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


BUILDER = _load_builder()


@pytest.fixture(scope="session")
def builder():  # type: ignore[no-untyped-def]
    """tests/fhir/build_examples.py as a module: the resource builders and the example cases."""
    return BUILDER
