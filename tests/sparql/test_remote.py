"""Remote endpoints: bounded timeouts, clear errors, verified loads, rejected loads reported."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from rdflib import BNode, Graph, Literal, URIRef

import npc_kg
from npc_kg.errors import EndpointError, InputError, QueryError
from npc_kg.sparql.backends.remote import RemoteBackend, batches
from npc_kg.sparql.loading import load_endpoint

from .conftest import PATIENT_DATA, Server, free_port

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "patients"


def test_unreachable_endpoint_fails_fast() -> None:
    port = free_port()  # nothing listens there
    start = time.monotonic()
    with pytest.raises(EndpointError, match=rf"127\.0\.0\.1:{port}.*unreachable"):
        npc_kg.query("sources", endpoint=f"http://127.0.0.1:{port}/sparql", timeout=2)
    assert time.monotonic() - start < 5


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A TCP server that accepts connections and never answers."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def serve() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                connection, _ = server.accept()
                accepted.append(connection)
            except OSError:
                continue

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield int(server.getsockname()[1])
    finally:
        stop.set()
        thread.join(timeout=2)
        for connection in accepted:
            connection.close()
        server.close()


def test_silent_endpoint_times_out(silent_server: int) -> None:
    start = time.monotonic()
    with pytest.raises(EndpointError, match=r"timed out after 1 s"):
        npc_kg.query("sources", endpoint=f"http://127.0.0.1:{silent_server}/sparql", timeout=1)
    assert time.monotonic() - start < 5


def test_non_http_endpoint_is_refused() -> None:
    with pytest.raises(InputError, match="only http"):  # a bad argument (exit 2), not an endpoint failure (4)
        RemoteBackend("file:///etc/passwd")
    with pytest.raises(InputError, match="more than 0 seconds"):
        RemoteBackend("http://127.0.0.1:9/sparql", timeout=0)


def test_batches_keep_blank_node_groups_together() -> None:
    graph = Graph()
    for index in range(30):
        outer, inner = BNode(), BNode()
        subject = URIRef(f"https://example.org/item/{index}")
        graph.add((subject, URIRef("https://example.org/p"), outer))
        graph.add((outer, URIRef("https://example.org/q"), inner))
        graph.add((inner, URIRef("https://example.org/r"), Literal(index)))
        graph.add((subject, URIRef("https://example.org/label"), Literal(f"item {index}")))
    chunks = list(batches(graph, size=10))
    assert sum(len(chunk) for chunk in chunks) == len(graph)
    assert len(chunks) > 1
    for chunk in chunks:
        nodes = {term for triple in chunk for term in triple if isinstance(term, BNode)}
        for node in nodes:
            assert all(triple in chunk for triple in graph if node in triple), "a blank-node group was split"


@pytest.mark.server
def test_http_error_is_reported(oxigraph_server: Server) -> None:
    backend = RemoteBackend(oxigraph_server.query.replace("/query", "/no-such-path"))
    with pytest.raises(EndpointError, match=r"HTTP 404"):
        backend.select("SELECT ?s WHERE { ?s ?p ?o } LIMIT 1")


@pytest.mark.server
def test_gsp_and_batched_loads_store_every_triple(oxigraph_server: Server) -> None:
    """Both load paths replace the graph and the count matches (blank nodes included)."""
    graph = "https://example.org/graph/load-test"
    by_gsp = load_endpoint(oxigraph_server.query, graph=graph, gsp_endpoint=oxigraph_server.gsp, include_kg=False,
                           extra=[npc_kg.load()])
    assert by_gsp.method == "gsp" and by_gsp.count == by_gsp.triples == len(npc_kg.load())
    by_batches = load_endpoint(oxigraph_server.query, graph=graph, include_kg=False, extra=[npc_kg.load()], batch_size=100)
    assert by_batches.method == "insert" and by_batches.batches > 10
    assert by_batches.count == len(npc_kg.load())  # replaced, not doubled


@pytest.mark.server
def test_rejected_load_is_reported_with_what_got_in(virtuoso_server: Server) -> None:
    """Virtuoso's SPARQL user without update rights: the load fails loudly, naming graph and batches."""
    virtuoso_server.isql('revoke SPARQL_UPDATE from "SPARQL";')
    try:
        with pytest.raises(EndpointError) as caught:
            load_endpoint(virtuoso_server.query, graph="https://example.org/graph/rejected", extra=[Graph()], include_kg=True)
    finally:
        virtuoso_server.isql('grant SPARQL_UPDATE to "SPARQL";')
    message = str(caught.value)
    assert "load into graph <https://example.org/graph/rejected> rejected" in message
    assert "HTTP 500" in message and "0 of" in message
    assert caught.value.exit_code == 4


@pytest.mark.server
def test_malformed_batch_reports_batches_and_triples_stored(oxigraph_server: Server) -> None:
    """A batch the server refuses mid-load: the error says how many batches/triples got in."""
    graph = Graph()
    for index in range(25):
        graph.add((URIRef(f"https://example.org/s/{index}"), URIRef("https://example.org/p"), Literal(index)))
    # an ill-formed language tag passes rdflib but not the server's parser
    graph.add((URIRef("https://example.org/s/bad"), URIRef("https://example.org/p"), Literal("x", lang="en")))
    backend = RemoteBackend(oxigraph_server.query, graph="https://example.org/graph/malformed", batch_size=10)
    original = backend._send_update
    calls = {"n": 0}

    def failing(update: str, *, what: str) -> None:
        calls["n"] += 1
        if calls["n"] == 3:  # DROP, batch 1, then batch 2 is refused by the server
            update = update.replace("INSERT {", "INSERT {{ broken")
        original(update, what=what)

    backend._send_update = failing  # type: ignore[method-assign]
    with pytest.raises(EndpointError, match=r"rejected at batch 2 of 3.*1 batch\(es\) with 10 of 26 triples were stored"):
        backend.load_report(graph, replace=True)
    assert backend.count() == 10


@pytest.mark.server
def test_patient_files_are_loaded_with_their_assessments(oxigraph_server: Server) -> None:
    graph = "https://example.org/graph/patients"
    report = load_endpoint(
        oxigraph_server.query,
        [EXAMPLES / "ineligible-ci-3-distant-metastasis.ttl", EXAMPLES / "indeterminate.ttl", PATIENT_DATA],
        graph=graph,
        gsp_endpoint=oxigraph_server.gsp,
    )
    assert report.count == report.triples
    rows = npc_kg.query("patient-criterion-status", endpoint=oxigraph_server.query, graph=graph)
    by_patient: dict[str, set[str]] = {}
    for row in rows:
        by_patient.setdefault(row["patient"], set()).add(row["status"].rsplit("/", 1)[-1])
    # the example patients were assessed locally; their assessments are on the server
    assert len(by_patient) == 4, sorted(by_patient)
    assert by_patient["https://w3id.org/npc-kg/patient/sparql-test-1"] == {"Violated", "Unknown"}
    assert all("Satisfied" not in statuses for statuses in by_patient.values())


def test_a_fhir_patient_file_is_loaded_in_the_patient_model() -> None:
    """npc-kg load reads a FHIR bundle as assess does (it parsed it as JSON-LD: no patient data)."""
    from rdflib import RDF

    from npc_kg.namespace import NPC
    from npc_kg.sparql.loading import build_load_graph

    bundle = Path(__file__).resolve().parents[1] / "data" / "fhir" / "valid" / "eligible.json"
    graph = build_load_graph([bundle], include_kg=False)
    [patient] = graph.subjects(RDF.type, NPC.Patient)
    assert len(list(graph.objects(patient, NPC.hasFinding))) > 3


def test_fhir_json_where_rdf_is_read_says_so(tmp_path: Path) -> None:
    from npc_kg.rdfio import parse_file

    bundle = Path(__file__).resolve().parents[1] / "data" / "fhir" / "valid" / "eligible.json"
    with pytest.raises(InputError, match="FHIR JSON, not RDF"):
        parse_file(bundle)


def test_endpoint_options_without_an_endpoint_are_refused(capsys: pytest.CaptureFixture[str]) -> None:
    """``--graph`` and ``--update-endpoint`` with the embedded store were ignored with no word."""
    from npc_kg.cli import main

    with pytest.raises(QueryError, match=r"graph= \(CLI --graph\) applies to a SPARQL endpoint"):
        npc_kg.query("sources", graph="https://example.org/g")
    assert main(["query", "sources", "--graph", "https://example.org/g"]) == 2
    assert "give endpoint= (CLI --endpoint)" in capsys.readouterr().err
    assert main(["query", "sources", "--update-endpoint", "http://127.0.0.1:1/update"]) == 2
    assert "--update-endpoint is where --update sends an update" in capsys.readouterr().err
