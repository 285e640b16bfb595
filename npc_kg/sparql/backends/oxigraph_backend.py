"""Embedded pyoxigraph backend: an in-memory ``Store`` bulk-loaded from the merged graph (or a store the caller gives).

Parameters are bound with pyoxigraph's ``substitutions`` (RDF-dev SEP-0007), which only takes
variables of the SELECT projection (npc-kg's named queries project their parameters); any other
bound variable goes in an escaped ``VALUES`` block, as for a remote endpoint. Everything is
loaded into the default graph (``graph_iri`` is ignored). ``select(..., default_graph=[...])``
runs a query over the union of the given graphs (named graph IRIs; None for the default graph).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pyoxigraph as ox
from rdflib import Graph
from rdflib.term import Node

from npc_kg.errors import QueryError
from npc_kg.kg.load import kg_ntriples
from npc_kg.rdfio import withhold_input
from npc_kg.sparql.backends.base import Backend, GraphSource, Solutions, as_graph
from npc_kg.sparql.bounded import run_bounded
from npc_kg.sparql.native import solutions
from npc_kg.sparql.terms import from_oxigraph, inject_values, to_oxigraph

__all__ = ["OxigraphBackend", "from_oxigraph", "to_oxigraph"]  # the conversions live in npc_kg.sparql.terms


class OxigraphBackend(Backend):
    """pyoxigraph in-memory store, loaded with the merged graph unless ``include_kg=False`` or a ``store`` is given.

    The merged graph is that of the configuration of ``packs`` (None: the active configuration,
    :func:`npc_kg.kg.packs.using_packs`).
    """

    name = "oxigraph"

    def __init__(self, *, allow_network: bool = False, include_kg: bool = True, store: ox.Store | None = None,
                 packs: Any = None, timeout: float | str | None = "default") -> None:
        self.allow_network = allow_network
        self.query_timeout = timeout
        self._store = store if store is not None else ox.Store()
        if include_kg and store is None:
            self._store.bulk_load(kg_ntriples(packs), format=ox.RdfFormat.N_TRIPLES)

    @property
    def store(self) -> ox.Store:
        """The pyoxigraph store."""
        return self._store

    def load(self, data: GraphSource, graph_iri: str | None = None) -> int:
        graph: Graph = as_graph(data)
        before = len(self._store)
        self._store.load(graph.serialize(format="nt", encoding="utf-8"), format=ox.RdfFormat.N_TRIPLES)
        return len(self._store) - before

    def _query(self, query: str, bindings: Mapping[str, Node] | None, projected: list[str],  # type: ignore[no-untyped-def]
               default_graph: Sequence[str | None] | None = None, *, rows: bool = False):
        """The query's result; with ``rows``, a SELECT's (variables, rows of pyoxigraph terms), read to the end
        here (:func:`npc_kg.sparql.native.solutions`: no result iterator outlives the call)."""
        bound = dict(bindings or {})
        substitutions: dict[ox.Variable, ox.NamedNode | ox.BlankNode | ox.Literal | ox.Triple] = {
            ox.Variable(name): to_oxigraph(term) for name, term in bound.items() if name in projected
        }
        # SEP-0007 substitution only takes projected variables; bind the others with VALUES.
        query = inject_values(query, {name: term for name, term in bound.items() if name not in projected})
        try:
            graphs: list[ox.NamedNode | ox.BlankNode | ox.DefaultGraph] | None = None if default_graph is None else [
                ox.DefaultGraph() if g is None else ox.NamedNode(g) for g in default_graph]
            if rows:
                return solutions(self._store, query, substitutions=substitutions or None, default_graph=graphs)
            return self._store.query(query, substitutions=substitutions or None, default_graph=graphs)
        except SyntaxError as error:
            raise QueryError(f"SPARQL syntax error (oxigraph): {error}") from None
        except (OSError, RuntimeError, ValueError) as error:
            raise QueryError(f"query failed (oxigraph): {withhold_input(str(error))}") from None

    def select(self, query: str, bindings: Mapping[str, Node] | None = None, *,
               default_graph: Sequence[str | None] | None = None) -> Solutions:
        """Run a SELECT; with ``default_graph``, over the union of those named graphs."""
        parsed = self._checked(query, ("select",))

        def evaluate() -> Solutions:
            variables, rows = self._query(query, bindings, parsed.variables, default_graph, rows=True)
            return Solutions(variables, [tuple(from_oxigraph(term) for term in row) for row in rows])

        return self._bounded(evaluate)

    def _bounded(self, evaluate: Any) -> Any:
        try:
            return run_bounded(evaluate, self._timeout(), what="the query (pyoxigraph)")
        except (OSError, RuntimeError, ValueError) as error:  # raised while the rows are read
            raise QueryError(f"query failed (oxigraph): {withhold_input(str(error))}") from None

    def select_native(self, query: str, bindings: Mapping[str, Node] | None = None) -> tuple[list[str], list[tuple[Any, ...]]]:
        """:meth:`select` with the result terms left as pyoxigraph terms (no conversion), for callers
        that read many rows; the same safety check."""
        parsed = self._checked(query, ("select",))

        def evaluate() -> tuple[list[str], list[tuple[Any, ...]]]:
            return self._query(query, bindings, parsed.variables, rows=True)  # type: ignore[no-any-return]

        return self._bounded(evaluate)  # type: ignore[no-any-return]

    def ask(self, query: str, bindings: Mapping[str, Node] | None = None) -> bool:
        self._checked(query, ("ask",))
        return bool(self._bounded(lambda: bool(self._query(query, bindings, []))))

    def update(self, update: str) -> None:
        self._checked(update, ("update",))
        try:
            self._store.update(update)
        except SyntaxError as error:
            raise QueryError(f"SPARQL syntax error (oxigraph): {error}") from None
        except (OSError, RuntimeError, ValueError) as error:
            raise QueryError(f"update failed (oxigraph): {error}") from None

    def graphs(self) -> set[str]:
        return {graph.value for graph in self._store.named_graphs() if isinstance(graph, ox.NamedNode)}
