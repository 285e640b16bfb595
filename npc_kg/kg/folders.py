"""Folder outputs (nanopublications, documentation, releases): written into a new or empty folder, atomically.

:func:`new_folder` yields a private temporary folder beside the target; when the block succeeds
the folder is moved into place, so a failed run leaves neither a half-written folder nor a
changed one. A target that exists and is not an empty folder is refused (exit code 2).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from npc_kg.atomic import current_umask
from npc_kg.errors import OutputError

__all__ = ["check_new_folder", "new_folder"]


def check_new_folder(target: str | os.PathLike[str]) -> Path:
    """Return ``target`` as a Path; raise :class:`OutputError` unless it is absent or an empty folder
    (a symbolic link, even to an empty folder, is refused: the output would land elsewhere)."""
    if os.fspath(target) == "-":
        raise OutputError("-: a folder output cannot go to standard output; give a new or empty folder")
    path = Path(os.fspath(target).rstrip("/") or "/")
    if path.is_symlink():
        raise OutputError(f"{path}: is a symbolic link; the output folder must be new or empty")
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise OutputError(f"{path}: the output folder must be new or empty")
    if not path.parent.is_dir():
        raise OutputError(f"{path}: directory {path.parent} does not exist")
    return path


@contextmanager
def new_folder(target: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary folder that becomes ``target`` (new or empty) when the block succeeds."""
    path = check_new_folder(target)
    work = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    try:
        yield work
        os.chmod(work, 0o777 & ~current_umask())
        if path.exists():
            path.rmdir()  # empty, checked above
        os.replace(work, path)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise

