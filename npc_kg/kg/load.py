"""Load the merged knowledge graph: ontology, knowledge base and mappings."""

from __future__ import annotations

import hashlib
import os
import pickle
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from rdflib import Graph

from npc_kg.namespace import PREFIXES
from npc_kg.rdfio import parse_file
from npc_kg.resources import data_path

__all__ = ["cache_dir", "cached", "graph_files", "kg_ntriples", "load", "ontology_files"]

_LOCK = threading.Lock()
_CACHE: dict[str, Graph] = {}
_NTRIPLES: dict[str, bytes] = {}


def ontology_files() -> list[Path]:
    """Return the Turtle files of the ontology (TBox), its imports (``ontology/imports/``, the MONDO
    import) and the knowledge base, in load order."""
    root = data_path("ontology")
    return sorted(root.glob("*.ttl")) + sorted((root / "imports").glob("*.ttl")) + sorted((root / "kb").glob("*.ttl"))


def graph_files() -> list[Path]:
    """Return every file that makes up the merged graph: ontology, knowledge base, mappings."""
    return ontology_files() + sorted(data_path("mappings").glob("*.ttl"))


def _bind(graph: Graph) -> Graph:
    for prefix, iri in PREFIXES.items():
        graph.bind(prefix, iri, override=True)
    return graph


def cache_dir() -> Path | None:
    """The user cache folder of npc-kg (``$NPC_KG_CACHE``, else ``$XDG_CACHE_HOME/npc-kg``, else
    ``~/.cache/npc-kg``), or None when caching is off (``NPC_KG_NO_CACHE=1``)."""
    if os.environ.get("NPC_KG_NO_CACHE"):
        return None
    configured = os.environ.get("NPC_KG_CACHE")
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "npc-kg"


def cached(name: str, files: Iterable[Path], build: Callable[[], Any]) -> Any:
    """Return ``build()``, cached as a pickle keyed by the SHA-256 of ``files`` and the package version.

    Only package data (ontology, knowledge base, shapes) is ever cached, never patient data. The
    pickle is written atomically beside its final name; an unreadable or stale cache is rebuilt.
    """
    from npc_kg import __version__

    folder = cache_dir()
    if folder is None:
        return build()
    digest = hashlib.sha256(__version__.encode())
    for path in files:
        digest.update(str(path.name).encode())
        digest.update(path.read_bytes())
    target = folder / f"{name}-{digest.hexdigest()[:32]}.pickle"
    if _trusted(target):
        try:
            with open(target, "rb") as handle:
                return pickle.load(handle)
        except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError, TypeError):
            pass
    value = build()
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        from npc_kg.atomic import atomic_write_bytes

        atomic_write_bytes(target, pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))
        for stale in folder.glob(f"{name}-*.pickle"):
            if stale != target:
                stale.unlink(missing_ok=True)
    except OSError:
        pass  # a read-only cache folder only costs speed
    return value


def _trusted(path: Path) -> bool:
    """True if ``path`` and its folder belong to this user and nobody else can write them.

    Unpickling runs code, so a cache file that another user could have planted or changed is
    ignored (and rebuilt in memory) rather than loaded.
    """
    try:
        for item in (path, path.parent):
            info = item.stat()
            if info.st_uid != os.getuid() or info.st_mode & 0o022:
                return False
    except OSError:
        return False
    return True


def load(*, fresh: bool = False) -> Graph:
    """Return the merged graph (ontology + knowledge base + mappings).

    The graph is parsed once per process and the same object is returned on later calls;
    treat it as read-only. Pass ``fresh=True`` for a private, newly parsed copy.
    """
    if fresh:
        return _parse_all()
    with _LOCK:
        merged = _CACHE.get("merged")
        if merged is None:
            merged = _CACHE["merged"] = cached("graph", graph_files(), _parse_all)
        return merged


def kg_ntriples() -> bytes:
    """The merged graph (:func:`load`) as N-Triples for pyoxigraph stores (from the user cache when up to date)."""
    data = _NTRIPLES.get("merged")
    if data is None:
        data = _NTRIPLES["merged"] = cached("merged-ntriples", graph_files(), _serialise)
    return data


def _serialise() -> bytes:
    return load().serialize(format="nt", encoding="utf-8")


def _parse_all() -> Graph:
    graph = _bind(Graph())
    for path in graph_files():
        parse_file(path, "turtle", graph=graph)
    return graph
