"""Reports held in memory for a limited time, reachable only through an unguessable token.

A report may be stored as a function that renders it (:class:`LazyReport`): it is rendered on
the first request for it, once, so a CDS Hooks card's link costs no rendering until a clinician
follows it.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

__all__ = ["LazyReport", "Report", "ReportStore"]


class LazyReport:
    """A report rendered on first use, once (thread-safe); holds what it renders from until then."""

    def __init__(self, render: Callable[[], str]) -> None:
        self._render: Callable[[], str] | None = render
        self._html: str | None = None
        self._lock = threading.Lock()

    def __call__(self) -> str:
        with self._lock:
            if self._html is None:
                assert self._render is not None
                self._html, self._render = self._render(), None
            return self._html


Report = str | LazyReport
"""A stored report: its HTML, or a :class:`LazyReport` that renders it."""


class ReportStore:
    """HTML reports by token, in memory only; each expires ``ttl`` seconds after it was stored.

    At most ``capacity`` reports are kept (the oldest go first). Nothing is written to disk.
    """

    def __init__(self, ttl: float = 900.0, capacity: int = 256, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self.capacity = capacity
        self._clock = clock
        self._items: OrderedDict[str, tuple[float, Report]] = OrderedDict()
        self._lock = threading.Lock()

    def put(self, html: Report) -> str:
        """Store ``html`` (or a :class:`LazyReport`); return its token."""
        token = secrets.token_urlsafe(24)
        with self._lock:
            self._expire()
            self._items[token] = (self._clock() + self.ttl, html)
            while len(self._items) > self.capacity:
                self._items.popitem(last=False)
        return token

    def get(self, token: str) -> Report | None:
        """The report of ``token`` as stored, or None if it is unknown or expired."""
        with self._lock:
            self._expire()
            item = self._items.get(token)
            return item[1] if item is not None else None

    def __len__(self) -> int:
        with self._lock:
            self._expire()
            return len(self._items)

    def _expire(self) -> None:
        now = self._clock()
        for token in [t for t, (until, _html) in self._items.items() if until <= now]:
            del self._items[token]
