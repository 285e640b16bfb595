"""The backend interface: one small ABC that rdflib, pyoxigraph and remote endpoints implement."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from rdflib import Graph
from rdflib.term import Node

import npc_kg.rdfio  # noqa: F401 - installs the filter that keeps literal values out of rdflib's log
from npc_kg.errors import QueryError
from npc_kg.sparql.safety import ParsedQuery, check_safe, checked

__all__ = ["Backend", "GraphSource", "Solutions"]

GraphSource = Graph | str | Path | Iterable[str | Path]
"""A graph, or one or more RDF files (format from the extension, parsed with npc_kg.rdfio)."""


@dataclass
class Solutions:
    """The answer to a SELECT query: variable names and one tuple of terms (or None) per row."""

    variables: list[str]
    rows: list[tuple[Node | None, ...]] = field(default_factory=list)


class Backend(ABC):
    """A SPARQL store. Bindings are RDF terms keyed by variable name (without ``?``)."""

    name: str = "backend"
    allow_network: bool = False
    query_timeout: float | str | None = "default"
    """Seconds a local query may run before it is stopped (:mod:`npc_kg.sparql.bounded`); ``"default"``:
    the limit in force (``--timeout``, ``NPC_KG_QUERY_TIMEOUT``, 60 s); None: no limit."""

    def _timeout(self) -> float | None:
        if self.query_timeout == "default":
            from npc_kg.sparql.bounded import default_timeout

            return default_timeout()
        return self.query_timeout  # type: ignore[return-value]

    @abstractmethod
    def load(self, data: GraphSource, graph_iri: str | None = None) -> int:
        """Add triples to the store (to ``graph_iri`` where the backend keeps named graphs); return how many."""

    @abstractmethod
    def select(self, query: str, bindings: Mapping[str, Node] | None = None) -> Solutions:
        """Run a SELECT query with ``bindings`` bound (never formatted into the text)."""

    @abstractmethod
    def ask(self, query: str, bindings: Mapping[str, Node] | None = None) -> bool:
        """Run an ASK query."""

    @abstractmethod
    def update(self, update: str) -> None:
        """Run a SPARQL update."""

    def graphs(self) -> set[str]:
        """IRIs of the named graphs the store holds (FROM may name these without network)."""
        return set()

    def _known_graphs(self, parsed: ParsedQuery) -> set[str]:
        """Graphs that FROM / FROM NAMED may name without reaching the network."""
        return self.graphs()

    def _parse(self, query: str) -> ParsedQuery:
        """The parse the checks read (a remembered verdict will do unless the backend runs rdflib's prepared form)."""
        return checked(query)

    def _checked(self, query: str, kinds: tuple[str, ...]) -> ParsedQuery:
        """Parse ``query``, check it is one of ``kinds`` and safe (no SERVICE, LOAD or remote FROM unless allowed)."""
        parsed = self._parse(query)
        if parsed.kind not in kinds:
            raise QueryError(f"expected a {' or '.join(k.upper() for k in kinds)} query, got {parsed.kind.upper()}")
        known = self._known_graphs(parsed) if parsed.dataset else set()  # only FROM needs them
        check_safe(parsed, allow_network=self.allow_network, known_graphs=known)
        return parsed

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release resources."""

    def __enter__(self) -> Backend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def as_graph(data: GraphSource) -> Graph:
    """Return ``data`` as an rdflib Graph, parsing files with the safe parser."""
    from npc_kg.rdfio import parse_file

    if isinstance(data, Graph):
        return data
    paths = [data] if isinstance(data, (str, Path)) else list(data)
    graph = Graph()
    for path in paths:
        parse_file(path, graph=graph)
    return graph
