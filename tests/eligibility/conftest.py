"""Fixtures and helpers for the eligibility tests: header expectations and cached assessments."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

import pytest

import npc_kg
from npc_kg.assessment.assess import Assessment
from npc_kg.namespace import KB, NPC

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "tests" / "data" / "patients"
EXAMPLES = REPO / "examples" / "patients"

_CACHE: dict[Path, list[Assessment]] = {}


@dataclass
class Expectations:
    """What a data file's header comment says it should produce."""

    verdict: str | None = None
    statuses: dict[str, str] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    breaks: str | None = None
    exit_code: int | None = None
    errors: list[str] = field(default_factory=list)
    comment: str = ""


def expand(curie: str) -> str:
    """Expand ``kb:`` and ``npc:`` CURIEs used in headers."""
    prefix, _, local = curie.partition(":")
    return str({"kb": KB, "npc": NPC._NS}[prefix]) + local


def expectations(path: Path) -> Expectations:
    """Parse the ``# expect...`` / ``# breaks:`` header lines of a data file."""
    found = Expectations()
    comment = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.startswith("#"):
            if line.strip():
                break
            continue
        text = line.lstrip("#").strip()
        comment.append(text)
        key, _, value = text.partition(":")
        value = value.strip()
        if key == "expect-verdict":
            found.verdict = value
        elif key == "expect":
            criterion, status = value.split()
            found.statuses[expand(criterion)] = status
        elif key == "expect-missing":
            found.missing.append(expand(value))
        elif key == "breaks":
            found.breaks = value
        elif key == "expect-exit":
            found.exit_code = int(value)
        elif key == "expect-error":
            found.errors.append(value)
    found.comment = "\n".join(comment)
    return found


def assessed(path: Path) -> list[Assessment]:
    """Assess a file once per test session (read-only result)."""
    if path not in _CACHE:
        _CACHE[path] = npc_kg.assess(path)
    return _CACHE[path]


def statuses(assessment: Assessment) -> dict[str, str]:
    """Criterion IRI -> status of one assessment."""
    return {row.criterion: row.status for row in assessment.criteria}


def valid_files() -> list[Path]:
    return sorted((DATA / "valid").glob("*.ttl"))


def invalid_files() -> list[Path]:
    return sorted((DATA / "invalid").glob("*.ttl"))


def example_files() -> list[Path]:
    return sorted(EXAMPLES.glob("*.ttl"))


PREFIXES_TTL = """@prefix npc: <https://w3id.org/npc-kg/> .
@prefix ex: <https://example.org/patients/> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
@prefix HP: <http://purl.obolibrary.org/obo/HP_> .
"""

ALL_FINDINGS = {
    "skull_base_bone_destruction": "absent",
    "cranial_nerve_palsy": "absent",
    "distant_metastasis": "absent",
    "neck_lesion_adherent_to_deep_tissue_or_skin": "absent",
    "advanced_age": "absent",
    "frailty": "absent",
    "poor_general_condition": "absent",
    "hepatic_insufficiency": "absent",
    "renal_insufficiency": "absent",
    "other_contraindication_to_surgery": "absent",
}


def patient_dict(pid: str = "P-1", **findings: str | None) -> dict:
    """A dict patient: local recurrence after radiotherapy, every finding absent unless overridden."""
    merged = {**ALL_FINDINGS, **findings}
    return {
        "id": pid,
        "age": 58,
        "radiotherapy_courses": 1,
        "recurrences": [{"site": "local", "kind": "recurrence", "rT": "rT2", "rN": "rN0", "months_since_radiotherapy": 18}],
        "findings": {k: v for k, v in merged.items() if v is not None},
    }


@pytest.fixture
def eligible_dict() -> dict:
    return patient_dict()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrize ``valid_file``, ``invalid_file`` and ``example_file`` over the data folders."""
    for name, files in (("valid_file", valid_files), ("invalid_file", invalid_files), ("example_file", example_files)):
        if name in metafunc.fixturenames:
            paths = files()
            metafunc.parametrize(name, paths, ids=[p.name for p in paths])


@pytest.fixture(scope="session")
def helpers() -> SimpleNamespace:
    """The helper functions above, for test modules (importlib import mode cannot import conftest)."""
    return SimpleNamespace(
        expectations=expectations,
        assessed=assessed,
        statuses=statuses,
        expand=expand,
        patient_dict=patient_dict,
        valid_files=valid_files,
        invalid_files=invalid_files,
        example_files=example_files,
        PREFIXES_TTL=PREFIXES_TTL,
        REPO=REPO,
    )
