"""Atomic output: write to a private temporary file beside the target, then ``os.replace`` it.

- ``-`` is standard output (text, or bytes for binary writers), never a file named ``-``;
- a target whose last path component is a symbolic link, a device, a FIFO or a socket is refused
  (:class:`~npc_kg.errors.OutputError`, exit code 2): replacing it would destroy ``/dev/null`` or
  write through a link; an input file is never overwritten;
- the temporary file is ``0600`` while it is written and gets the usual mode (``0666`` less the
  umask) only when it is complete, just before it is renamed;
- it is removed when the write fails, on Ctrl-C, and on SIGTERM once :func:`install_signal_cleanup`
  is in place (the CLI installs it: exit code 143 after SIGTERM, 130 after SIGINT).
"""

from __future__ import annotations

import os
import shutil
import signal
import stat
import sys
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from types import FrameType
from typing import IO, Any

from npc_kg.errors import OutputError

_UMASK = os.umask(0)
os.umask(_UMASK)

__all__ = [
    "STDOUT",
    "Terminated",
    "atomic_output",
    "atomic_write_bytes",
    "atomic_write_text",
    "atomic_write_with",
    "check_distinct_outputs",
    "check_not_input",
    "check_output_path",
    "current_umask",
    "discard_pending",
    "install_signal_cleanup",
    "is_stdout",
    "pending_files",
    "signal_cleanup",
]

STDOUT = "-"
"""The output name that means standard output."""

_PENDING: set[str] = set()
_PENDING_LOCK = threading.RLock()  # re-entrant: the SIGTERM handler may run while the main thread holds it


class Terminated(BaseException):  # named like KeyboardInterrupt, which it mirrors
    """Raised in the main thread on SIGTERM (after :func:`install_signal_cleanup`), so that partial
    outputs are removed on the way out, as for Ctrl-C. The CLI exits with 143."""


def is_stdout(target: str | os.PathLike[str] | None) -> bool:
    """True if ``target`` is ``-`` (standard output)."""
    return target is not None and os.fspath(target) == STDOUT


def pending_files() -> set[str]:
    """Temporary output files being written now (removed on failure and on signals)."""
    with _PENDING_LOCK:
        return set(_PENDING)


def check_not_input(target: str | os.PathLike[str], inputs: Iterable[str | os.PathLike[str]] = ()) -> None:
    """Raise :class:`OutputError` if ``target`` is one of ``inputs`` (same file on disk)."""
    if is_stdout(target):
        return
    target_path = Path(target).resolve()
    for item in inputs:
        if is_stdout(item):
            continue
        source = Path(item)
        if source.resolve() == target_path or (
            source.exists() and target_path.exists() and os.path.samefile(source, target_path)
        ):
            raise OutputError(f"{target}: refusing to overwrite an input file")


def check_distinct_outputs(*targets: str | os.PathLike[str] | None, names: Iterable[str] = ()) -> None:
    """Raise :class:`OutputError` if two of ``targets`` (None skipped) are the same file, e.g.
    ``--attrition`` equal to ``--out``: the second write would silently replace the first."""
    labels = list(names)
    seen: dict[Path, str] = {}
    for number, target in enumerate(targets):
        if target is None or is_stdout(target):
            continue
        label = labels[number] if number < len(labels) else str(target)
        path = Path(target).resolve()
        if path in seen:
            raise OutputError(f"{target}: {label} and {seen[path]} name the same file; give each output its own file")
        seen[path] = label


def check_output_path(target: str | os.PathLike[str]) -> Path:
    """Return ``target`` as a Path if a file may be written there; raise :class:`OutputError` if its last
    component is a symbolic link, a directory, a device, a FIFO or a socket, or its folder is missing."""
    path = Path(target)
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        info = None
    except OSError as error:
        raise OutputError(f"{target}: {error.strerror or error}") from None
    if info is not None:
        mode = info.st_mode
        kind = ("a symbolic link" if stat.S_ISLNK(mode) else "a directory" if stat.S_ISDIR(mode)
                else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "a FIFO (named pipe)"
                if stat.S_ISFIFO(mode) else "a socket" if stat.S_ISSOCK(mode) else None)
        if kind is not None:
            hint = "; use '-' for standard output" if kind != "a directory" else ""
            raise OutputError(f"{target}: is {kind}, not a regular file; refusing to replace it{hint}")
    directory = path.parent if str(path.parent) else Path(".")
    if not directory.is_dir():
        raise OutputError(f"{target}: directory {directory} does not exist")
    return path


class _Stdout:
    """Standard output as a file to write into, left open when the block ends."""

    def __init__(self, binary: bool) -> None:
        self._stream: Any = sys.stdout.buffer if binary and hasattr(sys.stdout, "buffer") else sys.stdout
        self.name = STDOUT

    def write(self, data: Any) -> int:
        return int(self._stream.write(data))

    def writelines(self, lines: Iterable[Any]) -> None:
        self._stream.writelines(lines)

    def flush(self) -> None:
        self._stream.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def _temporary(target_path: Path) -> tuple[int, str]:
    directory = target_path.parent if str(target_path.parent) else Path(".")
    # SIGTERM and SIGINT wait until the new file is registered: a handler running in between would leave it behind.
    blocked = {signal.SIGTERM, signal.SIGINT}
    masked = hasattr(signal, "pthread_sigmask") and threading.current_thread() is threading.main_thread()
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, blocked) if masked else set()
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target_path.name}.", suffix=".tmp", dir=directory)  # 0600
        with _PENDING_LOCK:
            _PENDING.add(tmp_name)
    finally:
        if masked:
            signal.pthread_sigmask(signal.SIG_SETMASK, previous)
    return fd, tmp_name


def current_umask() -> int:
    """The process's umask now (read from /proc where it can be, so a change after import counts)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    return _UMASK


def _finish(tmp_name: str, target_path: Path) -> None:
    os.chmod(tmp_name, 0o666 & ~current_umask())  # complete: the usual mode, as open() would give
    check_output_path(target_path)  # nobody put a link or a device there meanwhile
    os.replace(tmp_name, target_path)
    with _PENDING_LOCK:
        _PENDING.discard(tmp_name)


def _discard(tmp_name: str) -> None:
    with suppress(FileNotFoundError):
        os.unlink(tmp_name)
    with _PENDING_LOCK:
        _PENDING.discard(tmp_name)


@contextmanager
def atomic_output(
    target: str | os.PathLike[str],
    *,
    mode: str = "w",
    inputs: Iterable[str | os.PathLike[str]] = (),
    encoding: str | None = "utf-8",
    newline: str | None = None,
) -> Iterator[IO]:  # type: ignore[type-arg]
    """Open a private temporary file beside ``target``; on success move it into place, else delete it.

    ``target`` ``-`` is standard output (bytes for a binary ``mode``).
    """
    if is_stdout(target):
        out = _Stdout("b" in mode)
        yield out  # type: ignore[misc]
        out.flush()
        return
    check_not_input(target, inputs)
    target_path = check_output_path(target)
    fd, tmp_name = _temporary(target_path)
    try:
        if "b" in mode:
            handle: IO = os.fdopen(fd, mode)  # type: ignore[type-arg]
        else:
            handle = os.fdopen(fd, mode, encoding=encoding, newline=newline)
        with handle:
            yield handle
        _finish(tmp_name, target_path)
    except BaseException:
        _discard(tmp_name)
        raise


def atomic_write_text(target: str | os.PathLike[str], text: str, *, inputs: Iterable[str | os.PathLike[str]] = ()) -> None:
    """Write ``text`` to ``target`` atomically (``-``: standard output)."""
    with atomic_output(target, inputs=inputs) as handle:
        handle.write(text)


def atomic_write_bytes(target: str | os.PathLike[str], data: bytes, *, inputs: Iterable[str | os.PathLike[str]] = ()) -> None:
    """Write ``data`` to ``target`` atomically (``-``: standard output)."""
    with atomic_output(target, mode="wb", inputs=inputs, encoding=None) as handle:
        handle.write(data)


def atomic_write_with(
    target: str | os.PathLike[str],
    writer: Callable[[str], None],
    *,
    inputs: Iterable[str | os.PathLike[str]] = (),
) -> None:
    """Call ``writer(tmp_path)`` to produce a file, then move it onto ``target`` atomically
    (``-``: the file is produced in a private temporary folder and copied to standard output)."""
    if is_stdout(target):
        folder = tempfile.mkdtemp(prefix="npc-kg-out-")
        try:
            produced = os.path.join(folder, "output")
            writer(produced)
            with open(produced, "rb") as source:
                shutil.copyfileobj(source, sys.stdout.buffer)
            sys.stdout.flush()
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        return
    check_not_input(target, inputs)
    target_path = check_output_path(target)
    fd, tmp_name = _temporary(target_path)
    os.close(fd)
    try:
        writer(tmp_name)
        _finish(tmp_name, target_path)
    except BaseException:
        _discard(tmp_name)
        raise


_INSTALLED: dict[str, int] = {}


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    if os.getpid() != _INSTALLED.get("pid"):  # a forked child inherited the handler: die as it would have
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGTERM)
        return
    discard_pending()
    raise Terminated()


def discard_pending() -> None:
    """Remove every partial output being written now (the process is about to end)."""
    for name in pending_files():
        _discard(name)


def install_signal_cleanup() -> None:
    """On SIGTERM, remove the partial outputs being written and raise :class:`Terminated` in the main
    thread (Ctrl-C raises KeyboardInterrupt, which removes them the same way). Main thread only; idempotent."""
    if threading.current_thread() is not threading.main_thread():
        return
    _INSTALLED["pid"] = os.getpid()
    signal.signal(signal.SIGTERM, _on_sigterm)


@contextmanager
def signal_cleanup() -> Iterator[None]:
    """:func:`install_signal_cleanup` for the block, then the SIGTERM handler from before it again, so
    that a program that calls :func:`npc_kg.cli.main` keeps its own handling of SIGTERM."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGTERM)
    install_signal_cleanup()
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous if previous is not None else signal.SIG_DFL)
