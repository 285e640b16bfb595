"""--endpoint: the compiled queries run on a real Oxigraph server that holds the patient data."""

from __future__ import annotations

import csv
import os
import shutil
import socket
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from npc_kg.cli import main
from npc_kg.cohort import assess_cohort
from npc_kg.cohort.synth import synth
from npc_kg.errors import EndpointError, InputError
from npc_kg.namespace import DEFAULT_GRAPH_IRI

pytestmark = pytest.mark.server

DEFAULT_ONLY = ("<https://example.org/default-graph/P-1> <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> "
                "<https://w3id.org/npc-kg/Patient> .\n")
"""One patient in the endpoint's default graph: the cohort is in the named graph, as `npc-kg load` puts it."""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    binary = shutil.which("oxigraph")
    if binary is None:
        if os.environ.get("CI"):
            pytest.fail("the oxigraph binary is required in CI (pip install oxigraph)")
        pytest.skip("oxigraph binary not installed")
    folder = tmp_path_factory.mktemp("endpoint")
    data = folder / "cohort.nt"
    synth(250, 31, data, error_rate=0.1, syntax_errors=False)
    port = _free_port()
    process = subprocess.Popen([binary, "serve", "--bind", f"127.0.0.1:{port}"], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"{base}/query?query=ASK%7B%7D", timeout=1).read()
                break
            except OSError:
                time.sleep(0.1)
        graph = urllib.parse.quote(DEFAULT_GRAPH_IRI, safe="")  # where `npc-kg load` writes
        for target in (f"{base}/store?graph={graph}", f"{base}/store?default"):
            request = urllib.request.Request(target, data=data.read_bytes() if "graph=" in target else DEFAULT_ONLY.encode(),
                                             method="POST", headers={"Content-Type": "application/n-triples"})
            urllib.request.urlopen(request, timeout=30).read()
        yield f"{base}/query", data
    finally:
        process.terminate()
        process.wait(timeout=10)


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as handle:
        return sorted(csv.DictReader(handle), key=lambda r: r["patient"])


def test_endpoint_gives_the_same_rows_as_the_local_engine(server: tuple[str, Path], tmp_path: Path) -> None:
    url, data = server
    assess_cohort([], tmp_path / "remote.csv", endpoint=url, attrition=tmp_path / "a.csv")
    assess_cohort(data, tmp_path / "local.csv")
    remote, local = _rows(tmp_path / "remote.csv"), _rows(tmp_path / "local.csv")
    assert len(remote) == 250
    assert remote == local
    assert {r["verdict"] for r in remote} >= {"eligible", "ineligible", "indeterminate", "error"}


def test_endpoint_reads_the_graph_it_is_given(server: tuple[str, Path], tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    url, _data = server
    assess_cohort([], tmp_path / "named.csv", endpoint=url, graph=DEFAULT_GRAPH_IRI)
    assert len(_rows(tmp_path / "named.csv")) == 250
    assess_cohort([], tmp_path / "default.csv", endpoint=url, graph="default")
    assert [r["patient"] for r in _rows(tmp_path / "default.csv")] == ["https://example.org/default-graph/P-1"]
    assert capsys.readouterr().err == ""


def test_no_patient_in_the_graph_is_a_warning_naming_it(server: tuple[str, Path], tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    url, _data = server
    empty = "https://example.org/no-such-graph"
    assert main(["assess-cohort", "--endpoint", url, "--graph", empty, "--out", str(tmp_path / "o.csv")]) == 0
    assert _rows(tmp_path / "o.csv") == []
    err = capsys.readouterr().err
    assert f"no patient (rdf:type npc:Patient) in the named graph <{empty}>" in err
    assert "--graph" in err


def test_unreachable_endpoint_is_an_endpoint_error(tmp_path: Path) -> None:
    with pytest.raises(EndpointError):
        assess_cohort([], tmp_path / "o.csv", endpoint=f"http://127.0.0.1:{_free_port()}/query", timeout=2)
    assert not (tmp_path / "o.csv").exists()


def test_input_files_with_an_endpoint_are_refused(tmp_path: Path) -> None:
    cohort = tmp_path / "c.nt"
    cohort.write_text("", encoding="utf-8")
    with pytest.raises(InputError, match="--endpoint reads the patients from the server: give no input files"):
        assess_cohort([cohort], tmp_path / "o.csv", endpoint=f"http://127.0.0.1:{_free_port()}/query", timeout=2)
    assert not (tmp_path / "o.csv").exists()


def test_endpoint_options_without_an_endpoint_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``--graph`` without ``--endpoint`` was ignored with no word: the patients came from the files,
    not from the graph asked for. ``timeout=`` without ``endpoint=`` has no use in a library call."""
    cohort = tmp_path / "c.nt"
    synth(2, 1, cohort)
    assert main(["assess-cohort", str(cohort), "--out", str(tmp_path / "o.csv"), "--graph", "https://example.org/g"]) == 2
    assert "--graph names the graph" in capsys.readouterr().err
    assert not (tmp_path / "o.csv").exists()
    with pytest.raises(InputError, match="without --endpoint"):
        assess_cohort([cohort], tmp_path / "o.csv", graph="https://example.org/g")
    with pytest.raises(InputError, match="timeout= is the time limit of each request to endpoint="):
        assess_cohort([cohort], tmp_path / "o.csv", timeout=5)


def test_timeout_without_an_endpoint_limits_the_local_queries(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    """As for assess and query, where the message that ends a run past the limit says to raise it;
    the limit holds during the run and is gone when ``main()`` returns."""
    from npc_kg import limits
    from npc_kg.cohort import screen

    seen: list[float | None] = []
    run = screen.assess_cohort

    def recorded(*args: object, **kwargs: object) -> object:
        seen.append(limits.current().query_timeout)
        return run(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(screen, "assess_cohort", recorded)
    cohort = tmp_path / "c.nt"
    synth(2, 1, cohort)
    before = limits.current().query_timeout
    assert main(["assess-cohort", str(cohort), "--out", str(tmp_path / "o.csv"), "--timeout", "7"]) == 0
    assert seen == [7]
    assert limits.current().query_timeout == before
    capsys.readouterr()
