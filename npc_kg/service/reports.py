"""Reports held in memory for a limited time, reachable only through an unguessable token."""

from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

__all__ = ["ReportStore"]


class ReportStore:
    """HTML reports by token, in memory only; each expires ``ttl`` seconds after it was stored.

    At most ``capacity`` reports are kept (the oldest go first). Nothing is written to disk.
    """

    def __init__(self, ttl: float = 900.0, capacity: int = 256, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self.capacity = capacity
        self._clock = clock
        self._items: OrderedDict[str, tuple[float, str]] = OrderedDict()
        self._lock = threading.Lock()

    def put(self, html: str) -> str:
        """Store ``html``; return its token."""
        token = secrets.token_urlsafe(24)
        with self._lock:
            self._expire()
            self._items[token] = (self._clock() + self.ttl, html)
            while len(self._items) > self.capacity:
                self._items.popitem(last=False)
        return token

    def get(self, token: str) -> str | None:
        """The report of ``token``, or None if it is unknown or expired."""
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
