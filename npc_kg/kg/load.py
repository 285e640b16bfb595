"""Load the merged knowledge graph of a configuration: ontology, knowledge base, criteria packs and mappings.

A configuration is the package's criteria packs plus the packs a caller names
(:func:`npc_kg.kg.packs.resolve_packs`); ``packs=None`` is the active configuration
(:func:`npc_kg.kg.packs.using_packs`). Every configuration has its own merged graph, cached per
process; the package's alone is also kept in the user cache. A configuration with packs of the
caller's is refused if two of its packs, or a pack and the package's ontology and knowledge base,
define the same IRI (:func:`npc_kg.kg.packs.check_distinct`).
"""

from __future__ import annotations

import hashlib
import os
import pickle
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from rdflib import Graph, URIRef
from rdflib.namespace import DCTERMS

from npc_kg.kg.packs import Pack, PackInput, check_distinct, pack_key, resolve_packs
from npc_kg.namespace import ONTOLOGY_IRI, PREFIXES
from npc_kg.rdfio import parse_file
from npc_kg.resources import data_path

__all__ = ["cache_dir", "cached", "core_files", "graph_files", "kg_ntriples", "load", "ontology_files"]

_LOCK = threading.Lock()
_CACHE: dict[tuple[str, ...], Graph] = {}
_NTRIPLES: dict[tuple[str, ...], bytes] = {}


def core_files() -> list[Path]:
    """The ontology (TBox), its imports (``ontology/imports/``, the MONDO import) and the knowledge
    base (``ontology/kb/``), in load order: the package's files outside its criteria packs."""
    root = data_path("ontology")
    return sorted(root.glob("*.ttl")) + sorted((root / "imports").glob("*.ttl")) + sorted((root / "kb").glob("*.ttl"))


def ontology_files(packs: Iterable[PackInput] | None = None) -> list[Path]:
    """Return the Turtle files of the ontology, its imports and the knowledge base, then each pack's
    manifest and ``kb/*.ttl`` (the configuration of ``packs``), in load order."""
    return core_files() + [path for pack in resolve_packs(packs) for path in pack.graph_files()]


def graph_files(packs: Iterable[PackInput] | None = None) -> list[Path]:
    """Return every file that makes up the merged graph: ontology, knowledge base, packs, mappings."""
    return ontology_files(packs) + sorted(data_path("mappings").glob("*.ttl"))


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


def load(*, fresh: bool = False, packs: Iterable[PackInput] | None = None) -> Graph:
    """Return the merged graph (ontology + knowledge base + criteria packs + mappings) of the
    configuration of ``packs`` (the package's packs and those given; None: the active configuration).

    The graph is parsed once per process and configuration, and the same object is returned on
    later calls; treat it as read-only. Pass ``fresh=True`` for a private, newly parsed copy. The
    ontology header names every loaded pack (``dcterms:hasPart``). Raises
    :class:`~npc_kg.errors.PackError` for a pack that cannot be read or that clashes with another.
    """
    chosen = resolve_packs(packs)
    if fresh:
        return _parse_all(chosen)
    key = pack_key(chosen)
    with _LOCK:
        merged = _CACHE.get(key)
    if merged is not None:
        return merged
    if all(pack.builtin for pack in chosen):
        built = cached("graph", graph_files(chosen), lambda: _parse_all(chosen))
    else:
        built = _with_packs(chosen)
    with _LOCK:
        return _CACHE.setdefault(key, built)


def kg_ntriples(packs: Iterable[PackInput] | None = None) -> bytes:
    """The merged graph (:func:`load`) as N-Triples for pyoxigraph stores (the package's from the
    user cache when up to date)."""
    chosen = resolve_packs(packs)
    key = pack_key(chosen)
    data = _NTRIPLES.get(key)
    if data is None:
        if all(pack.builtin for pack in chosen):
            data = cached("merged-ntriples", graph_files(chosen), lambda: _serialise(chosen))
        else:
            data = _serialise(chosen)
        _NTRIPLES[key] = data
    return data


def _serialise(packs: tuple[Pack, ...]) -> bytes:
    return load(packs=packs).serialize(format="nt", encoding="utf-8")


def _header(graph: Graph, packs: Iterable[Pack]) -> Graph:
    for pack in packs:
        graph.add((ONTOLOGY_IRI, DCTERMS.hasPart, URIRef(pack.iri)))
    return graph


def _parse_all(packs: tuple[Pack, ...]) -> Graph:
    graph = _bind(Graph())
    for path in graph_files(packs):
        parse_file(path, "turtle", graph=graph)
    return _header(graph, packs)


def _with_packs(packs: tuple[Pack, ...]) -> Graph:
    """The package's merged graph plus the caller's packs, after checking that no two define one IRI."""
    builtin = tuple(pack for pack in packs if pack.builtin)
    own = [pack for pack in packs if not pack.builtin]
    core = load(packs=builtin)
    check_distinct(packs, core)
    graph = _bind(Graph())
    graph += core
    for pack in own:
        for path in pack.graph_files():
            parse_file(path, "turtle", graph=graph)
    return _header(graph, own)
