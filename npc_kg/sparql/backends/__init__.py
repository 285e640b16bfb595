"""SPARQL backends behind one interface: rdflib (default), pyoxigraph (embedded), remote endpoint."""

from __future__ import annotations

from npc_kg.errors import QueryError
from npc_kg.sparql.backends.base import Backend, GraphSource, Solutions
from npc_kg.suggest import unknown

__all__ = ["BACKENDS", "Backend", "GraphSource", "Solutions", "make_backend"]

BACKENDS = ("rdflib", "oxigraph", "remote")


def make_backend(
    name: str | None = None,
    *,
    endpoint: str | None = None,
    allow_network: bool = False,
    include_kg: bool = True,
    **remote_options: object,
) -> Backend:
    """Create a backend: ``rdflib`` (default), ``oxigraph``, or ``remote`` (implied by ``endpoint``)."""
    chosen = name or ("remote" if endpoint else "rdflib")
    if chosen == "rdflib":
        from npc_kg.sparql.backends.rdflib_backend import RdflibBackend

        return RdflibBackend(allow_network=allow_network, include_kg=include_kg)
    if chosen == "oxigraph":
        from npc_kg.sparql.backends.oxigraph_backend import OxigraphBackend

        return OxigraphBackend(allow_network=allow_network, include_kg=include_kg)
    if chosen == "remote":
        if not endpoint:
            raise QueryError("the remote backend needs an endpoint URL")
        from npc_kg.sparql.backends.remote import RemoteBackend

        return RemoteBackend(endpoint, allow_network=allow_network, **remote_options)  # type: ignore[arg-type]
    raise QueryError(unknown("backend", chosen, BACKENDS))
