"""Hand a batch's data to a forked worker through memory both processes share, not through the pipe.

A batch of a line-based cohort is about 6 MB of N-Triples (1,000 patients). Sent through the
worker pool's pipe it is pickled, written in 64 KB pieces, read and unpickled: handing it over
through shared memory makes a ``--workers 2`` run about 5% faster (``benchmarks/README.md``). A
:class:`Handoff` is a few slots of anonymous shared memory (``mmap`` of no file: nothing is
written to disk, not even under ``/dev/shm``, and the memory goes when the last process that maps
it ends; it is left out of core dumps where the system allows), mapped before the workers are
forked so that every worker inherits it. The main process copies a batch's data into a free slot
and sends the worker only where it is; the worker copies it out when it starts the batch. A slot
is given back when the main process has the batch's result, so it is never reused while a worker
may still read it. Data larger than a slot, a batch sent while every slot is taken, and every
batch of a run whose memory could not be mapped go through the pipe as before.
"""

from __future__ import annotations

import mmap
from dataclasses import dataclass, replace
from typing import Any

__all__ = ["Handed", "Handoff", "SLOT_BYTES"]

SLOT_BYTES = 32 << 20
"""Bytes per slot: a batch of 1,000 synthetic patients needs about 6 MB."""


@dataclass(frozen=True)
class Handed:
    """What the worker is sent instead of a batch: the batch without its data, and where its data is."""

    batch: Any
    slot: int
    size: int


class Handoff:
    """``slots`` slots of shared memory for batch data; build it before the workers are forked."""

    def __init__(self, slots: int, slot_bytes: int = SLOT_BYTES) -> None:
        self.slot_bytes = slot_bytes
        self.memory = mmap.mmap(-1, slots * slot_bytes)  # anonymous and shared: inherited by forked workers
        if hasattr(mmap, "MADV_DONTDUMP"):  # patient data stays out of a crashed worker's core file
            self.memory.madvise(mmap.MADV_DONTDUMP)
        self.free = list(range(slots))

    def send(self, job: Any) -> Any:
        """``job`` as it should be sent: a :class:`Handed` if its ``data`` fits a free slot, else ``job`` itself."""
        data = getattr(job, "data", None)
        if not isinstance(data, bytes | bytearray) or not data or len(data) > self.slot_bytes or not self.free:
            return job
        slot = self.free.pop()
        start = slot * self.slot_bytes
        self.memory[start:start + len(data)] = data
        return Handed(replace(job, data=b""), slot, len(data))

    def done(self, sent: Any) -> None:
        """The result of ``sent`` (what :meth:`send` returned) is in: its slot may be reused."""
        if isinstance(sent, Handed) and sent.slot not in self.free:
            self.free.append(sent.slot)

    def receive(self, sent: Any) -> Any:
        """In a worker: the job ``sent`` stands for, with its data copied out of the shared memory."""
        if not isinstance(sent, Handed):
            return sent
        start = sent.slot * self.slot_bytes
        return replace(sent.batch, data=self.memory[start:start + sent.size])

    def close(self) -> None:
        """Unmap the memory in this process (a worker's mapping stays until it ends)."""
        self.memory.close()
