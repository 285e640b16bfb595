"""Load the merged knowledge graph of a configuration: ontology, knowledge base, criteria packs and mappings.

A configuration is the package's criteria packs plus the packs a caller names
(:func:`npc_kg.kg.packs.resolve_packs`); ``packs=None`` is the active configuration
(:func:`npc_kg.kg.packs.using_packs`). Every configuration has its own merged graph, cached per
process; the package's alone is also kept in the user cache. A configuration with packs of the
caller's is refused if two of its packs, or a pack and the package's ontology and knowledge base,
define the same IRI (:func:`npc_kg.kg.packs.check_distinct`).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import pickle
import secrets
import stat
import tempfile
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from rdflib import Graph, URIRef
from rdflib.namespace import DCTERMS

from npc_kg.kg.packs import Pack, PackInput, check_distinct, pack_key, resolve_packs
from npc_kg.namespace import ONTOLOGY_IRI, PREFIXES
from npc_kg.notices import notice
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


_MAGIC = b"npc-kg cache 2\n"
_KEY_FILE = "key"
_NOTIFIED: set[str] = set()


def _notice(path: Path, reason: str) -> None:
    """One note (:mod:`npc_kg.notices`), once per process: a cache file is ignored and rebuilt."""
    if not _NOTIFIED:
        _NOTIFIED.add(str(path))
        notice(f"ignoring the cache file {path} ({reason}); rebuilding the cache")


def _own_private(info: os.stat_result, *, readable_by_others: bool) -> str | None:
    """Why a file or folder with ``info`` cannot be trusted, or None."""
    if info.st_uid != os.getuid():
        return "owned by another user"
    mask = 0o022 if readable_by_others else 0o077
    if info.st_mode & mask:
        return "writable by others" if info.st_mode & 0o022 else "readable by others"
    return None


def _cache_key(folder: Path, *, create: bool) -> bytes | None:
    """The secret key of the cache folder (32 random bytes in a 0600 file ``key``), created if asked."""
    path = folder / _KEY_FILE
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        if not create:
            return None
        key = secrets.token_bytes(32)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
        except FileExistsError:
            return _cache_key(folder, create=False)
        with os.fdopen(fd, "wb") as handle:
            handle.write(key)
        return key
    if not stat.S_ISREG(info.st_mode) or _own_private(info, readable_by_others=False) or info.st_size != 32:
        return None
    return path.read_bytes()


def _mac(key: bytes, name: str, payload: bytes) -> bytes:
    return hmac.new(key, name.encode() + b"\0" + payload, hashlib.sha256).digest()


def _read_cache(target: Path) -> tuple[Any, str | None]:
    """``(value, None)`` from a trusted cache file, ``(None, reason)`` otherwise (None, None: no file).

    Before any byte is unpickled: the file is a regular file (not a link) owned by this user and
    writable by nobody else, in a folder that is; the folder's key is the user's own and private;
    and the file's HMAC-SHA256 under that key, over its name and content, matches. A file another
    user planted, a file copied from elsewhere or renamed, and a truncated file all fail.
    """
    try:
        info = os.lstat(target)
    except FileNotFoundError:
        return None, None
    except OSError as error:
        return None, error.strerror or "unreadable"
    if not stat.S_ISREG(info.st_mode):
        return None, "not a regular file"
    try:
        folder_info = os.stat(target.parent)
    except OSError:
        return None, "unreadable folder"
    for what, item in (("folder", folder_info), ("file", info)):
        reason = _own_private(item, readable_by_others=True)
        if reason:
            return None, f"{what} {reason}"
    key = _cache_key(target.parent, create=False)
    if key is None:
        return None, "no private key of this cache folder"
    try:
        data = target.read_bytes()
    except OSError as error:
        return None, error.strerror or "unreadable"
    head = len(_MAGIC)
    if not data.startswith(_MAGIC) or len(data) < head + 32:
        return None, "not a cache file of this version"
    mac, payload = data[head:head + 32], data[head + 32:]
    if not hmac.compare_digest(mac, _mac(key, target.name, payload)):
        return None, "its signature does not match"
    try:
        return pickle.loads(payload), None  # signed with the user's private key: checked above
    except Exception:  # a signed file that no longer loads (the code changed): rebuild
        return None, "it no longer loads"


def cached(name: str, files: Iterable[Path], build: Callable[[], Any]) -> Any:
    """Return ``build()``, cached in the user cache, keyed by the SHA-256 of ``files`` and the package version.

    Only package data (ontology, knowledge base, shapes, compiled queries) is ever cached, never
    patient data. A cache file is a pickle signed with HMAC-SHA256 under a random key kept in the
    cache folder (``key``, mode 0600); it is read only after its owner, mode and signature are
    checked (:func:`_read_cache`), because unpickling runs code. A corrupt, foreign or stale file
    is ignored and rebuilt, with one note (:mod:`npc_kg.notices`). Files are written atomically.
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
    value, reason = _read_cache(target)
    if reason is None and value is not None:
        return value
    if reason is not None:
        _notice(target, reason)
    value = build()
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        key = _cache_key(folder, create=True)
        if key is None:
            _notice(folder / _KEY_FILE, "not a private file of this user; delete it")
            return value
        payload = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        _write_private(target, _MAGIC + _mac(key, target.name, payload) + payload)
        for stale in folder.glob(f"{name}-*.pickle"):
            if stale != target:
                stale.unlink(missing_ok=True)
    except OSError:
        pass  # a read-only cache folder only costs speed
    return value


def _write_private(target: Path, data: bytes) -> None:
    """Write ``data`` to ``target`` atomically as a 0600 file (a link at ``target`` is replaced, not followed)."""
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(name, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(name)
        raise


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
        parse_file(path, "turtle", graph=graph, limited=False)
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
            parse_file(path, "turtle", graph=graph, limited=False)
    return _header(graph, own)
