"""Atomic output: write to a temporary file beside the target, then ``os.replace`` it."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import IO

from npc_kg.errors import OutputError

_UMASK = os.umask(0)
os.umask(_UMASK)

__all__ = ["atomic_output", "atomic_write_bytes", "atomic_write_text", "atomic_write_with", "check_not_input"]


def check_not_input(target: str | os.PathLike[str], inputs: Iterable[str | os.PathLike[str]] = ()) -> None:
    """Raise :class:`OutputError` if ``target`` is one of ``inputs`` (same file on disk)."""
    target_path = Path(target).resolve()
    for item in inputs:
        source = Path(item)
        if source.resolve() == target_path or (
            source.exists() and target_path.exists() and os.path.samefile(source, target_path)
        ):
            raise OutputError(f"{target}: refusing to overwrite an input file")


@contextmanager
def atomic_output(
    target: str | os.PathLike[str],
    *,
    mode: str = "w",
    inputs: Iterable[str | os.PathLike[str]] = (),
    encoding: str | None = "utf-8",
    newline: str | None = None,
) -> Iterator[IO]:  # type: ignore[type-arg]
    """Open a temporary file beside ``target``; on success move it into place, else delete it."""
    check_not_input(target, inputs)
    target_path = Path(target)
    directory = target_path.parent if str(target_path.parent) else Path(".")
    if not directory.is_dir():
        raise OutputError(f"{target}: directory {directory} does not exist")
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target_path.name}.", suffix=".tmp", dir=directory)
    os.chmod(tmp_name, 0o666 & ~_UMASK)  # mkstemp creates 0600; outputs get the usual mode
    try:
        if "b" in mode:
            handle: IO = os.fdopen(fd, mode)  # type: ignore[type-arg]
        else:
            handle = os.fdopen(fd, mode, encoding=encoding, newline=newline)
        with handle:
            yield handle
        os.replace(tmp_name, target_path)
    except BaseException:
        with suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise


def atomic_write_text(target: str | os.PathLike[str], text: str, *, inputs: Iterable[str | os.PathLike[str]] = ()) -> None:
    """Write ``text`` to ``target`` atomically."""
    with atomic_output(target, inputs=inputs) as handle:
        handle.write(text)


def atomic_write_bytes(target: str | os.PathLike[str], data: bytes, *, inputs: Iterable[str | os.PathLike[str]] = ()) -> None:
    """Write ``data`` to ``target`` atomically."""
    with atomic_output(target, mode="wb", inputs=inputs, encoding=None) as handle:
        handle.write(data)


def atomic_write_with(
    target: str | os.PathLike[str],
    writer: Callable[[str], None],
    *,
    inputs: Iterable[str | os.PathLike[str]] = (),
) -> None:
    """Call ``writer(tmp_path)`` to produce a file, then move it onto ``target`` atomically."""
    check_not_input(target, inputs)
    target_path = Path(target)
    directory = target_path.parent if str(target_path.parent) else Path(".")
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target_path.name}.", suffix=".tmp", dir=directory)
    os.close(fd)
    os.chmod(tmp_name, 0o666 & ~_UMASK)
    try:
        writer(tmp_name)
        os.replace(tmp_name, target_path)
    except BaseException:
        with suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise
