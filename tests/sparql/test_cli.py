"""`npc-kg query` and `npc-kg load` through the CLI entry point (exit codes, formats, params)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from npc_kg.cli import main

from .conftest import PATIENT_DATA, Server, free_port


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_list_shows_titles_and_params(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "query", "--list")
    assert code == 0
    assert "criteria-for-treatment\tEligibility criteria for a treatment" in out
    assert "--param treatment (IRI or CURIE, default npc:SalvageSurgery)" in out
    assert "--param months (xsd:decimal, optional)" in out


def test_help_documents_params_and_formats(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["query", "--help"])
    out = capsys.readouterr().out
    assert exited.value.code == 0
    for text in ("--param", "Formats:", "W3C SPARQL 1.1 CSV", "term-mappings", "params: term (IRI or CURIE, required)"):
        assert text in out


def test_csv_output_with_a_param(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "query", "term-mappings", "--param", "term=MONDO:0015459", "--format", "csv")
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    incoming = [row for row in rows if row["direction"] == "incoming"]
    assert incoming == [
        {
            "term": "http://purl.obolibrary.org/obo/MONDO_0015459",
            "direction": "incoming",
            "predicate": "http://www.w3.org/2004/02/skos/core#exactMatch",
            "other": "https://w3id.org/npc-kg/NasopharyngealCarcinoma",
            "otherLabel": "nasopharyngeal carcinoma",
        }
    ]
    # outgoing: MONDO's own mappings of MONDO:0015459, from the MONDO import (Orphanet, UMLS, ...)
    assert "http://www.orpha.net/ORDO/Orphanet_150" in {row["other"] for row in rows if row["direction"] == "outgoing"}


def test_json_and_tsv_output(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "query", "sources", "--format", "json", "--backend", "oxigraph")
    assert code == 0
    data = json.loads(out)
    luo = next(item for item in data if item["doi"] == "10.1002/cam4.71604")
    assert luo["date"] == "2026-02-15" and isinstance(luo["figures"], int) and luo["figures"] > 0
    code, out, _ = run(capsys, "query", "sources", "--format", "tsv")
    lines = out.splitlines()
    assert lines[0].split("\t")[:3] == ["source", "label", "title"]
    assert len(lines) == 3 and all(line.count("\t") == 10 for line in lines)


def test_table_output(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "query", "criteria-for-treatment")
    assert code == 0
    assert out.splitlines()[0].startswith("treatment")
    assert "contraindication 3: distant metastasis" in out
    assert out.rstrip().endswith("rows)")


def test_ask_prints_true_or_false(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "query", "ASK { ?s a <https://w3id.org/npc-kg/Source> }")[:2] == (0, "true\n")


@pytest.mark.parametrize(
    ("argv", "code", "message"),
    [
        (["query", "sources", "--param", "x=1"], 2, "does not declare parameter"),
        (["query", "sources", "--param", "novalue"], 2, "expected NAME=VALUE"),
        (["query", "SELECT * WHERE { ?s ?p }"], 2, "line 1, column"),
        (["query", "DELETE WHERE { ?s ?p ?o }"], 2, "updates are refused"),
        (["query", "SELECT * WHERE { SERVICE <http://example.org/s> { ?s ?p ?o } }"], 2, "SERVICE"),
        (["query", "INSERT DATA { <http://a> <http://b> <http://c> }", "--update"], 2, "needs a store"),
        (["query", "no-such-query"], 2, "unknown named query"),
        (["query"], 2, "give a query"),
    ],
)
def test_errors_have_exit_codes(capsys: pytest.CaptureFixture[str], argv: list[str], code: int, message: str) -> None:
    got, _out, err = run(capsys, *argv)
    assert got == code
    assert message in err
    assert "Traceback" not in err


def test_unreachable_endpoint_exit_code_4(capsys: pytest.CaptureFixture[str]) -> None:
    port = free_port()
    code, _, err = run(capsys, "query", "sources", "--endpoint", f"http://127.0.0.1:{port}/sparql", "--timeout", "2")
    assert code == 4
    assert "unreachable" in err


@pytest.mark.server
def test_load_then_query_a_server(capsys: pytest.CaptureFixture[str], oxigraph_server: Server) -> None:
    graph = "https://example.org/graph/cli"
    code, out, _ = run(
        capsys,
        "load",
        "--endpoint",
        oxigraph_server.query,
        "--gsp-endpoint",
        str(oxigraph_server.gsp),
        "--graph",
        graph,
        str(PATIENT_DATA),
    )
    assert code == 0 and f"into <{graph}>" in out
    code, out, _ = run(
        capsys, "query", "patient-criterion-status", "--endpoint", oxigraph_server.query, "--graph", graph, "-f", "json",
        "--param", "patient=https://w3id.org/npc-kg/patient/sparql-test-2",
    )
    assert code == 0
    rows = json.loads(out)
    assert {row["criterion"].rsplit("/", 1)[-1] for row in rows if row["status"].endswith("Unknown")} >= {
        "ci-1-skull-base-or-cranial-nerve"
    }
    # an update through the CLI needs --update, then reaches the server
    update = f"DROP GRAPH <{graph}>"
    assert run(capsys, "query", update, "--endpoint", oxigraph_server.query)[0] == 2
    assert run(capsys, "query", update, "--endpoint", oxigraph_server.query, "--update")[0] == 0
    code, out, _ = run(capsys, "query", "sources", "--endpoint", oxigraph_server.query, "--graph", graph, "-f", "json")
    assert code == 0 and json.loads(out) == []


def test_a_syntax_error_in_a_query_file_names_the_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    query = tmp_path / "bad.rq"
    query.write_text("SELECT ?s\nWHERE {\n FILTER( }\n", encoding="utf-8")
    assert main(["query", str(query)]) == 2
    assert f"{query}: SPARQL syntax error at line 3" in capsys.readouterr().err


def test_list_with_a_query_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["query", "--list", "sources"]) == 2
    assert "--list takes no query" in capsys.readouterr().err
