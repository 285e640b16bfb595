"""Notes about an input or a run that are not errors, as Python warnings of one category.

A library call reports them with :func:`warnings.warn` (category :class:`NpcKgNotice`), so a
notebook or program can show, record or silence them with the :mod:`warnings` filters. The
command-line program prints each one as a line ``npc-kg: <note>`` on stderr
(:func:`printed_notices`). No note quotes a patient value.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TextIO

__all__ = ["NpcKgNotice", "notice", "printed_notices"]


class NpcKgNotice(UserWarning):
    """A note about the input or the run: CSV columns not mapped, records that name no patient, a
    shape checked by the reference evaluator, a cache file rebuilt."""


def notice(message: str) -> None:
    """Report ``message`` (e.g. ``note: ...``) as an :class:`NpcKgNotice`, attributed to the caller's caller."""
    warnings.warn(message, NpcKgNotice, stacklevel=3)


@contextmanager
def printed_notices(stream: TextIO | None = None) -> Iterator[None]:
    """Inside the block, print every :class:`NpcKgNotice` as ``npc-kg: <note>`` on ``stream`` (default
    stderr), each time it is raised; other warnings are shown as before."""
    with warnings.catch_warnings():
        warnings.simplefilter("always", NpcKgNotice)
        shown = warnings.showwarning

        def show(message: Warning | str, category: type[Warning], filename: str, lineno: int,
                 file: TextIO | None = None, line: str | None = None, **_: Any) -> None:
            if issubclass(category, NpcKgNotice):
                print(f"npc-kg: {message}", file=stream or sys.stderr)
            else:
                shown(message, category, filename, lineno, file, line)

        warnings.showwarning = show
        yield
