"""Limits and privacy: body size, JSON errors, logs without data, nothing on disk, loopback by default."""

from __future__ import annotations

import builtins
import logging
import os
import tempfile
from pathlib import Path

import pytest

from npc_kg.cli import build_parser
from npc_kg.service import ServiceConfig, create_app

REPO = Path(__file__).resolve().parents[2]
SECRET = "SECRET-IDENTIFIER-4711"


def patient_text() -> str:
    text = (REPO / "examples" / "patients" / "indeterminate.ttl").read_text(encoding="utf-8")
    assert 'dcterms:identifier "INDETERMINATE"' in text and "npc:age 62" in text
    return text.replace('dcterms:identifier "INDETERMINATE"', f'dcterms:identifier "{SECRET}"')


def test_serve_binds_loopback_by_default() -> None:
    args = build_parser().parse_args(["serve"])
    assert args.host == "127.0.0.1" and args.port == 8000


def test_body_over_the_limit_is_413_json() -> None:
    from starlette.testclient import TestClient

    with TestClient(create_app(ServiceConfig(max_body=2000))) as client:
        declared = client.post("/report", data={"patient": "x" * 5000})
        assert declared.status_code == 413 and declared.json() == {"error": "request body over 2000 bytes", "status": 413}

        def chunks():
            for _ in range(10):
                yield b"y" * 500

        streamed = client.post("/sparql", content=chunks(), headers={"content-type": "application/sparql-query"})
        assert streamed.status_code == 413


def test_errors_are_json_with_their_status(client) -> None:
    for response, status in ((client.get("/nowhere"), 404), (client.put("/sparql"), 405),
                             (client.post("/report", data={"patient": ""}), 400),
                             (client.post("/report", data={"patient": "@prefix : <x> .\n:a :b", "format": "turtle"}), 400)):
        assert response.status_code == status
        assert response.headers["content-type"].startswith("application/json")
        assert response.json()["status"] == status


def test_patient_model_errors_are_422_without_values(client) -> None:
    text = patient_text().replace("npc:age 62", "npc:age 999")
    response = client.post("/report", data={"patient": text, "format": "turtle"})
    assert response.status_code == 422
    assert "999" not in response.text and "is above the maximum" in response.text


def test_logs_hold_no_body_no_query_string_no_patient_value(client, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    assert client.post("/report", data={"patient": patient_text(), "format": "turtle"}).status_code == 200
    assert client.get("/sparql", params={"query": f'ASK {{ ?s ?p "{SECRET}" }}'}).status_code == 200
    service_logs = [r for r in caplog.records if r.name.startswith(("npc_kg", "uvicorn", "starlette"))]  # not the test client's
    logged = "\n".join(record.getMessage() for record in service_logs)
    assert "assess_form" in logged and "sparql" in logged, "the access log names the route"
    assert SECRET not in logged and "ASK" not in logged and "dcterms" not in logged


def test_nothing_is_written_to_disk(client, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    real_open = builtins.open
    writes: list[str] = []

    def watching_open(file, mode="r", *args, **kwargs):
        if any(flag in str(mode) for flag in "wax+"):
            writes.append(str(file))
        return real_open(file, mode, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", watching_open)
    upload = {"file": ("p.ttl", patient_text().encode(), "text/turtle")}
    assert client.post("/report", files=upload, data={"format": "turtle"}).status_code == 200
    assert writes == [] and os.listdir(tmp_path) == []


def test_serve_on_a_port_in_use_or_a_bad_host_is_a_bad_argument(capsys: pytest.CaptureFixture[str]) -> None:
    import socket

    from npc_kg.cli import main

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["serve", "--port", str(port)]) == 2
    assert main(["serve", "--host", "192.0.2.1"]) == 2  # TEST-NET-1 (RFC 5737): an address of no machine here
    err = capsys.readouterr().err
    assert f"cannot listen on 127.0.0.1:{port}: Address already in use" in err
    assert "cannot listen on 192.0.2.1:8000: Cannot assign requested address" in err and "Traceback" not in err


def test_serve_names_a_bad_mapping_file_and_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from npc_kg.cli import main

    bad = tmp_path / "site.yaml"
    bad.write_text("findings: [\n  - oops", encoding="utf-8")
    assert main(["serve", "--mapping", str(bad), "--port", "0"]) == 2
    assert main(["serve", "--mapping", str(tmp_path / "none.yaml"), "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert f"{bad}:2: invalid YAML in the FHIR mapping file" in err
    assert "none.yaml: no such FHIR mapping file" in err
