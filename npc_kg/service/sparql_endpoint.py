"""A read-only SPARQL 1.1 Protocol endpoint over the knowledge graph (never patient data).

``GET /sparql?query=...``, ``POST`` with a form (``query=...``) or with an
``application/sparql-query`` body. Results by ``Accept``: SPARQL JSON (default), XML, CSV, TSV;
CONSTRUCT and DESCRIBE give Turtle (default), N-Triples or RDF/XML. Every query is parsed and
checked by :mod:`npc_kg.sparql.safety` before it runs: updates, ``LOAD``, ``SERVICE`` and
``FROM`` of graphs the store does not hold are refused. The store is a pyoxigraph store holding
the knowledge graph only (:class:`npc_kg.sparql.backends.oxigraph_backend.OxigraphBackend`).

A query over the size limit (``NPC_KG_MAX_QUERY_BYTES``, ``serve --max-query-size``; 16 KiB) is
refused with 413 before it is parsed; the parse, the check and the evaluation run together in a
process forked for the query and stopped at the timeout (:func:`npc_kg.sparql.bounded.run_bounded`),
so no query holds this process's parser lock while other requests wait. Without ``os.fork``
(Windows) they run in this process, without that protection. The service caps how many queries
run at once (``ServiceConfig.max_sparql_queries``, :mod:`npc_kg.service.app`).
"""

from __future__ import annotations

import importlib
import threading
from dataclasses import dataclass

import pyoxigraph as ox

from npc_kg.errors import QueryError, QueryTimeoutError, UnsafeQueryError
from npc_kg.limits import current
from npc_kg.sparql.bounded import default_timeout, run_bounded
from npc_kg.sparql.safety import check_safe, parse

__all__ = ["RESULT_TYPES", "RdfAnswer", "SparqlRefused", "answer", "negotiate", "query_size", "store"]

RESULT_TYPES = {
    "application/sparql-results+json": ox.QueryResultsFormat.JSON,
    "application/json": ox.QueryResultsFormat.JSON,
    "application/sparql-results+xml": ox.QueryResultsFormat.XML,
    "application/xml": ox.QueryResultsFormat.XML,
    "text/csv": ox.QueryResultsFormat.CSV,
    "text/tab-separated-values": ox.QueryResultsFormat.TSV,
}
GRAPH_TYPES = {
    "text/turtle": ox.RdfFormat.TURTLE,
    "application/n-triples": ox.RdfFormat.N_TRIPLES,
    "application/rdf+xml": ox.RdfFormat.RDF_XML,
}
_CANONICAL = {ox.QueryResultsFormat.JSON: "application/sparql-results+json",
              ox.QueryResultsFormat.XML: "application/sparql-results+xml"}

_LOCK = threading.Lock()
_STORE: list[ox.Store] = []


class SparqlRefused(QueryError):
    """A request the endpoint refuses; ``status`` is the HTTP status (400, 403, 406, 413, 503)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status

    def __reduce__(self) -> tuple[type[SparqlRefused], tuple[int, str]]:  # raised in a bounded query's child process
        return (SparqlRefused, (self.status, str(self)))


@dataclass(frozen=True)
class RdfAnswer:
    """A serialized answer and its media type."""

    body: bytes
    media_type: str


def store() -> ox.Store:
    """The endpoint's store: the knowledge graph only (loaded once)."""
    with _LOCK:
        if not _STORE:
            from npc_kg.sparql.backends.oxigraph_backend import OxigraphBackend

            _STORE.append(OxigraphBackend().store)
            for module in ("rdflib.plugins.sparql.parser", "rdflib.plugins.sparql.algebra"):
                importlib.import_module(module)  # imported here, once, not in each query's process
        return _STORE[0]


def _accepted(accept: str) -> list[str]:
    """Media types of an Accept header, best first (q-values honoured, ties in header order)."""
    items = []
    for i, part in enumerate(accept.split(",")):
        fields = [f.strip() for f in part.split(";")]
        q = 1.0
        for param in fields[1:]:
            if param.startswith("q="):
                try:
                    q = float(param[2:])
                except ValueError:
                    q = 0.0
        if fields[0] and q > 0:
            items.append((-q, i, fields[0].lower()))
    return [m for _q, _i, m in sorted(items)]


def negotiate(accept: str | None, graph: bool) -> str:
    """The media type to answer with for ``accept`` (406 if none of the asked types is offered)."""
    offered = list(GRAPH_TYPES if graph else RESULT_TYPES)
    wanted = _accepted(accept or "*/*") or ["*/*"]
    for media in wanted:
        if media in offered:
            return media
        if media in ("*/*", "application/*", "text/*"):
            return offered[0] if media != "text/*" else next((m for m in offered if m.startswith("text/")), offered[0])
    raise SparqlRefused(406, f"none of the requested types is offered; use one of {', '.join(offered)}")


def query_size(query: str) -> int:
    """Bytes of ``query`` in UTF-8 (what :func:`answer` compares with the size limit)."""
    return len(query.encode("utf-8", "surrogatepass"))


def _checked(query: str, accept: str | None) -> str:
    """Parse and check ``query`` (rdflib's parser, :mod:`npc_kg.sparql.safety`); the media type to answer with."""
    try:
        parsed = parse(query)
    except QueryError as error:
        raise SparqlRefused(400, str(error)) from None
    if parsed.kind == "update":
        raise SparqlRefused(403, "SPARQL updates are refused: this endpoint is read-only")
    try:
        check_safe(parsed)
    except UnsafeQueryError as error:
        raise SparqlRefused(403, str(error).split(" is refused")[0] + " is refused: this endpoint never reaches the network"
                            " and holds only the knowledge graph") from None
    return negotiate(accept, parsed.kind in ("construct", "describe"))


def answer(query: str, accept: str | None, timeout: float | None = None, max_bytes: int | None = None) -> RdfAnswer:
    """Check and run ``query`` on the knowledge graph; serialize the answer for ``accept``.

    A query of more than ``max_bytes`` bytes (UTF-8; default: the limit in force,
    ``NPC_KG_MAX_QUERY_BYTES``, :mod:`npc_kg.limits`) is refused with status 413 before anything
    else. The rest (the parse and safety check, then the evaluation) runs in a forked process that
    is stopped after ``timeout`` seconds (default: the query limit in force), status 503: rdflib's
    parser takes milliseconds per ``FILTER`` and holds a process-wide lock, so a long parse in this
    process would hold up every other query and report. Raises :class:`SparqlRefused`.
    """
    limit = current().max_query_bytes if max_bytes is None else max_bytes
    size = query_size(query)
    if size > limit:
        raise SparqlRefused(413, f"the query is {size} bytes, over this endpoint's limit of {limit} bytes: send a "
                                 "shorter query (one VALUES block instead of many FILTERs, or several smaller queries)")
    graph_store = store()  # loaded here, once: the query's process inherits it

    def evaluate() -> tuple[bytes, str]:
        media = _checked(query, accept)
        # pyoxigraph's result iterators must be dropped on the thread that made them (npc_kg.sparql.native):
        # serialize, then drop here, also when the query or its serialization fails (an error's traceback
        # would keep this frame, and the iterator in it).
        result: object = None
        try:
            result = graph_store.query(query)
            if isinstance(result, ox.QueryTriples):
                data, media_type = result.serialize(format=GRAPH_TYPES[media]), media
            else:
                fmt = RESULT_TYPES[media]
                data, media_type = result.serialize(format=fmt), _CANONICAL.get(fmt, media)
        except SyntaxError as error:
            raise SparqlRefused(400, f"SPARQL syntax error: {error}") from None
        except (OSError, RuntimeError, ValueError) as error:  # evaluation errors, also those met while reading
            raise SparqlRefused(400, f"query failed: {error}") from None
        finally:
            del result
        return data or b"", media_type

    try:
        data, media_type = run_bounded(evaluate, default_timeout() if timeout is None else timeout, what="the query")
    except QueryTimeoutError as error:
        raise SparqlRefused(503, str(error)) from None
    return RdfAnswer(data, media_type)
