"""Parse SPARQL with rdflib and refuse what could send data off the machine.

Every query is parsed into rdflib's algebra before any backend sees it; the checks walk the
algebra, so comments and string literals that merely *mention* ``SERVICE`` cannot fool them:

- ``SERVICE`` (anywhere, also inside ``FILTER EXISTS``) is refused;
- the ``LOAD`` update is refused;
- ``FROM`` / ``FROM NAMED`` is refused unless it names a graph the store already holds;
- unless the caller passes ``allow_network=True``.

For rdflib this module also installs a ``CUSTOM_EVALS`` hook that raises on
``ServiceGraphPattern`` and sets ``SPARQL_LOAD_GRAPHS = False`` (belt and braces: rdflib would
otherwise execute ``SERVICE`` and fetch ``FROM`` graphs from the web).

The verdict on a query of the package (its named queries, the compiled shapes) may be
remembered across processes (:func:`remember`, fed from the user cache): the same text always
gets the same verdict, and :func:`checked` then returns it without parsing, so a fresh process
need not load rdflib's SPARQL parser to run them. rdflib's SPARQL machinery is imported on first
use.
"""

from __future__ import annotations

import contextvars
import copy
import os
import sys
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from npc_kg.errors import QueryError, UnsafeQueryError

if TYPE_CHECKING:
    from pyparsing import ParseException
    from rdflib.plugins.sparql.parserutils import CompValue
    from rdflib.plugins.sparql.sparql import Query, Update

__all__ = ["ParsedQuery", "allow_service", "check_safe", "checked", "install_rdflib_guards", "parse", "remember", "verdict"]

_QUERY_KINDS = {
    "SelectQuery": "select",
    "AskQuery": "ask",
    "ConstructQuery": "construct",
    "DescribeQuery": "describe",
}

_SERVICE_ALLOWED: contextvars.ContextVar[bool] = contextvars.ContextVar("npc_kg_service_allowed", default=False)


@dataclass
class ParsedQuery:
    """A parsed query or update with what the safety checks need."""

    text: str
    kind: str
    """``select``, ``ask``, ``construct``, ``describe`` or ``update``."""
    variables: list[str] = field(default_factory=list)
    services: list[str] = field(default_factory=list)
    loads: list[str] = field(default_factory=list)
    dataset: list[str] = field(default_factory=list)
    """IRIs named by ``FROM`` / ``FROM NAMED`` (or ``USING`` in updates)."""
    prepared: Query | Update | None = None


def _walk(node: Any) -> Iterator[CompValue]:
    from rdflib.plugins.sparql.parserutils import CompValue

    stack = [node]
    seen: set[int] = set()
    while stack:
        item = stack.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, CompValue):
            yield item
            stack.extend(item.values())
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, (list, tuple, set)):
            stack.extend(item)


def _position(text: str, error: ParseException) -> str:
    line = getattr(error, "lineno", None)
    column = getattr(error, "col", None)
    where = f"line {line}, column {column}" if line is not None else "unknown position"
    source_line = text.splitlines()[line - 1] if line and 0 < line <= len(text.splitlines()) else ""
    snippet = f": {source_line.strip()[:80]!r}" if source_line.strip() else ""
    return f"{where}{snippet}"


def parse(text: str) -> ParsedQuery:
    """Parse ``text`` as a SPARQL query, or else as an update; raise QueryError with the position.

    The parse of a text is cached (a run sends the same compiled queries batch after batch), and
    parses are serialised: rdflib's parser (pyparsing) is not thread-safe. A forked child process
    (:func:`npc_kg.sparql.bounded.run_bounded`) starts with the lock free: the parent's thread that
    may have held it when the process forked does not exist there. rdflib's parser
    recurses once per nesting level; a deeply nested query (compiled from a large shapes graph)
    that exceeds Python's recursion limit is parsed again with a higher limit.
    """
    with _PARSING:
        try:
            return copy.copy(_parse(text))
        except RecursionError:
            limit = sys.getrecursionlimit()
            sys.setrecursionlimit(max(limit, _DEEP))
            try:
                return copy.copy(_parse(text))
            except RecursionError:
                raise QueryError("the query is nested too deeply to be checked") from None
            finally:
                sys.setrecursionlimit(limit)


_PARSING = threading.Lock()
_DEEP = 20_000


def _free_parsing_lock() -> None:
    """In a forked child: a new lock (the one copied from the parent may be held by a thread that is gone)."""
    global _PARSING
    _PARSING = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_free_parsing_lock)
_KNOWN: dict[str, ParsedQuery] = {}


def verdict(parsed: ParsedQuery) -> ParsedQuery:
    """What the checks need of a parsed query (no rdflib objects: it pickles)."""
    return ParsedQuery(text=parsed.text, kind=parsed.kind, variables=list(parsed.variables),
                       services=list(parsed.services), loads=list(parsed.loads), dataset=list(parsed.dataset))


def remember(parsed: ParsedQuery) -> None:
    """Remember the check of a query of the package, so that :func:`checked` returns it without parsing."""
    _KNOWN[parsed.text] = verdict(parsed)


def checked(text: str) -> ParsedQuery:
    """What the checks need of ``text``: a remembered verdict (:func:`remember`), else :func:`parse`.

    For callers that only check a query (its kind, variables, SERVICE, LOAD, FROM) and do not
    need rdflib's prepared form.
    """
    known = _KNOWN.get(text)
    return copy.copy(known) if known is not None else parse(text)


@lru_cache(maxsize=512)
def _parse(text: str) -> ParsedQuery:
    from pyparsing import ParseException
    from rdflib.plugins.sparql.algebra import translateQuery, translateUpdate
    from rdflib.plugins.sparql.parser import parseQuery, parseUpdate

    try:
        query = translateQuery(parseQuery(text))
    except ParseException as query_error:
        try:
            update = translateUpdate(parseUpdate(text))
        except ParseException:
            raise QueryError(f"SPARQL syntax error at {_position(text, query_error)}") from None
        except Exception as error:  # rdflib raises assorted types while translating
            raise QueryError(f"invalid SPARQL update: {error}") from None
        if not getattr(update, "algebra", None):  # only comments and prologue: the update grammar accepts it
            raise QueryError("empty query: the text holds no SPARQL query or update, only comments or prefixes") from None
        return _describe_update(text, update)
    except RecursionError:
        raise
    except Exception as error:
        raise QueryError(f"invalid SPARQL query: {error}") from None
    algebra = query.algebra
    kind = _QUERY_KINDS.get(algebra.name, algebra.name)
    parsed = ParsedQuery(text=text, kind=kind, prepared=query)
    parsed.variables = [str(v) for v in dict.get(algebra, "PV") or []]
    for clause in dict.get(algebra, "datasetClause") or []:
        iri = dict.get(clause, "default") or dict.get(clause, "named")
        if iri is not None:
            parsed.dataset.append(str(iri))
    parsed.services = [_term_text(dict.get(node, "term")) for node in _walk(algebra) if node.name == "ServiceGraphPattern"]
    return parsed


def _describe_update(text: str, update: Update) -> ParsedQuery:
    parsed = ParsedQuery(text=text, kind="update", prepared=update)
    for operation in update.algebra:
        if operation.name == "Load":
            parsed.loads.append(str(dict.get(operation, "iri")))
        for clause in dict.get(operation, "using") or []:
            iri = dict.get(clause, "default") or dict.get(clause, "named")
            if iri is not None:
                parsed.dataset.append(str(iri))
        parsed.services.extend(_term_text(dict.get(node, "term")) for node in _walk(operation)
                               if node.name == "ServiceGraphPattern")
    return parsed


def _term_text(term: Any) -> str:
    """A SERVICE's IRI, or ``?name`` for a variable (which names an endpoint only when the query runs)."""
    from rdflib import Variable

    return f"?{term}" if isinstance(term, Variable) else str(term)


def _service_term(text: str) -> str:
    return text if text.startswith("?") else f"<{text}>"


def check_safe(parsed: ParsedQuery, *, allow_network: bool = False, known_graphs: Iterable[str] = ()) -> None:
    """Raise UnsafeQueryError if ``parsed`` would reach the network and ``allow_network`` is not True."""
    if allow_network is True:  # the literal True only: "no", "False" or 1 must not open the network
        return
    hint = "patient data must not leave the machine; pass allow_network=True (CLI --allow-network) to permit it"
    if parsed.services:
        raise UnsafeQueryError(f"SPARQL SERVICE {_service_term(parsed.services[0])} is refused: {hint}")
    if parsed.loads:
        raise UnsafeQueryError(f"SPARQL LOAD <{parsed.loads[0]}> is refused: {hint}")
    known = set(known_graphs)
    remote = [iri for iri in parsed.dataset if iri not in known]
    if remote:
        raise UnsafeQueryError(f"FROM <{remote[0]}> (a graph this store does not hold: it would be fetched) is refused: {hint}")


class allow_service:
    """Context manager that lets the rdflib ``SERVICE`` hook pass (only with ``allow_network=True``)."""

    def __init__(self, allowed: bool) -> None:
        self._allowed = allowed is True
        self._token: contextvars.Token[bool] | None = None

    def __enter__(self) -> None:
        self._token = _SERVICE_ALLOWED.set(self._allowed)

    def __exit__(self, *exc: object) -> None:
        if self._token is not None:
            _SERVICE_ALLOWED.reset(self._token)


def _refuse_service(ctx: Any, part: CompValue) -> Any:
    if part.name == "ServiceGraphPattern" and not _SERVICE_ALLOWED.get():
        raise UnsafeQueryError(f"SPARQL SERVICE {_service_term(_term_text(dict.get(part, 'term')))} is refused: "
                               "patient data must not leave the machine")
    raise NotImplementedError  # let rdflib evaluate everything else


def install_rdflib_guards() -> None:
    """Install the rdflib SERVICE hook and switch off loading of FROM graphs (idempotent)."""
    import rdflib.plugins.sparql as rdflib_sparql

    rdflib_sparql.CUSTOM_EVALS["npc_kg_refuse_service"] = _refuse_service
    rdflib_sparql.SPARQL_LOAD_GRAPHS = False

