"""``npc_kg.query``: run a named query, a ``.rq`` file or SPARQL text on any backend, safely.

::

    rows = npc_kg.query("sources")
    rows = npc_kg.query("criteria-for-treatment", treatment="https://example.org/t", packs=["my-pack/"])
    frame = npc_kg.query("evidence-figures", outcome="npc:OverallSurvival", as_dataframe=True)
    rows = npc_kg.query("sources", endpoint="http://127.0.0.1:7878/query")

Parameters are declared in the query's ``# params:`` header and bound as RDF terms, never
formatted into the query text. The embedded backends hold the merged graph of a configuration
(``packs``: criteria packs loaded beside the package's; see :mod:`npc_kg.kg.packs`). ``SERVICE``,
``LOAD`` and remote ``FROM`` are refused unless ``allow_network=True``. Updates are refused here; see :func:`update`.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rdflib.term import Node

from npc_kg.errors import QueryError, UnsafeQueryError
from npc_kg.kg.packs import PackInput, pack_key, resolve_packs, using_packs
from npc_kg.limits import seconds
from npc_kg.sparql.backends import Backend, make_backend
from npc_kg.sparql.catalog import NamedQuery, resolve
from npc_kg.sparql.params import to_term
from npc_kg.sparql.results import Row, to_dataframe, to_rows
from npc_kg.sparql.safety import ParsedQuery, parse
from npc_kg.suggest import did_you_mean

__all__ = ["QueryResult", "bind_params", "query", "run_query", "update"]

_CACHE_LOCK = threading.Lock()
_EMBEDDED: dict[tuple[str, bool, tuple[str, ...]], Backend] = {}


@dataclass
class QueryResult:
    """Variables and rows of a SELECT, or the answer of an ASK (``boolean``)."""

    variables: list[str] = field(default_factory=list)
    rows: list[Row] = field(default_factory=list)
    boolean: bool | None = None


def _parsed(named: NamedQuery) -> ParsedQuery:
    """Parse ``named``; a syntax error in a query file names the file."""
    try:
        return parse(named.text)
    except QueryError as error:
        if named.path is None or type(error) is not QueryError:
            raise
        raise QueryError(f"{named.path}: {error}") from None


def bind_params(named: NamedQuery, params: Mapping[str, Any]) -> dict[str, Node]:
    """Check ``params`` against the query's ``# params:`` header and convert them to RDF terms.

    Undeclared parameters and missing required ones raise :class:`QueryError`; declared
    defaults fill in the rest. ``None`` leaves an optional parameter unbound.
    """
    declared = {spec.name for spec in named.params}
    undeclared = sorted(set(params) - declared)
    if undeclared:
        accepted = ", ".join(sorted(declared)) or "none"
        hints = "; ".join(f"{name!r}: {hint}" for name in undeclared if (hint := did_you_mean(name, declared)))
        raise QueryError(f"query {named.name!r} does not declare parameter(s) {', '.join(undeclared)}"
                         f"{'; ' + hints if hints else ''} (declared: {accepted})")
    bindings: dict[str, Node] = {}
    for spec in named.params:
        value = params.get(spec.name)
        if value is None:
            if spec.default is not None:
                bindings[spec.name] = to_term(spec, spec.default)
            elif spec.required:
                raise QueryError(f"query {named.name!r} needs parameter {spec.name!r} ({spec.describe()})")
            continue
        bindings[spec.name] = to_term(spec, value)
    return bindings


def _backend(backend: str | Backend | None, endpoint: str | None, allow_network: bool, options: Mapping[str, Any]) -> Backend:
    allow_network = allow_network is True  # the literal True only: "no" or 1 must not open the network
    if isinstance(backend, Backend):
        if options:
            raise QueryError(f"{', '.join(f'{key}=' for key in sorted(options))} configures the backend npc-kg makes; "
                             "a Backend instance comes with its own (give them when you build it)")
        return backend
    if endpoint or backend == "remote":
        return make_backend("remote", endpoint=endpoint, allow_network=allow_network, **options)
    unused = sorted(set(options) - {"timeout"})
    if unused:
        named = ", ".join(f"{key}= (CLI --{key.replace('_', '-')})" for key in unused)
        raise QueryError(f"{named} applies to a SPARQL endpoint: give endpoint= (CLI --endpoint), or drop it")
    name = backend or "rdflib"
    key = (name, allow_network, pack_key(resolve_packs(None)))  # one embedded store per configuration
    with _CACHE_LOCK:
        cached = _EMBEDDED.get(key)
        if cached is None:
            cached = _EMBEDDED[key] = make_backend(name, allow_network=allow_network)
    if "timeout" not in options:
        return cached
    timed = copy.copy(cached)  # the same store, this call's time limit (0: none)
    timed.query_timeout = options["timeout"] or None
    return timed


def run_query(
    name_or_sparql: str | Path,
    *,
    backend: str | Backend | None = None,
    endpoint: str | None = None,
    allow_network: bool = False,
    params: Mapping[str, Any] | None = None,
    remote_options: Mapping[str, Any] | None = None,
    packs: Iterable[PackInput] | None = None,
) -> QueryResult:
    """Run a SELECT or ASK query and return a :class:`QueryResult` (what ``npc-kg query`` prints).

    An embedded backend holds the merged graph of the configuration of ``packs`` (None: the active one).
    """
    with using_packs(packs):
        return _run_query(name_or_sparql, backend, endpoint, allow_network, params, remote_options)


def _run_query(name_or_sparql: str | Path, backend: str | Backend | None, endpoint: str | None, allow_network: bool,
               params: Mapping[str, Any] | None, remote_options: Mapping[str, Any] | None) -> QueryResult:
    named = resolve(name_or_sparql)
    bindings = bind_params(named, params or {})
    parsed = _parsed(named)
    if parsed.kind == "update":
        raise UnsafeQueryError(
            "SPARQL updates are refused by query(); use 'from npc_kg.kg.query import update' (CLI: npc-kg query --update)"
        )
    if parsed.kind not in ("select", "ask"):
        raise QueryError(f"{parsed.kind.upper()} queries are not supported; write a SELECT or ASK query")
    store = _backend(backend, endpoint, allow_network, remote_options or {})
    if parsed.kind == "ask":
        return QueryResult(boolean=store.ask(named.text, bindings))
    solutions = store.select(named.text, bindings)
    return QueryResult(variables=solutions.variables, rows=to_rows(solutions.variables, solutions.rows))


def query(
    name_or_sparql: str | Path,
    *,
    backend: str | Backend | None = None,
    endpoint: str | None = None,
    as_dataframe: bool = False,
    allow_network: bool = False,
    timeout: float | None = None,
    graph: str | None = None,
    packs: Iterable[PackInput] | None = None,
    **params: Any,
) -> Any:
    """Run a named query (``queries/<name>.rq``), a ``.rq`` file or SPARQL text; return typed rows.

    Returns ``list[dict[str, value]]`` (values are ``int``, ``Decimal``, ``float``, ``bool``,
    ``str``, ``date``; IRIs as ``str``; ``None`` when unbound), a pandas DataFrame when
    ``as_dataframe=True`` (numeric columns as ``int64``/``Int64`` or ``float64``, never ``Decimal``),
    or a ``bool`` for an ASK query.

    ``backend`` is ``"rdflib"`` (default), ``"oxigraph"``, a :class:`Backend` instance, or
    implied ``"remote"`` by ``endpoint`` (a SPARQL 1.1 query URL; ``timeout`` seconds, default
    10; ``graph`` the named graph to query, default :data:`npc_kg.namespace.DEFAULT_GRAPH_IRI`;
    ``graph`` without ``endpoint`` is refused). On an embedded backend ``timeout`` limits the
    query (default: the limit in force, 60 s; 0: none).
    ``params`` are the query's declared parameters; CURIEs are expanded with the project prefixes.
    ``packs`` are criteria-pack folders whose files join the embedded backends' graph (``docs/packs.md``).
    """
    if timeout is not None:
        seconds(timeout, "timeout=", error=QueryError)
    options: dict[str, Any] = {}
    if timeout is not None:
        options["timeout"] = timeout
    if graph is not None:
        options["graph"] = graph
    result = run_query(
        name_or_sparql, backend=backend, endpoint=endpoint, allow_network=allow_network, params=params, remote_options=options,
        packs=packs,
    )
    if result.boolean is not None:
        return result.boolean
    if as_dataframe:
        from npc_kg.extras import require

        require("pandas", "pandas", "as_dataframe=True")
        return to_dataframe(result.rows, result.variables)
    return result.rows


def update(
    sparql: str | Path,
    *,
    backend: str | Backend | None = None,
    endpoint: str | None = None,
    allow_network: bool = False,
    remote_options: Mapping[str, Any] | None = None,
) -> None:
    """Run a SPARQL update (text or ``.rq`` file) on ``backend`` or a remote ``endpoint``.

    An update on a fresh embedded store would be lost when the process ends, so without a
    :class:`Backend` instance an ``endpoint`` is required. ``LOAD`` and ``SERVICE`` are refused
    unless ``allow_network=True``.
    """
    named = resolve(sparql)
    parsed = _parsed(named)
    if parsed.kind != "update":
        raise QueryError(f"expected a SPARQL update, got a {parsed.kind.upper()} query")
    if isinstance(backend, Backend):
        backend.update(named.text)
        return
    if not endpoint:
        raise QueryError("an update needs a store that keeps it: give an endpoint (CLI --endpoint)")
    store = make_backend("remote", endpoint=endpoint, allow_network=allow_network, **dict(remote_options or {}))
    store.update(named.text)

