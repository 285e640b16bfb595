"""The default backend: rdflib over the merged graph (``npc_kg.load()``) of the active configuration."""

from __future__ import annotations

from collections.abc import Mapping

from rdflib import Graph
from rdflib.term import Node, Variable

from npc_kg.errors import QueryError
from npc_kg.rdfio import withhold_input
from npc_kg.sparql.backends.base import Backend, GraphSource, Solutions, as_graph
from npc_kg.sparql.bounded import run_bounded
from npc_kg.sparql.safety import ParsedQuery, allow_service, install_rdflib_guards, parse

__all__ = ["RdflibBackend"]

install_rdflib_guards()


class RdflibBackend(Backend):
    """rdflib store. Starts on the shared merged graph; the first ``load`` switches to a private copy.

    Everything is in one default graph (``graph_iri`` of :meth:`load` is ignored).
    """

    name = "rdflib"

    def __init__(self, graph: Graph | None = None, *, allow_network: bool = False, include_kg: bool = True,
                 packs: object = None, timeout: float | str | None = "default") -> None:
        if graph is None and include_kg:
            from npc_kg.kg.load import load

            graph = load(packs=packs)  # type: ignore[arg-type]
            self._shared = True
        else:
            self._shared = graph is not None
        self._graph = graph if graph is not None else Graph()
        self.allow_network = allow_network
        self.query_timeout = timeout

    def _parse(self, query: str) -> ParsedQuery:
        return parse(query)  # rdflib runs the prepared form

    @property
    def graph(self) -> Graph:
        """The graph queries run over (treat as read-only)."""
        return self._graph

    def _private(self) -> Graph:
        if self._shared:
            copy = Graph()
            for prefix, namespace in self._graph.namespaces():
                copy.bind(prefix, namespace, override=True)
            copy += self._graph
            self._graph, self._shared = copy, False
        return self._graph

    def load(self, data: GraphSource, graph_iri: str | None = None) -> int:
        extra = as_graph(data)
        target = self._private()
        before = len(target)
        target += extra
        return len(target) - before

    def _run(self, parsed: ParsedQuery, bindings: Mapping[str, Node] | None) -> tuple[list[str], list[tuple], bool]:  # type: ignore[type-arg]
        variable = next((term for term in parsed.services if term.startswith("?")), None)
        if variable is not None:  # rdflib would answer no rows, as if the endpoint had none
            raise QueryError(f"rdflib cannot run SERVICE {variable} (an endpoint named by a variable); "
                             "run it with the oxigraph backend (backend='oxigraph'; CLI --backend oxigraph)")
        init = {Variable(name): term for name, term in (bindings or {}).items()}

        def evaluate() -> tuple[list[str], list[tuple], bool]:  # type: ignore[type-arg]
            with allow_service(self.allow_network):
                try:
                    result = self._graph.query(parsed.prepared, initBindings=init)  # type: ignore[arg-type]
                    if parsed.kind == "ask":
                        return [], [], bool(result.askAnswer)
                    rows = [tuple(row) for row in result]  # type: ignore[arg-type]  # evaluation happens here, inside the guard
                    return [str(v) for v in (result.vars or [])], rows, False
                except QueryError:
                    raise
                except RecursionError:
                    raise QueryError("query failed: nested too deeply to evaluate") from None
                except Exception as error:  # rdflib evaluation errors
                    raise QueryError(f"query failed: {type(error).__name__}: {withhold_input(str(error))}") from None

        return run_bounded(evaluate, self._timeout(), what="the query (rdflib)")

    def select(self, query: str, bindings: Mapping[str, Node] | None = None) -> Solutions:
        variables, rows, _ = self._run(self._checked(query, ("select",)), bindings)
        return Solutions(variables, rows)

    def ask(self, query: str, bindings: Mapping[str, Node] | None = None) -> bool:
        return self._run(self._checked(query, ("ask",)), bindings)[2]

    def update(self, update: str) -> None:
        parsed = self._checked(update, ("update",))
        target = self._private()
        with allow_service(self.allow_network):
            try:
                target.update(parsed.prepared)  # type: ignore[arg-type]
            except QueryError:
                raise
            except Exception as error:
                raise QueryError(f"update failed: {type(error).__name__}: {error}") from None
