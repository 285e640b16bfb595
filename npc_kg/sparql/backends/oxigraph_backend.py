"""Embedded pyoxigraph backend: an in-memory ``Store`` bulk-loaded from the merged graph.

Parameters are bound with pyoxigraph's ``substitutions`` (RDF-dev SEP-0007), which only takes
variables of the SELECT projection (npc-kg's named queries project their parameters); any other
bound variable goes in an escaped ``VALUES`` block, as for a remote endpoint. Everything is
loaded into the default graph (``graph_iri`` is ignored).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping

import pyoxigraph as ox
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.term import Node

from npc_kg.errors import QueryError
from npc_kg.sparql.backends.base import Backend, GraphSource, Solutions, as_graph
from npc_kg.sparql.terms import inject_values

__all__ = ["OxigraphBackend", "from_oxigraph", "kg_ntriples", "to_oxigraph"]

_LOCK = threading.Lock()
_KG_NTRIPLES: dict[str, bytes] = {}


def to_oxigraph(term: Node) -> ox.NamedNode | ox.BlankNode | ox.Literal:
    """Convert an rdflib term to a pyoxigraph term."""
    if isinstance(term, URIRef):
        return ox.NamedNode(str(term))
    if isinstance(term, BNode):
        return ox.BlankNode(str(term))
    if isinstance(term, Literal):
        if term.language:
            return ox.Literal(str(term), language=term.language)
        if term.datatype is not None:
            return ox.Literal(str(term), datatype=ox.NamedNode(str(term.datatype)))
        return ox.Literal(str(term))
    raise QueryError(f"cannot bind {term!r}: not an IRI, blank node or literal")


def from_oxigraph(term: object) -> Node | None:
    """Convert a pyoxigraph term (or None) to an rdflib term."""
    if term is None:
        return None
    if isinstance(term, ox.NamedNode):
        return URIRef(term.value)
    if isinstance(term, ox.BlankNode):
        return BNode(term.value)
    if isinstance(term, ox.Literal):
        if term.language:
            return Literal(term.value, lang=term.language)
        return Literal(term.value, datatype=URIRef(term.datatype.value))
    raise QueryError(f"unsupported result term {term!r}")


def kg_ntriples() -> bytes:
    """The merged knowledge graph as N-Triples (serialised once per process)."""
    with _LOCK:
        data = _KG_NTRIPLES.get("kg")
        if data is None:
            from npc_kg.graph import load

            data = _KG_NTRIPLES["kg"] = load().serialize(format="nt", encoding="utf-8")
        return data


class OxigraphBackend(Backend):
    """pyoxigraph in-memory store, loaded with the merged graph unless ``include_kg=False``."""

    name = "oxigraph"

    def __init__(self, *, allow_network: bool = False, include_kg: bool = True) -> None:
        self.allow_network = allow_network
        self._store = ox.Store()
        if include_kg:
            self._store.bulk_load(kg_ntriples(), format=ox.RdfFormat.N_TRIPLES)

    @property
    def store(self) -> ox.Store:
        """The pyoxigraph store."""
        return self._store

    def load(self, data: GraphSource, graph_iri: str | None = None) -> int:
        graph: Graph = as_graph(data)
        before = len(self._store)
        self._store.load(graph.serialize(format="nt", encoding="utf-8"), format=ox.RdfFormat.N_TRIPLES)
        return len(self._store) - before

    def _query(self, query: str, bindings: Mapping[str, Node] | None, projected: list[str]):  # type: ignore[no-untyped-def]
        bound = dict(bindings or {})
        substitutions: dict[ox.Variable, ox.NamedNode | ox.BlankNode | ox.Literal | ox.Triple] = {
            ox.Variable(name): to_oxigraph(term) for name, term in bound.items() if name in projected
        }
        # SEP-0007 substitution only takes projected variables; bind the others with VALUES.
        query = inject_values(query, {name: term for name, term in bound.items() if name not in projected})
        try:
            return self._store.query(query, substitutions=substitutions or None)
        except SyntaxError as error:
            raise QueryError(f"SPARQL syntax error (oxigraph): {error}") from None
        except (OSError, RuntimeError, ValueError) as error:
            raise QueryError(f"query failed (oxigraph): {error}") from None

    def select(self, query: str, bindings: Mapping[str, Node] | None = None) -> Solutions:
        parsed = self._checked(query, ("select",))
        result = self._query(query, bindings, parsed.variables)
        variables = [variable.value for variable in result.variables]
        rows = [tuple(from_oxigraph(solution[name]) for name in variables) for solution in result]
        return Solutions(variables, rows)

    def ask(self, query: str, bindings: Mapping[str, Node] | None = None) -> bool:
        self._checked(query, ("ask",))
        return bool(self._query(query, bindings, []))

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
