"""Assessing a patient touches no network and writes no file; errors never echo patient values."""

from __future__ import annotations

import os
import socket
import tempfile
from pathlib import Path

import pytest

import npc_kg
from npc_kg.assessment.render import render
from npc_kg.errors import PatientModelError


class NetworkUsed(AssertionError):
    pass


def test_assessment_makes_no_network_access_and_writes_no_temp_files(helpers, monkeypatch: pytest.MonkeyPatch,
                                                                    tmp_path: Path) -> None:
    npc_kg.load()  # the knowledge graph itself is package data, loaded before the patient arrives
    npc_kg.assess(helpers.patient_dict())  # and so are the user caches of package data (engines, query checks)

    def refuse(*_args: object, **_kwargs: object) -> None:
        raise NetworkUsed("network access while processing patient data")

    def no_temp(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("temporary file created while processing patient data")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    for name in ("mkstemp", "mkdtemp", "NamedTemporaryFile", "TemporaryFile", "SpooledTemporaryFile", "TemporaryDirectory"):
        monkeypatch.setattr(tempfile, name, no_temp)
    # A private temporary folder, watched instead of the shared /tmp (other processes write there).
    temp_dir = tmp_path / "tmp"
    temp_dir.mkdir()
    monkeypatch.setenv("TMPDIR", str(temp_dir))
    monkeypatch.setattr(tempfile, "tempdir", str(temp_dir))
    before = set(os.listdir(temp_dir))
    cwd_before = set(os.listdir(Path.cwd()))

    folder = helpers.REPO / "examples" / "patients"
    # the JSON-LD example names the published @context by URL: it must be resolved locally
    results = npc_kg.assess(folder / "indeterminate.ttl") + npc_kg.assess(helpers.patient_dict())
    results += npc_kg.assess(folder / "eligible.jsonld")
    for fmt in ("text", "json", "ttl"):
        assert render(results, fmt)

    assert [r.verdict for r in results] == ["indeterminate", "eligible", "eligible"]
    assert set(os.listdir(temp_dir)) - before == set()
    assert set(os.listdir(Path.cwd())) == cwd_before


def test_data_error_messages_never_contain_patient_values(helpers) -> None:
    ttl = helpers.PREFIXES_TTL + """
ex:p a npc:Patient ; npc:age "SECRET-1"^^xsd:integer ; npc:radiotherapyCourses 4242 ;
    npc:hasFinding ex:p-r , "SECRET-3" .
ex:p-r a npc:LocalRecurrence ; npc:findingStatus npc:Present ; npc:monthsSinceRadiotherapy "SECRET-2" ;
    npc:rNCategory "SECRET-4" .
"""
    with pytest.raises(PatientModelError) as info:
        npc_kg.assess(ttl)
    text = "\n".join([str(info.value), *info.value.errors])
    assert len(info.value.errors) >= 5
    for secret in ("SECRET-1", "SECRET-2", "SECRET-3", "SECRET-4", "4242"):
        assert secret not in text


def test_cli_assessment_leaves_no_file_in_its_temporary_folder(helpers, tmp_path: Path) -> None:
    """The whole command, forked query processes included, with a private TMPDIR that must stay empty."""
    import subprocess
    import sys

    temp_dir = tmp_path / "tmp"
    temp_dir.mkdir()
    env = {**os.environ, "TMPDIR": str(temp_dir), "PYTHONPATH": str(helpers.REPO)}
    folder = helpers.REPO / "examples" / "patients"
    done = subprocess.run([sys.executable, "-m", "npc_kg", "assess", str(folder / "indeterminate.ttl"),
                           str(folder / "eligible.jsonld"), "--format", "json"],
                          env=env, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert list(temp_dir.iterdir()) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tmp"]


@pytest.mark.parametrize("patient", [{"id": "SECRET-4242", "age": 4242}, {"id": "SECRET-4242", "agee": 42},
                                     {"id": "SECRET-4242", "findings": {"nope": "present"}}])
def test_a_patient_dicts_id_is_never_in_an_error(patient: dict[str, object]) -> None:
    """npc-kg mints the patient's IRI from the dict's id: no message shows it."""
    with pytest.raises(PatientModelError) as caught:
        npc_kg.assess(patient)
    text = " ".join([str(caught.value), *caught.value.errors])
    assert "SECRET-4242" not in text and "4242" not in text


def test_errors_name_patients_and_records_by_place_never_by_iri(helpers) -> None:
    """Subject IRIs may hold record numbers: a message says which patient and record by its place in IRI order."""
    ttl = helpers.PREFIXES_TTL + """
ex:MRN-0002 a npc:Patient ; npc:age 300 ; npc:hasFinding ex:MRN-0002-a , ex:MRN-0002-b , ex:MRN-0002-c .
ex:MRN-0002-a a npc:LocalRecurrence ; npc:findingStatus npc:Present .
ex:MRN-0002-b a npc:LocalRecurrence .
ex:MRN-0002-c a npc:LocalRecurrence ; npc:findingStatus npc:Present .
ex:MRN-0001 a npc:Patient ; npc:age 50 .
"""
    with pytest.raises(PatientModelError) as info:
        npc_kg.assess(ttl)
    text = "\n".join(info.value.errors)
    assert "patient 2 of 2 (in IRI order): age (npc:age): is above the maximum 120" in text
    assert "patient 2 of 2 (in IRI order), its finding record 2 of 3 (in IRI order): status (npc:findingStatus): " \
           "is missing" in text
    assert "MRN" not in "\n".join([str(info.value), *info.value.errors])
