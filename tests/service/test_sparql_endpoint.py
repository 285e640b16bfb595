"""The read-only SPARQL 1.1 Protocol endpoint, driven by a standard client against a real running server."""

from __future__ import annotations

import csv
import io
import json
import threading
import uuid
from urllib.error import HTTPError

import pytest
from SPARQLWrapper import CSV, JSON, POST, TSV, XML, SPARQLWrapper
from SPARQLWrapper.SPARQLExceptions import SPARQLWrapperException

from tests.packdata import criteria_count

COUNT = "SELECT (COUNT(*) AS ?n) WHERE { ?s a <https://w3id.org/npc-kg/EligibilityCriterion> }"


def wrapper(url: str, query: str, fmt: str = JSON, method: str = "GET") -> SPARQLWrapper:
    sparql = SPARQLWrapper(f"{url}/sparql")
    sparql.setQuery(query)
    sparql.setReturnFormat(fmt)
    sparql.setMethod(method)
    sparql.setTimeout(30)
    return sparql


@pytest.mark.server
@pytest.mark.parametrize("method", ["GET", POST])
def test_standard_client_gets_json_xml_csv_tsv(live_server: str, method: str) -> None:
    data = wrapper(live_server, COUNT, JSON, method).queryAndConvert()
    assert int(data["results"]["bindings"][0]["n"]["value"]) == criteria_count()
    xml = wrapper(live_server, COUNT, XML, method).queryAndConvert()
    assert xml.getElementsByTagName("literal")[0].firstChild.data == str(criteria_count())
    for fmt, delimiter in ((CSV, ","), (TSV, "\t")):
        text = wrapper(live_server, COUNT, fmt, method).query().response.read().decode()
        rows = list(csv.reader(io.StringIO(text), delimiter=delimiter))
        assert rows[1][0].split("^^")[0].strip('"') == "8"


@pytest.mark.server
def test_ask_and_construct(live_server: str) -> None:
    assert wrapper(live_server, "ASK { ?s ?p ?o }").queryAndConvert()["boolean"] is True
    sparql = SPARQLWrapper(f"{live_server}/sparql")
    sparql.setQuery("CONSTRUCT { ?s a ?t } WHERE { ?s a ?t } LIMIT 3")
    graph = sparql.queryAndConvert()
    assert len(graph) == 3


@pytest.mark.server
@pytest.mark.parametrize("query", [
    "SELECT * WHERE { SERVICE <http://127.0.0.1:9/sparql> { ?s ?p ?o } }",
    "LOAD <http://127.0.0.1:9/data.ttl>",
    "INSERT DATA { <urn:a> <urn:b> <urn:c> }",
    "DELETE WHERE { ?s ?p ?o }",
])
def test_service_load_and_updates_are_refused(live_server: str, query: str) -> None:
    with pytest.raises((SPARQLWrapperException, HTTPError)) as caught:
        wrapper(live_server, query, JSON, POST).query()
    assert getattr(caught.value, "code", 403) == 403 and "403" in str(caught.value)


def test_protocol_details(client) -> None:
    assert client.post("/sparql", content=COUNT, headers={"content-type": "application/sparql-query"}).status_code == 200
    assert client.post("/sparql", data={"update": "CLEAR ALL"}).status_code == 403
    assert client.get("/sparql", params={"update": "CLEAR ALL"}).status_code == 403
    assert client.post("/sparql", content="CLEAR ALL", headers={"content-type": "application/sparql-update"}).status_code == 403
    assert client.get("/sparql").status_code == 400
    assert client.get("/sparql", params={"query": "SELEKT"}).json()["status"] == 400
    assert client.get("/sparql", params={"query": COUNT}, headers={"accept": "image/png"}).status_code == 406
    assert client.get("/sparql", params={"query": COUNT, "default-graph-uri": "urn:x"}).status_code == 400
    accept = "text/csv;q=0.5, application/sparql-results+xml"
    response = client.get("/sparql", params={"query": COUNT}, headers={"accept": accept})
    assert response.headers["content-type"].startswith("application/sparql-results+xml")


GRAPHS = "default-graph-uri and named-graph-uri"
TWO_QUERIES = "2 queries in one request"


@pytest.mark.parametrize(("send", "why"), [
    (lambda c: c.post("/sparql", data={"query": COUNT, "default-graph-uri": "http://x"}), GRAPHS),
    (lambda c: c.post("/sparql", data={"query": COUNT, "named-graph-uri": "http://x"}), GRAPHS),
    (lambda c: c.post("/sparql?default-graph-uri=http://x", data={"query": COUNT}), GRAPHS),
    (lambda c: c.post("/sparql?named-graph-uri=http://x", content=COUNT,
                      headers={"content-type": "application/sparql-query"}), GRAPHS),
    (lambda c: c.get("/sparql", params=[("query", COUNT), ("query", "ASK {}")]), TWO_QUERIES),
    (lambda c: c.post("/sparql", data={"query": [COUNT, "ASK {}"]}), TWO_QUERIES),
    (lambda c: c.post("/sparql?query=ASK%20%7B%7D", data={"query": COUNT}), TWO_QUERIES),
    (lambda c: c.post("/sparql?query=ASK%20%7B%7D", content=COUNT,
                      headers={"content-type": "application/sparql-query"}), TWO_QUERIES),
], ids=["form-default", "form-named", "url-default-with-form", "url-named-with-body",
        "two-get", "two-form", "two-url-and-form", "two-url-and-body"])
def test_parameters_the_protocol_does_not_allow_are_refused(client, send, why) -> None:
    """Graph parameters (in the URL or a form: a form's were ignored and the query ran over the whole
    graph) and a second query (SPARQL 1.1 Protocol: exactly one; the first of two was run) are 400s."""
    response = send(client)
    assert response.status_code == 400 and why in response.json()["error"]


@pytest.mark.parametrize("send", [
    lambda c: c.post("/sparql?update=CLEAR%20ALL", data={"query": COUNT}),
    lambda c: c.post("/sparql?update=CLEAR%20ALL", content=COUNT, headers={"content-type": "application/sparql-query"}),
    lambda c: c.post("/sparql", data={"query": COUNT, "update": "CLEAR ALL"}),
], ids=["url-update-with-form", "url-update-with-body", "form-update-with-query"])
def test_an_update_beside_a_query_is_refused(client, send) -> None:
    """``POST /sparql?update=...`` with a form or a body ran the query (200)."""
    response = send(client)
    assert response.status_code == 403 and "read-only" in response.json()["error"]


def test_a_direct_post_with_an_empty_body_says_where_the_query_goes(client) -> None:
    """It said "2 queries in one request" for one query in the URL and an empty body."""
    response = client.post("/sparql?query=ASK%20%7B%7D", content=b"", headers={"content-type": "application/sparql-query"})
    assert response.status_code == 400
    error = response.json()["error"]
    assert "queries in one request" not in error and "sends the query as its body" in error


def test_patient_data_never_reaches_the_endpoint(client) -> None:
    from pathlib import Path

    patient = (Path(__file__).resolve().parents[2] / "examples" / "patients" / "eligible.ttl").read_text(encoding="utf-8")
    assert client.post("/report", data={"patient": patient, "format": "turtle"}).status_code == 200
    query = "ASK { ?p a <https://w3id.org/npc-kg/Patient> }"
    assert json.loads(client.get("/sparql", params={"query": query}).text)["boolean"] is False


def test_a_from_graph_it_does_not_hold_is_refused_with_one_message(client) -> None:
    answer = client.get("/sparql", params={"query": "SELECT * FROM <http://127.0.0.1:9/g> WHERE { ?s ?p ?o }"})
    assert answer.status_code == 403
    text = answer.text
    assert "FROM <http://127.0.0.1:9/g>" in text and "this endpoint never reaches the network" in text
    assert "allow_network" not in text and "--allow-network" not in text, "no CLI advice to a web client"


def test_a_query_that_is_not_utf8_gets_400(client) -> None:
    """It was decoded with replacement characters and run."""
    response = client.post("/sparql", content="ASK { ?s ?p \"caf\u00e9\" }".encode("latin-1"),
                           headers={"content-type": "application/sparql-query"})
    assert response.status_code == 400 and "not UTF-8" in response.json()["error"]


def test_the_service_timeout_stops_the_query_process() -> None:
    """``serve --timeout`` stopped waiting, but the query's forked process ran on to the 60 s query limit."""
    from npc_kg.service.sparql_endpoint import SparqlRefused, answer

    cross = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }"
    with pytest.raises(SparqlRefused) as info:
        answer(cross, None, timeout=1)
    assert info.value.status == 503 and "ran longer than 1 s" in str(info.value)


@pytest.mark.server
def test_head_is_get_without_a_body(live_server: str) -> None:
    """HEAD went to the POST branch and got 415. Against a real server: Starlette's test client drops a
    HEAD answer's body itself, so only the headers (the GET answer's length) show it was a GET."""
    import http.client
    from urllib.parse import quote, urlsplit

    address = urlsplit(live_server)

    def send(method: str, query: str, name: str = "query") -> tuple[int, dict[str, str], bytes]:
        connection = http.client.HTTPConnection(address.hostname, address.port, timeout=60)
        try:
            connection.request(method, f"/sparql?{name}={quote(query)}")
            response = connection.getresponse()
            return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
        finally:
            connection.close()

    get_status, get_headers, get_body = send("GET", COUNT)
    head_status, head_headers, head_body = send("HEAD", COUNT)
    assert get_status == 200 and get_body
    assert head_status == 200 and head_body == b""
    assert head_headers["content-type"] == get_headers["content-type"]
    assert int(head_headers["content-length"]) == len(get_body), "the GET answer's headers"
    assert send("HEAD", "SELEKT")[0] == 400
    assert send("HEAD", "CLEAR ALL", "update")[0] == 403


def test_a_405_names_the_allowed_methods(client) -> None:
    """RFC 9110: a 405 carries Allow; the JSON error handler dropped it."""
    response = client.put("/sparql", content=COUNT)
    assert response.status_code == 405 and response.json()["status"] == 405
    assert {m.strip() for m in response.headers["allow"].split(",")} == {"GET", "HEAD", "POST"}
    assert {m.strip() for m in client.get("/report").headers["allow"].split(",")} == {"POST"}




def many_filters(n: int) -> str:
    """A query of ``n`` FILTERs: rdflib's parser takes milliseconds for each."""
    return "SELECT * WHERE { ?s ?p ?o " + " ".join(f"FILTER(?o != {i})" for i in range(n)) + " }"


def test_an_oversized_query_is_refused_before_it_is_parsed(monkeypatch: pytest.MonkeyPatch) -> None:
    """A query of thousands of FILTERs held the parser lock for seconds, holding up /sparql and /report."""
    from starlette.testclient import TestClient

    from npc_kg.service import ServiceConfig, create_app, sparql_endpoint

    def no_parse(text: str) -> None:
        raise sparql_endpoint.SparqlRefused(500, "the query was parsed")

    monkeypatch.setattr(sparql_endpoint, "parse", no_parse)
    query = many_filters(200)
    assert 2000 < sparql_endpoint.query_size(query) < 16384
    with TestClient(create_app(ServiceConfig(max_query_bytes=2000))) as client:
        for response in (client.post("/sparql", content=query, headers={"content-type": "application/sparql-query"}),
                         client.post("/sparql", data={"query": query}),
                         client.get("/sparql", params={"query": query})):
            assert response.status_code == 413, response.text
            error = response.json()["error"]
            assert f"the query is {sparql_endpoint.query_size(query)} bytes" in error
            assert "limit of 2000 bytes" in error and "send a shorter query" in error


def test_the_query_size_limit_comes_from_the_environment_and_counts_utf8_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    from npc_kg.service.sparql_endpoint import SparqlRefused, answer

    monkeypatch.setenv("NPC_KG_MAX_QUERY_BYTES", "40")
    query = 'ASK { ?s ?p "' + "\u00e9" * 12 + '" }'  # 28 characters, 40 bytes
    assert answer(query, None).body  # at the limit: answered
    with pytest.raises(SparqlRefused) as info:
        answer(query.replace('"', '"x', 1), None)
    assert info.value.status == 413 and "40 bytes" in str(info.value)
    assert answer(query.replace('"', '"x', 1), None, max_bytes=41).body, "the service's own setting comes first"


def test_serve_max_query_size_is_checked() -> None:
    from npc_kg.cli import build_parser
    from npc_kg.errors import InputError
    from npc_kg.service import ServiceConfig, create_app

    assert build_parser().parse_args(["serve", "--max-query-size", "5000"]).max_query_size == 5000
    assert build_parser().parse_args(["serve"]).max_query_size is None
    with pytest.raises(SystemExit) as exited:
        build_parser().parse_args(["serve", "--max-query-size", "0"])
    assert exited.value.code == 2
    with pytest.raises(InputError, match="max_query_bytes is a whole number of bytes"):
        create_app(ServiceConfig(max_query_bytes=0))
    assert build_parser().parse_args(["serve", "--max-sparql-queries", "3"]).max_sparql_queries == 3
    with pytest.raises(SystemExit) as exited:
        build_parser().parse_args(["serve", "--max-sparql-queries", "0"])
    assert exited.value.code == 2


@pytest.mark.parametrize(("option", "field"), [("--timeout", "timeout"), ("--report-ttl", "report_ttl")])
def test_serve_times_must_be_above_zero(option: str, field: str) -> None:
    """``serve --timeout 0`` answered every request with 503; ``--report-ttl 0`` made every card link expire."""
    from npc_kg.cli import build_parser
    from npc_kg.errors import InputError
    from npc_kg.service import ServiceConfig, create_app

    assert getattr(build_parser().parse_args(["serve", option, "2.5"]), field) == 2.5
    with pytest.raises(SystemExit) as exited:
        build_parser().parse_args(["serve", option, "0"])
    assert exited.value.code == 2
    with pytest.raises(InputError, match=f"{field}= .*above 0"):
        create_app(ServiceConfig(**{field: 0}))


def test_the_default_size_limit_refuses_a_query_that_parses_for_seconds(monkeypatch: pytest.MonkeyPatch) -> None:
    """3,500 FILTERs (65,417 bytes) were under the 64 KiB default and parsed for about 8 s."""
    from starlette.testclient import TestClient

    from npc_kg.service import ServiceConfig, create_app, sparql_endpoint

    def no_parse(text: str) -> None:
        raise sparql_endpoint.SparqlRefused(500, "the query was parsed")

    monkeypatch.setattr(sparql_endpoint, "parse", no_parse)
    monkeypatch.delenv("NPC_KG_MAX_QUERY_BYTES", raising=False)
    query = many_filters(3500)
    with TestClient(create_app(ServiceConfig())) as client:
        response = client.post("/sparql", content=query, headers={"content-type": "application/sparql-query"})
    assert response.status_code == 413, response.text


@pytest.mark.parametrize("value", ["0", "-1", "0.5"])
def test_a_query_size_limit_under_1_from_the_environment_is_refused(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    """NPC_KG_MAX_QUERY_BYTES=0 turned the endpoint off (every query 413); the flag and the config refused 0."""
    from npc_kg.errors import InputError
    from npc_kg.limits import configure
    from npc_kg.service import ServiceConfig, create_app

    monkeypatch.setenv("NPC_KG_MAX_QUERY_BYTES", value)
    with pytest.raises(InputError, match="NPC_KG_MAX_QUERY_BYTES must be a"):
        create_app(ServiceConfig())
    monkeypatch.delenv("NPC_KG_MAX_QUERY_BYTES")
    with pytest.raises(InputError, match="max_query_bytes must be a"):
        configure(max_query_bytes=0)


def test_the_query_size_limit_is_read_once_when_the_app_is_created(monkeypatch: pytest.MonkeyPatch) -> None:
    """It was read from the environment on every request."""
    from starlette.testclient import TestClient

    from npc_kg.service import ServiceConfig, create_app

    monkeypatch.setenv("NPC_KG_MAX_QUERY_BYTES", "100")
    app = create_app(ServiceConfig())
    monkeypatch.setenv("NPC_KG_MAX_QUERY_BYTES", "10")
    with TestClient(app) as client:
        assert client.get("/sparql", params={"query": "ASK { ?s ?p ?o }"}).status_code == 200


def test_queries_past_the_cap_get_503_with_retry_after(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each /sparql query forks a process; any number ran at once (up to anyio's 40 threads), taking every core."""
    from concurrent.futures import ThreadPoolExecutor

    from starlette.testclient import TestClient

    from npc_kg.service import ServiceConfig, create_app
    from npc_kg.service import app as app_module
    from npc_kg.service.sparql_endpoint import RdfAnswer

    started, release = threading.Event(), threading.Event()

    def held_answer(query: str, *args: object) -> RdfAnswer:
        if query.startswith("# held"):
            started.set()
            release.wait(60)
        return RdfAnswer(b"{}", "application/sparql-results+json")

    monkeypatch.setattr(app_module, "answer", held_answer)
    with TestClient(create_app(ServiceConfig(max_sparql_queries=1))) as client, ThreadPoolExecutor(1) as pool:
        first = pool.submit(client.get, "/sparql", params={"query": "# held\nASK {}"})
        try:
            assert started.wait(60)
            refused = client.get("/sparql", params={"query": "ASK {}"})
        finally:
            release.set()
        assert refused.status_code == 503 and refused.headers["retry-after"] == "1"
        assert "at most 1 queries at once" in refused.json()["error"]
        assert first.result(timeout=60).status_code == 200
        assert client.get("/sparql", params={"query": "ASK {}"}).status_code == 200, "the slot was given back"
    with pytest.raises(Exception, match="max_sparql_queries is a whole number"):
        create_app(ServiceConfig(max_sparql_queries=0))


@pytest.fixture()
def held_parse(monkeypatch: pytest.MonkeyPatch):
    """rdflib's parser made to wait, for the texts that start with ``# held``, until the test lets it go."""
    import rdflib.plugins.sparql.parser as rdflib_parser

    real = rdflib_parser.parseQuery
    started, release = threading.Event(), threading.Event()

    def parse_query(text):
        if str(text).startswith("# held"):
            started.set()
            release.wait(120)  # longer than the tests wait for an answer: a test that needs the lock fails
        return real(text)

    monkeypatch.setattr(rdflib_parser, "parseQuery", parse_query)
    yield started, release
    release.set()


def test_a_query_is_answered_while_another_parse_holds_the_parser_lock(held_parse) -> None:
    """The endpoint parsed in the service's process, under the lock every parse takes."""
    from concurrent.futures import ThreadPoolExecutor

    from npc_kg.service.sparql_endpoint import answer
    from npc_kg.sparql.safety import parse

    started, release = held_parse
    with ThreadPoolExecutor(max_workers=2) as pool:
        holder = pool.submit(parse, f"# held {uuid.uuid4()}\nASK {{}}")  # a long parse holds the lock
        assert started.wait(60)
        small = pool.submit(answer, f"# {uuid.uuid4()}\n{COUNT}", None, 60)
        try:
            body = small.result(timeout=90).body  # waited for the lock before (a TimeoutError here)
        finally:
            release.set()
        assert int(json.loads(body)["results"]["bindings"][0]["n"]["value"]) == criteria_count()
        assert holder.result(timeout=60).kind == "ask"


def test_a_parse_past_the_timeout_is_stopped(held_parse) -> None:
    """The parse ran in the service's process, past --timeout, holding the parser lock."""
    from npc_kg.service.sparql_endpoint import SparqlRefused, answer

    with pytest.raises(SparqlRefused) as info:
        answer(f"# held {uuid.uuid4()}\n{COUNT}", None, timeout=1)
    assert info.value.status == 503 and "ran longer than 1 s" in str(info.value)
