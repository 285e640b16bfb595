"""Safety: SERVICE, LOAD and remote FROM are refused without touching the network."""

from __future__ import annotations

import socket
from typing import Any

import pytest
import rdflib.plugins.sparql as rdflib_sparql
from rdflib import Graph

import npc_kg
from npc_kg.errors import QueryError, UnsafeQueryError
from npc_kg.sparql.backends import make_backend
from npc_kg.sparql.safety import check_safe, install_rdflib_guards, parse

SERVICE_QUERY = "SELECT ?s WHERE { SERVICE <http://example.org/sparql> { ?s ?p ?o } } ORDER BY ?s"


@pytest.fixture
def connections(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Record (and block) every outgoing connection attempt.

    Queries run in this process (no query timeout, so no forked child whose attempts this list
    would not see); a child inherits the same blocking functions.
    """
    monkeypatch.setenv("NPC_KG_QUERY_TIMEOUT", "0")
    calls: list[Any] = []

    def connect(self: socket.socket, address: Any) -> None:
        calls.append(address)
        raise OSError("network disabled by test")

    def create_connection(address: Any, *args: Any, **kwargs: Any) -> socket.socket:
        calls.append(address)
        raise OSError("network disabled by test")

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket, "create_connection", create_connection)
    return calls


@pytest.mark.parametrize("backend", ["rdflib", "oxigraph"])
def test_service_is_refused_without_network_call(connections: list[Any], backend: str) -> None:
    with pytest.raises(UnsafeQueryError, match=r"SERVICE <http://example.org/sparql> is refused.*allow_network"):
        npc_kg.query(SERVICE_QUERY, backend=backend)
    assert connections == []


def test_service_inside_filter_exists_is_refused(connections: list[Any]) -> None:
    text = "SELECT ?s WHERE { ?s ?p ?o FILTER EXISTS { SERVICE <http://example.org/q> { ?s ?p ?o } } }"
    with pytest.raises(UnsafeQueryError):
        npc_kg.query(text)
    assert connections == []


def test_service_in_comment_or_string_is_not_mistaken() -> None:
    text = (
        "# SERVICE <http://example.org/sparql> { ?s ?p ?o }\n"
        'SELECT ?s WHERE { ?s ?p "SERVICE <http://example.org/x> { }" } ORDER BY ?s'
    )
    assert npc_kg.query(text) == []


def test_rdflib_hook_blocks_service_even_when_the_check_is_bypassed(connections: list[Any]) -> None:
    """Belt and braces: a plain rdflib query in this process cannot run SERVICE either."""
    install_rdflib_guards()
    assert rdflib_sparql.SPARQL_LOAD_GRAPHS is False
    graph = Graph()
    graph.parse(data="<http://a> <http://b> <http://c> .", format="nt")
    with pytest.raises(UnsafeQueryError):
        list(graph.query(SERVICE_QUERY))
    assert connections == []


def test_load_update_is_refused(connections: list[Any]) -> None:
    backend = make_backend("rdflib", include_kg=False)
    with pytest.raises(UnsafeQueryError, match="LOAD"):
        backend.update("LOAD <http://example.org/data.ttl>")
    assert connections == []


@pytest.mark.parametrize("backend", ["rdflib", "oxigraph"])
def test_remote_from_is_refused(connections: list[Any], backend: str) -> None:
    for clause in ("FROM", "FROM NAMED"):
        with pytest.raises(UnsafeQueryError, match="FROM"):
            npc_kg.query(f"SELECT ?s {clause} <http://example.org/remote.ttl> WHERE {{ ?s ?p ?o }}", backend=backend)
    assert connections == []


def test_allow_network_lifts_the_check() -> None:
    parsed = parse(SERVICE_QUERY)
    with pytest.raises(UnsafeQueryError):
        check_safe(parsed)
    check_safe(parsed, allow_network=True)  # no error


def test_allow_network_lets_rdflib_try_the_service(connections: list[Any]) -> None:
    """With allow_network=True the query is not refused; the (blocked) network call is attempted."""
    with pytest.raises(QueryError) as caught:
        npc_kg.query(SERVICE_QUERY, allow_network=True)
    assert not isinstance(caught.value, UnsafeQueryError)
    assert connections, "the SERVICE call should have been attempted"


def test_updates_are_refused_by_query() -> None:
    with pytest.raises(UnsafeQueryError, match="update"):
        npc_kg.query("INSERT DATA { <http://a> <http://b> <http://c> }")


def test_syntax_error_reports_line_and_column() -> None:
    with pytest.raises(QueryError, match=r"line 3, column \d+"):
        npc_kg.query("PREFIX ex: <http://example.org/>\nSELECT ?s\nWHERE { ?s ex:p }")


@pytest.mark.parametrize("text", ["# only a comment", "PREFIX ex: <http://example.org/>", "# c\nPREFIX ex: <http://example.org/>\n"])
def test_text_with_no_query_is_an_empty_query(text: str) -> None:
    with pytest.raises(QueryError, match="empty query"):
        parse(text)


def test_a_service_named_by_a_variable(connections: list[Any]) -> None:
    query = "SELECT * WHERE { VALUES ?mondo { <http://127.0.0.1:9/sparql> } SERVICE ?mondo { ?s ?p ?o } }"
    with pytest.raises(UnsafeQueryError, match=r"SERVICE \?mondo is refused"):
        npc_kg.query(query)
    with pytest.raises(QueryError, match=r"rdflib cannot run SERVICE \?mondo .*backend='oxigraph'"):
        npc_kg.query(query, allow_network=True)  # rdflib would answer no rows, silently
    assert connections == []


@pytest.mark.parametrize("flag", ["no", "False", 1])
def test_only_true_allows_the_network(flag: Any, connections: list[Any]) -> None:
    with pytest.raises(UnsafeQueryError):
        npc_kg.query("SELECT * WHERE { SERVICE <http://127.0.0.1:9/sparql> { ?s ?p ?o } }", allow_network=flag)
    assert connections == []
