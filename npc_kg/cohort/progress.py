"""A progress line on stderr (patients/s and ETA from bytes read); silent when stderr is not a TTY."""

from __future__ import annotations

import sys
import time
from typing import TextIO

__all__ = ["Progress"]


class Progress:
    """Call :meth:`update` after each batch and :meth:`close` at the end."""

    def __init__(self, total_bytes: int, *, stream: TextIO | None = None, enabled: bool | None = None) -> None:
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self.total = max(total_bytes, 1)
        self.start = time.monotonic()
        self.shown = False

    def update(self, patients: int, position: int) -> None:
        """Show patients done, rate and ETA (position: bytes of the input read so far)."""
        if not self.enabled:
            return
        elapsed = max(time.monotonic() - self.start, 1e-9)
        rate = patients / elapsed
        fraction = min(position / self.total, 1.0)
        eta = elapsed * (1 - fraction) / fraction if fraction > 0 else 0.0
        self.stream.write(f"\r{patients:,} patients  {rate:,.0f}/s  {fraction:6.1%}  ETA {eta:5.0f}s ")
        self.stream.flush()
        self.shown = True

    def close(self) -> None:
        """End the progress line."""
        if self.enabled and self.shown:
            self.stream.write("\n")
            self.stream.flush()
