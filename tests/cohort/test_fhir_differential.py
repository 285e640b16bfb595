"""The FHIR-vs-N-Triples differential: the same synthetic cohort, as a Bulk Data export and as N-Triples, gives
every patient the same verdict and criterion statuses; and the export carries everything synth draws.

Larger cohorts: ``python benchmarks/fhir_bulk.py --n 100000`` compares the rows of both paths too.
"""

from __future__ import annotations

import csv
from collections import Counter
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from rdflib import RDFS

from npc_kg.cli import main
from npc_kg.cohort import assess_cohort
from npc_kg.cohort.synth import generate, synth
from npc_kg.errors import OutputError
from npc_kg.namespace import NPC

SYNTH_MAPPING = Path(__file__).resolve().parent.parent / "data" / "fhir" / "synth-mapping.yaml"
AT = "2026-01-01T00:00:00Z"  # the reference date of mappings/fhir-synth.yaml: the same ages
N, SEED = 300, 7


@pytest.fixture(scope="module")
def cohort(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("fhir-differential")
    synth(N, SEED, folder / "cohort.nt")
    synth(N, SEED, folder / "export", fmt="fhir-ndjson")
    return folder


def _rows(path: Path) -> dict[str, dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return {row["patient"]: row for row in csv.DictReader(handle)}


def test_same_verdicts_and_statuses_from_fhir_and_ntriples(cohort: Path, tmp_path: Path) -> None:
    assess_cohort([cohort / "cohort.nt"], tmp_path / "nt.csv", progress=False, at=AT)
    assess_cohort([cohort / "export"], tmp_path / "fhir.csv", mapping=SYNTH_MAPPING, progress=False, at=AT, workers=2,
                  batch_size=64)
    nt, fhir = _rows(tmp_path / "nt.csv"), _rows(tmp_path / "fhir.csv")
    assert len(nt) == len(fhir) == N
    assert nt.keys() == fhir.keys()
    differ = [p for p in nt if nt[p] != fhir[p]]
    assert not differ, f"{len(differ)} patients differ, e.g. {differ[0]}: {fhir[differ[0]]} vs {nt[differ[0]]}"
    verdicts = Counter(row["verdict"] for row in nt.values())
    assert {"eligible", "ineligible", "indeterminate"} <= set(verdicts), verdicts
    assert all(row["source_id"] == p.rsplit("/", 1)[-1] for p, row in fhir.items())


def _norm_classes(classes: Any, bridges: dict[str, str], narrower: dict[str, str]) -> frozenset[str]:
    return frozenset(bridges.get(c, narrower.get(c, c)) for c in classes)


def _term(term: str) -> str:
    if term.startswith("<"):
        return term[1:-1]
    return str(Decimal(term[1:].split('"^^<', 1)[0]))


def test_the_export_carries_everything_synth_draws(cohort: Path) -> None:
    from npc_kg.fhir import FhirPatient, iter_bulk, load_fhir_mapping
    from npc_kg.kg.load import load

    kg = load()
    narrower = {str(s): str(o) for s, o in kg.subject_objects(RDFS.subClassOf)
                if str(s).startswith("http://purl.obolibrary.org/obo/HP_") and str(o).startswith(str(NPC))}
    read = {p.source_id: p for p in iter_bulk([cohort / "export"], mapping=load_fhir_mapping([SYNTH_MAPPING]),
                                              at=date(2026, 1, 1))}
    seen: Counter[str] = Counter()
    for patient in generate(N, SEED):
        fhir = read[patient.identifier or ""]
        assert isinstance(fhir, FhirPatient) and fhir.in_scope
        props = {p: _term(o) for p, o in patient.props}
        assert {p: str(v) for p, (v, _dt, _s) in fhir.properties.items()} == props, patient.identifier
        bridges = dict(fhir.bridges)
        drawn = Counter((_norm_classes(f.classes, bridges, narrower), f.statuses[0].rsplit("/", 1)[-1].lower(),
                         frozenset((p, _term(o)) for p, o in f.props)) for f in patient.findings)
        got = Counter((_norm_classes(r.classes, bridges, narrower), r.status,
                       frozenset([*r.properties, *((p, str(Decimal(v))) for p, v, _dt in r.literals)]))
                      for r in fhir.records)
        assert got == drawn, patient.identifier
        recurrences = [f for f in patient.findings if f.key.startswith("recurrence-")]
        seen["two recurrences"] += len(recurrences) > 1
        seen["absent recurrence"] += any(f.statuses == [str(NPC.Absent)] for f in recurrences)
        seen["months"] += any(p == str(NPC.monthsSinceRadiotherapy) for f in recurrences for p, _o in f.props)
        seen["mCODE recurrence"] += any(r.rule == "recurrence" for r in fhir.records)
        seen["narrower code"] += bool(fhir.bridges)
        seen["age"] += str(NPC.age) in props
    assert all(seen[k] for k in ("two recurrences", "absent recurrence", "months", "mCODE recurrence", "narrower code",
                                 "age")), seen


def test_export_layout_determinism_and_refusals(cohort: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    files = sorted(p.name for p in (cohort / "export").iterdir())
    assert files == ["Condition.ndjson", "Observation.ndjson", "Patient.ndjson", "Procedure.ndjson"]
    assert main(["synth", "--n", "25", "--seed", str(SEED), "--format", "fhir-ndjson", "-o", str(tmp_path / "again")]) == 0
    first = (cohort / "export" / "Patient.ndjson").read_text(encoding="utf-8").splitlines()[:25]
    assert (tmp_path / "again" / "Patient.ndjson").read_text(encoding="utf-8").splitlines() == first
    with pytest.raises(OutputError, match="not an empty folder"):
        synth(5, 1, tmp_path / "again", fmt="fhir-ndjson")
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".again")], "no temporary folder left behind"


def test_unreadable_records_become_error_rows(tmp_path: Path) -> None:
    synth(80, 5, tmp_path / "export", fmt="fhir-ndjson", error_rate=0.3)
    broken = {p.identifier for p in generate(80, 5, error_rate=0.3) if p.defect == "syntax"}
    assert broken
    summary = assess_cohort([tmp_path / "export"], tmp_path / "rows.csv", mapping=SYNTH_MAPPING, progress=False, at=AT)
    rows = _rows(tmp_path / "rows.csv")
    assert summary.rows == 80 == len(rows)
    errors = {row["source_id"] for row in rows.values() if row["verdict"] == "error"}
    assert errors == broken
    assert all("not JSON" in row["error"] for row in rows.values() if row["verdict"] == "error")


def test_fhir_ages_count_to_the_assessment_date(cohort: Path, tmp_path: Path) -> None:
    from npc_kg.fhir import iter_bulk, load_fhir_mapping

    mapping = load_fhir_mapping([SYNTH_MAPPING])
    age = str(NPC.age)
    now = {p.source_id: p.properties.get(age, (None,))[0] for p in iter_bulk([cohort / "export"], mapping=mapping,
                                                                                at=date(2026, 1, 1))}
    later = {p.source_id: p.properties.get(age, (None,))[0] for p in iter_bulk([cohort / "export"], mapping=mapping,
                                                                                  at=date(2027, 1, 1))}
    aged = [pid for pid in now if now[pid] is not None]
    assert aged and all(later[pid] == now[pid] + 1 for pid in aged)


@pytest.mark.parametrize("subject", [None, "Patient/x", 4242, {"identifier": {"value": "x"}}, {"reference": "Group/g-1"}])
def test_a_read_resource_that_names_no_patient_is_an_error_row(tmp_path: Path, subject: Any) -> None:
    """Left out quietly, an NPC Condition without its subject would turn its patient out-of-scope; a
    well-formed reference to something else (a Group) is about no patient and is not read."""
    import json

    synth(10, 5, tmp_path / "export", fmt="fhir-ndjson")
    conditions = tmp_path / "export" / "Condition.ndjson"
    lines = conditions.read_text(encoding="utf-8").splitlines()
    first = json.loads(lines[0])
    if subject is None:
        del first["subject"]
    else:
        first["subject"] = subject
    conditions.write_text("\n".join([json.dumps(first), *lines[1:]]) + "\n", encoding="utf-8")
    summary = assess_cohort([tmp_path / "export"], tmp_path / "rows.csv", mapping=SYNTH_MAPPING, progress=False, at=AT)
    with (tmp_path / "rows.csv").open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    if isinstance(subject, dict) and "reference" in subject:
        assert summary.rows == len(rows) == 10 and not [row for row in rows if row["verdict"] == "error"]
        return
    assert summary.rows == len(rows) == 11  # ten patients and the line that names none
    [error] = [row for row in rows if row["verdict"] == "error"]
    assert "Condition.ndjson:1: a resource of type Condition has no reference in subject" in error["error"]
