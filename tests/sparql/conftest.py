"""Fixtures of the SPARQL area: real Oxigraph and Virtuoso servers, and loaded backends.

The servers run on free loopback ports in temporary folders and are stopped (terminate, wait,
kill if needed) when the session ends. A missing ``oxigraph`` or ``virtuoso-t`` binary is a
test failure when the ``CI`` environment variable is set, and a skip with a reason otherwise.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from npc_kg.rdfio import parse_file
from npc_kg.sparql.backends import Backend, make_backend
from npc_kg.sparql.backends.remote import RemoteBackend
from npc_kg.sparql.loading import load_endpoint

DATA = Path(__file__).resolve().parent / "data"
PATIENT_DATA = DATA / "patients-and-assessments.ttl"
TEST_GRAPH = "https://w3id.org/npc-kg/graph"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def need_binary(name: str) -> str:
    """Path of ``name``; fail under CI, skip locally, if it is missing."""
    path = shutil.which(name)
    if path is None:
        message = f"{name} is not installed (.ci/run installs it); the SPARQL server tests need it"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


def _wait_http(url: str, process: subprocess.Popen[bytes], log: Path, seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with code {process.returncode}: {log.read_text(errors='replace')[-2000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.3)
    raise RuntimeError(f"server at {url} did not answer within {seconds:g} s: {log.read_text(errors='replace')[-2000:]}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@dataclass(frozen=True)
class Server:
    """A running SPARQL server."""

    kind: str
    query: str
    update: str
    gsp: str | None
    isql_port: int | None = None

    def isql(self, statement: str) -> None:
        """Run a Virtuoso SQL statement as dba (Virtuoso only)."""
        assert self.isql_port is not None
        subprocess.run(
            [need_binary("isql-vt"), str(self.isql_port), "dba", "dba", f"exec={statement}"],
            check=True,
            capture_output=True,
            timeout=60,
        )


@pytest.fixture(scope="session")
def oxigraph_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A real ``oxigraph serve`` on a free loopback port."""
    binary = need_binary("oxigraph")
    folder = tmp_path_factory.mktemp("oxigraph")
    port = free_port()
    log = folder / "server.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [binary, "serve", "--location", str(folder / "store"), "--bind", f"127.0.0.1:{port}"],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_http(f"{base}/query?{urllib.parse.urlencode({'query': 'ASK {}'})}", process, log)
        yield Server("oxigraph", f"{base}/query", f"{base}/update", f"{base}/store")
    finally:
        _stop(process)


_VIRTUOSO_INI = """\
[Database]
DatabaseFile = {dir}/virtuoso.db
ErrorLogFile = {dir}/virtuoso.log
LockFile = {dir}/virtuoso.lck
TransactionFile = {dir}/virtuoso.trx
xa_persistent_file = {dir}/virtuoso.pxa
ErrorLogLevel = 7
FileExtend = 200
Striping = 0
TempStorage = TempDatabase

[TempDatabase]
DatabaseFile = {dir}/virtuoso-temp.db
TransactionFile = {dir}/virtuoso-temp.trx
Striping = 0

[Parameters]
ServerPort = 127.0.0.1:{sql_port}
DisableUnixSocket = 1
DisableTcpSocket = 0
MaxClientConnections = 10
CheckpointInterval = 60
CaseMode = 2
DirsAllowed = {dir}
NumberOfBuffers = 10000
MaxDirtyBuffers = 6000
ThreadsPerQuery = 2

[HTTPServer]
ServerPort = 127.0.0.1:{http_port}
ServerRoot = {dir}
MaxClientConnections = 10
ServerThreads = 10
Charset = UTF-8

[SPARQL]
ResultSetMaxRows = 100000
MaxQueryExecutionTime = 60
"""


@pytest.fixture(scope="session")
def virtuoso_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A real Virtuoso (``virtuoso-t +foreground``) on free loopback ports, SPARQL updates granted."""
    binary = need_binary("virtuoso-t")
    need_binary("isql-vt")
    folder = tmp_path_factory.mktemp("virtuoso")
    sql_port, http_port = free_port(), free_port()
    ini = folder / "virtuoso.ini"
    ini.write_text(_VIRTUOSO_INI.format(dir=folder, sql_port=sql_port, http_port=http_port), encoding="utf-8")
    log = folder / "server.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [binary, "+foreground", "+configfile", str(ini)], cwd=folder, stdout=out, stderr=subprocess.STDOUT
        )
    endpoint = f"http://127.0.0.1:{http_port}/sparql"
    try:
        _wait_http(f"{endpoint}?{urllib.parse.urlencode({'query': 'ASK {}'})}", process, log, seconds=120)
        server = Server("virtuoso", endpoint, endpoint, f"http://127.0.0.1:{http_port}/sparql-graph-crud", sql_port)
        server.isql('grant SPARQL_UPDATE to "SPARQL";')
        yield server
    finally:
        _stop(process)


BACKENDS = ("rdflib", "oxigraph", "oxigraph-server", "virtuoso")


@pytest.fixture(scope="session")
def patient_graph():  # type: ignore[no-untyped-def]
    """The synthetic patients and assessments of ``data/patients-and-assessments.ttl``."""
    return parse_file(PATIENT_DATA)


@pytest.fixture(scope="session")
def reference_backend(patient_graph) -> Backend:  # type: ignore[no-untyped-def]
    """rdflib with the knowledge graph and the test patients: the answers every backend must give."""
    backend = make_backend("rdflib")
    backend.load(patient_graph)
    return backend


@pytest.fixture(scope="session", params=BACKENDS)
def loaded_backend(request: pytest.FixtureRequest, patient_graph) -> Backend:  # type: ignore[no-untyped-def]
    """Each backend, loaded with the knowledge graph and the test patients."""
    name = request.param
    if name in ("rdflib", "oxigraph"):
        backend = make_backend(name)
        backend.load(patient_graph)
        return backend
    if name == "oxigraph-server":
        server: Server = request.getfixturevalue("oxigraph_server")
        # Graph Store Protocol path
        load_endpoint(server.query, graph=TEST_GRAPH, gsp_endpoint=server.gsp, extra=[patient_graph])
    else:
        server = request.getfixturevalue("virtuoso_server")
        # INSERT DATA path, small batches so that blank-node groups span several requests
        load_endpoint(server.query, graph=TEST_GRAPH, update_endpoint=server.update, extra=[patient_graph], batch_size=300)
    return RemoteBackend(server.query, update_endpoint=server.update, graph=TEST_GRAPH)
