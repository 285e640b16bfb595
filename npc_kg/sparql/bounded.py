"""Run a local query where it can be stopped: in a forked child process, with a deadline.

pyoxigraph's ``Store.query`` cannot be cancelled (it releases the GIL but never checks for
signals) and rdflib's evaluation is a long Python loop, so a cross-product query would run on
for as long as it likes. :func:`run_bounded` forks: the child inherits the store and the parsed
query (copy-on-write, about 2 ms), evaluates, and sends the rows back through a pipe; the parent
waits at most ``timeout`` seconds, then kills the child and raises
:class:`~npc_kg.errors.QueryTimeoutError` (exit code 2). Nothing is written to disk; the rows
travel as a pickle over a private pipe from the process's own fork.

It bounds the query text that comes from the user (``npc-kg query``, :func:`npc_kg.query`, the
backends' ``select``/``ask``, the service's ``/sparql``). The package's own queries on patient
data run in-process: a fork per patient or per batch cost 15-80 % of ``assess`` and
``assess-cohort`` (``docs/reliability.md``, ``benchmarks/query_timeout.py``). They run under
:func:`watched` instead: in the command-line program (which calls :func:`arm_watchdog`) a timer
ends the process past the timeout, with one line on stderr, exit code 2 and its partial outputs
removed; in a library call they are bounded by the input limits.

Without ``os.fork`` (Windows), or inside such a child, or with ``timeout=None``, the work runs
in the calling process without a deadline. Updates always run in the calling process: their
changes must stay in its store.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import select
import signal
import threading
import time
from collections.abc import Callable, Iterator
from typing import TypeVar

from npc_kg.errors import NpcKgError, QueryError, QueryTimeoutError

__all__ = ["arm_watchdog", "default_timeout", "run_bounded", "watched"]

T = TypeVar("T")

_IN_CHILD = False
_ARMED: dict[str, bool] = {"on": False}


@contextlib.contextmanager
def arm_watchdog(on: bool = True) -> Iterator[None]:
    """Inside the block, let :func:`watched` end this process (and the workers it forks) when a block
    runs past the timeout: for the command-line program, whose run may end that way; never for a
    library caller, nor for a server (``on=False``: its requests have their own timeouts)."""
    saved, _ARMED["on"] = _ARMED["on"], on
    try:
        yield
    finally:
        _ARMED["on"] = saved


def _expire(what: str, limit: float) -> None:  # pragma: no cover - the process ends here (tested end to end)
    from npc_kg.atomic import discard_pending
    from npc_kg.limits import how_to_raise

    message = (f"npc-kg: error: {what} ran longer than {limit:g} s and the run was stopped "
               f"({how_to_raise('query_timeout')}; 0 means no limit); partial outputs were removed\n")
    with contextlib.suppress(OSError):
        os.write(2, message.encode("utf-8"))
    discard_pending()
    os._exit(2)


@contextlib.contextmanager
def watched(what: str) -> Iterator[None]:
    """Run the block (the package's own queries) in this process under the query timeout.

    Armed (:func:`arm_watchdog`), the process's watchdog thread ends the process past the timeout
    with exit code 2, one line naming ``what`` and the partial outputs removed: pyoxigraph cannot be
    interrupted, and a fork per block costs too much. Entering a block only notes its deadline
    (about 10 µs; a timer thread per block cost about 0.2 ms, 2 % of a patient's
    explanation). Not armed (a library call), the block runs without a deadline, bounded by the
    input limits (:mod:`npc_kg.limits`).
    """
    limit = default_timeout() if _ARMED["on"] else None
    if limit is None:
        yield
        return
    _watcher(limit)
    key = threading.get_ident()
    _DEADLINES[key] = (time.monotonic() + limit, what, limit)
    try:
        yield
    finally:
        _DEADLINES.pop(key, None)


_DEADLINES: dict[int, tuple[float, str, float]] = {}
"""Per thread in a :func:`watched` block: (deadline, what, limit)."""
_WATCHER: dict[str, float] = {"pid": 0, "poll": 0.05}


def _watcher(limit: float) -> None:
    """Start this process's watchdog thread (again after a fork: threads do not survive it)."""
    _WATCHER["poll"] = min(_WATCHER["poll"], max(limit / 2, 0.001))  # checks often enough for a short limit
    if _WATCHER["pid"] == os.getpid():
        return
    _WATCHER["pid"] = os.getpid()
    _DEADLINES.clear()  # a forked child inherits the parent's blocks, not its thread
    threading.Thread(target=_watch, name="npc-kg-query-timeout", daemon=True).start()


def _watch() -> None:  # pragma: no cover - runs in its own thread; its effect is tested end to end
    while True:
        time.sleep(_WATCHER["poll"])
        now = time.monotonic()
        for deadline, what, limit in list(_DEADLINES.values()):
            if now >= deadline:
                _expire(what, limit)


def default_timeout() -> float | None:
    """The timeout of local queries now in force (:mod:`npc_kg.limits`: ``--timeout``, ``NPC_KG_QUERY_TIMEOUT``, 60 s)."""
    from npc_kg.limits import current

    return current().query_timeout


def _portable(error: BaseException) -> BaseException:
    """An exception the parent can unpickle and raise: npc-kg's own as they are, others as a QueryError
    that names the type only (an evaluation error's text may quote data)."""
    if isinstance(error, NpcKgError):
        try:
            pickle.loads(pickle.dumps(error))
            return error
        except Exception:
            return type(error).__mro__[1](str(error)) if isinstance(error, QueryError) else QueryError(str(error))
    return QueryError(f"query failed: {type(error).__name__}")


def _child(work: Callable[[], T], write_end: int) -> None:
    global _IN_CHILD
    _IN_CHILD = True
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and stops this process
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    try:
        try:
            payload = pickle.dumps((True, work()), protocol=pickle.HIGHEST_PROTOCOL)
        except BaseException as error:
            payload = pickle.dumps((False, _portable(error)), protocol=pickle.HIGHEST_PROTOCOL)
        view = memoryview(payload)
        while view:
            written = os.write(write_end, view)
            view = view[written:]
    finally:
        os._exit(0)  # no atexit handlers, no flush of the parent's buffers


def _stop(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0)


def run_bounded(work: Callable[[], T], timeout: float | None, *, what: str = "the query") -> T:
    """Return ``work()``, computed in a forked child that is killed after ``timeout`` seconds.

    ``work`` must return something picklable (rdflib or pyoxigraph terms, lists, tuples). Raises
    :class:`QueryTimeoutError` when the time is up, and re-raises npc-kg errors raised by ``work``.
    """
    if timeout is None or _IN_CHILD or not hasattr(os, "fork"):
        return work()
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child leaves through os._exit
        os.close(read_end)
        _child(work, write_end)
    os.close(write_end)
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                from npc_kg.limits import how_to_raise

                raise QueryTimeoutError(f"{what} ran longer than {timeout:g} s and was stopped "
                                        f"({how_to_raise('query_timeout')}; 0 means no limit)")
            ready, _w, _x = select.select([read_end], [], [], min(left, 3600.0))  # select takes no huge waits
            if not ready:
                continue
            chunk = os.read(read_end, 1 << 20)
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(read_end)
        _stop(pid)
    if not chunks:
        raise QueryError(f"{what} ended without an answer (its process was killed, for example out of memory)")
    ok, value = pickle.loads(b"".join(chunks))  # from this process's own fork, over a private pipe
    if not ok:
        raise value
    return value  # type: ignore[no-any-return]
