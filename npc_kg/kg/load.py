"""Load the merged knowledge graph: ontology, knowledge base and mappings."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import pickle
import secrets
import stat
import sys
import tempfile
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


_MAGIC = b"npc-kg cache 2\n"
_KEY_FILE = "key"
_NOTIFIED: set[str] = set()


def _notice(path: Path, reason: str) -> None:
    """One line on stderr, once per process: a cache file is ignored and rebuilt."""
    if not _NOTIFIED:
        _NOTIFIED.add(str(path))
        print(f"npc-kg: ignoring the cache file {path} ({reason}); rebuilding the cache", file=sys.stderr)


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
    is ignored and rebuilt, with a one-line notice on stderr. Files are written atomically.
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
