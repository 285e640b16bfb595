"""Remote SPARQL 1.1 endpoint (Oxigraph server, Virtuoso, ...) over HTTP with urllib.

- Queries: SPARQL 1.1 Protocol, ``POST`` form ``query=`` with ``default-graph-uri=<graph>`` (the
  query text is not edited for the dataset), ``Accept: application/sparql-results+json``.
- Parameters: a ``VALUES`` block opening the WHERE group, terms validated and escaped
  (:func:`npc_kg.sparql.terms.inject_values`).
- Loading: Graph Store Protocol (``PUT``/``POST ?graph=`` with N-Triples) when a GSP endpoint is
  configured, else ``INSERT { GRAPH <g> { ... } } WHERE {}`` in batches (blank nodes never split
  across batches; not ``INSERT DATA``, which Virtuoso refuses when it holds blank nodes). A load
  is verified by counting the graph's triples afterwards; a rejected or short load raises
  :class:`EndpointError` saying which graph, how many batches and triples got in.
- Every request has a bounded timeout (default 10 s); unreachable, timed-out and HTTP errors
  raise :class:`EndpointError` (exit code 4). Error messages never echo data that was sent.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.term import Node

from npc_kg.errors import EndpointError, InputError, QueryError
from npc_kg.namespace import DEFAULT_GRAPH_IRI
from npc_kg.sparql.backends.base import Backend, GraphSource, Solutions, as_graph
from npc_kg.sparql.safety import ParsedQuery
from npc_kg.sparql.terms import inject_values, sparql_term

__all__ = ["DEFAULT_GRAPH", "DEFAULT_TIMEOUT", "LoadReport", "RemoteBackend", "batches", "endpoint_hint"]

DEFAULT_GRAPH = DEFAULT_GRAPH_IRI
"""Named graph the remote backend loads into and queries by default."""

DEFAULT_TIMEOUT = 10.0
DEFAULT_BATCH_SIZE = 250
"""Triples per INSERT request: Virtuoso refuses updates that compile to over 10,000 lines of SQL."""

_RESULTS_JSON = "application/sparql-results+json"


@dataclass(frozen=True)
class LoadReport:
    """What a load stored: graph, triples sent, batches, and the graph's triple count afterwards."""

    graph: str
    triples: int
    batches: int
    count: int
    method: str


def _short_error(body: bytes) -> str:
    """First line of a server's error body, without any echoed query or data."""
    text = body.decode("utf-8", errors="replace")
    for marker in ("SPARQL query:", "SPARQL update:", "\n\n"):
        cut = text.find(marker)
        if cut > 0:
            text = text[:cut]
    line = " ".join(text.split())
    return line[:200] or "(no message)"


def batches(graph: Graph, size: int = DEFAULT_BATCH_SIZE) -> Iterator[list[tuple[Node, Node, Node]]]:
    """Split ``graph`` into batches of about ``size`` triples; triples sharing a blank node stay together."""
    parent: dict[Node, Node] = {}

    def find(node: Node) -> Node:
        root = node
        while parent.get(root, root) != root:
            root = parent[root]
        while parent.get(node, node) != root:
            parent[node], node = root, parent[node]
        return root

    triples = list(graph)
    for s, _p, o in triples:
        if isinstance(s, BNode) and isinstance(o, BNode):
            a, b = find(s), find(o)
            if a != b:
                parent[a] = b
    groups: dict[Node, list[tuple[Node, Node, Node]]] = {}
    singles: list[tuple[Node, Node, Node]] = []
    for triple in triples:
        s, _p, o = triple
        node = s if isinstance(s, BNode) else (o if isinstance(o, BNode) else None)
        if node is None:
            singles.append(triple)
        else:
            groups.setdefault(find(node), []).append(triple)
    batch: list[tuple[Node, Node, Node]] = []
    for group in [*groups.values(), *([t] for t in singles)]:
        if batch and len(batch) + len(group) > size:
            yield batch
            batch = []
        batch.extend(group)
    if batch:
        yield batch


class RemoteBackend(Backend):
    """A SPARQL 1.1 endpoint. ``endpoint`` answers queries; updates go to ``update_endpoint``."""

    name = "remote"

    def __init__(
        self,
        endpoint: str,
        *,
        update_endpoint: str | None = None,
        gsp_endpoint: str | None = None,
        graph: str | None = DEFAULT_GRAPH,
        timeout: float = DEFAULT_TIMEOUT,
        allow_network: bool = False,
        batch_size: int = DEFAULT_BATCH_SIZE,
    ) -> None:
        for url in (endpoint, update_endpoint, gsp_endpoint):
            if url is not None and urllib.parse.urlsplit(url).scheme not in ("http", "https"):
                raise InputError(f"endpoint {url!r}: only http:// and https:// URLs are supported")
        if timeout is None or not timeout > 0:  # urllib takes 0 as non-blocking; every request is bounded
            raise InputError(f"the endpoint timeout must be more than 0 seconds, not {timeout!r}")
        self.endpoint = endpoint
        self.update_endpoint = update_endpoint or _default_update_endpoint(endpoint)
        self.gsp_endpoint = gsp_endpoint
        self.graph = graph
        self.timeout = timeout
        self.allow_network = allow_network
        self.batch_size = batch_size

    # -- HTTP -----------------------------------------------------------------------------

    def _request(self, url: str, *, data: bytes, content_type: str, accept: str, method: str = "POST", what: str) -> bytes:
        request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": content_type, "Accept": accept})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return bytes(response.read())
        except urllib.error.HTTPError as error:
            body = error.read() if error.fp is not None else b""
            raise EndpointError(f"{what} at {url}: HTTP {error.code} {error.reason}: {_short_error(body)}"
                                f"{endpoint_hint(url, error.code)}") from None
        except urllib.error.URLError as error:
            reason = error.reason
            if isinstance(reason, TimeoutError):
                raise EndpointError(f"{what} at {url}: timed out after {self.timeout:g} s") from None
            raise EndpointError(f"{what} at {url}: unreachable ({reason})") from None
        except TimeoutError:
            raise EndpointError(f"{what} at {url}: timed out after {self.timeout:g} s") from None
        except OSError as error:
            raise EndpointError(f"{what} at {url}: {error.strerror or error}") from None

    def _form(self, url: str, fields: list[tuple[str, str]], *, accept: str, what: str) -> bytes:
        data = urllib.parse.urlencode(fields).encode("utf-8")
        return self._request(url, data=data, content_type="application/x-www-form-urlencoded", accept=accept, what=what)

    def _dataset_fields(self) -> list[tuple[str, str]]:
        return [("default-graph-uri", self.graph)] if self.graph else []

    def _post_query(self, text: str) -> dict[str, Any]:
        body = self._form(self.endpoint, [("query", text), *self._dataset_fields()], accept=_RESULTS_JSON, what="query")
        try:
            return dict(json.loads(body.decode("utf-8")))
        except (UnicodeDecodeError, json.JSONDecodeError, TypeError, ValueError):
            raise EndpointError(f"query at {self.endpoint}: the answer is not SPARQL results JSON") from None

    # -- Backend ----------------------------------------------------------------------------

    def _known_graphs(self, parsed: ParsedQuery) -> set[str]:
        return set(parsed.dataset)  # the endpoint's own graphs: FROM may name any of them

    def select(self, query: str, bindings: Mapping[str, Node] | None = None) -> Solutions:
        self._checked(query, ("select",))
        answer = self._post_query(inject_values(query, bindings or {}))
        try:
            variables = [str(v) for v in answer["head"]["vars"]]
            rows = [tuple(_term(binding.get(name)) for name in variables) for binding in answer["results"]["bindings"]]
        except (KeyError, TypeError, AttributeError):
            raise EndpointError(f"query at {self.endpoint}: malformed SPARQL results JSON") from None
        return Solutions(variables, rows)

    def ask(self, query: str, bindings: Mapping[str, Node] | None = None) -> bool:
        self._checked(query, ("ask",))
        answer = self._post_query(inject_values(query, bindings or {}))
        if not isinstance(answer.get("boolean"), bool):
            raise EndpointError(f"query at {self.endpoint}: ASK answer has no boolean")
        return bool(answer["boolean"])

    def update(self, update: str) -> None:
        self._checked(update, ("update",))
        self._send_update(update, what="update")

    def _send_update(self, update: str, *, what: str) -> None:
        self._form(self.update_endpoint, [("update", update)], accept="*/*", what=what)

    def count(self, graph: str | None = None) -> int:
        """Number of triples in the named graph ``graph`` (default: this backend's graph)."""
        target = graph or self.graph
        if not target:
            raise QueryError("count needs a named graph")
        text = f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH {sparql_term(URIRef(target))} {{ ?s ?p ?o }} }}"
        answer = self._form(self.endpoint, [("query", text)], accept=_RESULTS_JSON, what="count")
        try:
            bindings = json.loads(answer.decode("utf-8"))["results"]["bindings"]
            return int(bindings[0]["n"]["value"]) if bindings else 0
        except (KeyError, IndexError, TypeError, ValueError):
            raise EndpointError(f"count at {self.endpoint}: malformed SPARQL results JSON") from None

    def load(self, data: GraphSource, graph_iri: str | None = None, *, replace: bool = False) -> int:
        """Add (or with ``replace=True`` replace) the triples of ``data`` in the named graph; return how many were sent."""
        return self.load_report(data, graph_iri, replace=replace).triples

    def load_report(self, data: GraphSource, graph_iri: str | None = None, *, replace: bool = False) -> LoadReport:
        """Load ``data`` into the named graph and verify the triple count; return a :class:`LoadReport`."""
        graph = as_graph(data)
        target = graph_iri or self.graph or DEFAULT_GRAPH
        before = 0 if replace else self.count(target)
        load = self._load_gsp if self.gsp_endpoint else self._load_batches
        report = load(graph, target, replace)
        after = self.count(target)
        expected = before + len(graph)
        if (replace and after != len(graph)) or (not replace and not before <= after <= expected):
            raise EndpointError(
                f"load into graph <{target}> at {self.update_endpoint if not self.gsp_endpoint else self.gsp_endpoint}: "
                f"sent {len(graph)} triples in {report.batches} batch(es) but the graph now holds {after} "
                f"(expected {len(graph) if replace else f'{before}..{expected}'}); the graph is incomplete"
            )
        return LoadReport(target, len(graph), report.batches, after, report.method)

    def _load_gsp(self, graph: Graph, target: str, replace: bool) -> LoadReport:
        assert self.gsp_endpoint is not None
        separator = "&" if "?" in self.gsp_endpoint else "?"
        url = f"{self.gsp_endpoint}{separator}{urllib.parse.urlencode({'graph': target})}"
        data = "".join(f"{sparql_term(s)} {sparql_term(p)} {sparql_term(o)} .\n" for s, p, o in graph).encode("utf-8")
        try:
            self._request(
                url,
                data=data,
                method="PUT" if replace else "POST",
                content_type="application/n-triples",
                accept="*/*",
                what=f"load of {len(graph)} triples into graph <{target}> (Graph Store Protocol)",
            )
        except EndpointError as error:
            raise EndpointError(f"{error}; nothing was confirmed stored in graph <{target}>") from None
        return LoadReport(target, len(graph), 1, 0, "gsp")

    def _load_batches(self, graph: Graph, target: str, replace: bool) -> LoadReport:
        graph_term = sparql_term(URIRef(target))
        if replace:
            try:
                self._send_update(f"DROP SILENT GRAPH {graph_term}", what="clearing the graph")
            except EndpointError as error:
                raise EndpointError(
                    f"load into graph <{target}> rejected before any batch: {error}; 0 of {len(graph)} triples were stored"
                ) from None
        chunks = list(batches(graph, self.batch_size))
        sent = 0
        for number, chunk in enumerate(chunks, start=1):
            body = "\n".join(f"{sparql_term(s)} {sparql_term(p)} {sparql_term(o)} ." for s, p, o in chunk)
            try:
                self._send_update(
                    f"INSERT {{ GRAPH {graph_term} {{\n{body}\n}} }} WHERE {{}}", what=f"load batch {number}/{len(chunks)}"
                )
            except EndpointError as error:
                raise EndpointError(
                    f"load into graph <{target}> rejected at batch {number} of {len(chunks)}: {error}; "
                    f"{number - 1} batch(es) with {sent} of {len(graph)} triples were stored before, "
                    "so the graph is incomplete"
                ) from None
            sent += len(chunk)
        return LoadReport(target, len(graph), len(chunks), 0, "insert")


def endpoint_hint(url: str, status: int) -> str:
    """For a 404/405/400 from a URL that is not a SPARQL service path: "; did you mean .../query?"."""
    if status not in (400, 404, 405):
        return ""
    parts = urllib.parse.urlsplit(url)
    path = parts.path.rstrip("/")
    if path.endswith(("/query", "/sparql", "/update", "/store")):
        return ""
    candidates = [urllib.parse.urlunsplit(parts._replace(path=f"{path}/{name}", query="", fragment=""))
                  for name in ("query", "sparql")]
    return (f"; is this the server's base URL? did you mean {candidates[0]} (Oxigraph) or {candidates[1]} "
            "(Virtuoso, Fuseki ...)?")


def _default_update_endpoint(endpoint: str) -> str:
    """Oxigraph serves queries at ``/query`` and updates at ``/update``; others use one URL."""
    parts = urllib.parse.urlsplit(endpoint)
    if parts.path.endswith("/query"):
        return urllib.parse.urlunsplit(parts._replace(path=parts.path[: -len("query")] + "update"))
    return endpoint


def _term(binding: Any) -> Node | None:
    """Turn one SPARQL results JSON term into an rdflib term (Virtuoso's ``typed-literal`` included)."""
    if binding is None:
        return None
    kind = binding["type"]
    value = binding["value"]
    if kind == "uri":
        return URIRef(value)
    if kind == "bnode":
        return BNode(value)
    if kind in ("literal", "typed-literal"):
        lang = binding.get("xml:lang")
        if lang:
            return Literal(value, lang=lang)
        datatype = binding.get("datatype")
        return Literal(value, datatype=URIRef(datatype) if datatype else None)
    raise EndpointError(f"unknown term type {kind!r} in SPARQL results JSON")
