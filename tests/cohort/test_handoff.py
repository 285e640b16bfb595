"""Batch data handed to forked workers through shared memory (npc_kg.cohort.handoff)."""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import npc_kg.cohort.handoff as handoff_module
from npc_kg.cohort import assess_cohort
from npc_kg.cohort.handoff import Handed, Handoff
from npc_kg.cohort.reader import Batch
from npc_kg.cohort.synth import synth


def test_a_batch_goes_through_a_slot_and_comes_back_whole() -> None:
    handoff = Handoff(2, slot_bytes=64)
    batch = Batch(fmt="nt", data=b"<a> <b> <c> .\n", roots=["a"])
    sent = handoff.send(batch)
    assert isinstance(sent, Handed) and sent.batch.data == b"" and sent.batch.roots == ["a"]
    assert handoff.receive(sent) == batch
    assert len(handoff.free) == 1
    handoff.done(sent)
    assert sorted(handoff.free) == [0, 1]
    handoff.close()


def test_what_does_not_fit_goes_through_the_pipe() -> None:
    handoff = Handoff(1, slot_bytes=8)
    big = Batch(fmt="nt", data=b"x" * 9)
    assert handoff.send(big) is big  # larger than a slot
    first = handoff.send(Batch(fmt="nt", data=b"x"))
    second = Batch(fmt="nt", data=b"y")
    assert isinstance(first, Handed) and handoff.send(second) is second  # no free slot
    assert handoff.send((0, 10)) == (0, 10)  # a FHIR range has no data
    assert handoff.receive(second) is second
    handoff.close()


def test_a_slot_is_not_reused_before_its_result_is_in() -> None:
    handoff = Handoff(2, slot_bytes=16)
    one = handoff.send(Batch(fmt="nt", data=b"one"))
    two = handoff.send(Batch(fmt="nt", data=b"two"))
    assert {one.slot, two.slot} == {0, 1}
    handoff.done(one)
    three = handoff.send(Batch(fmt="nt", data=b"three"))
    assert three.slot == one.slot
    assert handoff.receive(two).data == b"two" and handoff.receive(three).data == b"three"
    handoff.close()


@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="shared memory is inherited by fork")
def test_a_forked_worker_reads_what_the_parent_wrote_after_the_fork() -> None:
    handoff = Handoff(1, slot_bytes=32)
    ready, go = multiprocessing.get_context("fork").Pipe()
    child = multiprocessing.get_context("fork").Process(target=_read_after_signal, args=(handoff, go))
    child.start()
    sent = handoff.send(Batch(fmt="nt", data=b"written after the fork"))
    ready.send(sent)
    assert ready.poll(30) and ready.recv() == b"written after the fork"
    child.join(timeout=30)
    assert child.exitcode == 0
    handoff.close()


def _read_after_signal(handoff: Handoff, pipe: object) -> None:
    sent = pipe.recv()  # type: ignore[attr-defined]
    pipe.send(handoff.receive(sent).data)  # type: ignore[attr-defined]


def test_a_cohort_run_with_workers_hands_its_batches_over_and_writes_the_same_rows(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    synth(300, 3, tmp_path / "c.nt", error_rate=0.1)
    assess_cohort(tmp_path / "c.nt", tmp_path / "one.csv", batch_size=40, workers=1, progress=False)
    sent: list[object] = []
    real = Handoff.send

    def counting(self: Handoff, job: object) -> object:
        out = real(self, job)
        sent.append(out)
        return out

    monkeypatch.setattr(handoff_module.Handoff, "send", counting)
    assess_cohort(tmp_path / "c.nt", tmp_path / "two.csv", batch_size=40, workers=2, progress=False)
    if "fork" in multiprocessing.get_all_start_methods():
        assert len(sent) == 8 and all(isinstance(s, Handed) for s in sent)
    assert (tmp_path / "two.csv").read_bytes() == (tmp_path / "one.csv").read_bytes()


def test_two_runs_at_once_in_one_process_each_hand_over_their_own_batches(tmp_path: Path) -> None:
    for seed in (3, 4):
        synth(200, seed, tmp_path / f"c{seed}.nt", error_rate=0.1)
        assess_cohort(tmp_path / f"c{seed}.nt", tmp_path / f"one{seed}.csv", batch_size=30, workers=1, progress=False)
    with ThreadPoolExecutor(max_workers=2) as threads:
        runs = [threads.submit(assess_cohort, tmp_path / f"c{seed}.nt", tmp_path / f"two{seed}.csv", batch_size=30,
                               workers=2, progress=False) for seed in (3, 4)]
        for run in runs:
            run.result()
    for seed in (3, 4):
        assert (tmp_path / f"two{seed}.csv").read_bytes() == (tmp_path / f"one{seed}.csv").read_bytes()


def test_a_run_whose_shared_memory_cannot_be_mapped_uses_the_pipe(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    synth(120, 5, tmp_path / "c.nt")
    assess_cohort(tmp_path / "c.nt", tmp_path / "one.csv", batch_size=25, workers=1, progress=False)

    def no_memory(self: Handoff, slots: int, slot_bytes: int = 0) -> None:
        raise OSError(12, "Cannot allocate memory")

    monkeypatch.setattr(handoff_module.Handoff, "__init__", no_memory)
    assess_cohort(tmp_path / "c.nt", tmp_path / "two.csv", batch_size=25, workers=2, progress=False)
    assert (tmp_path / "two.csv").read_bytes() == (tmp_path / "one.csv").read_bytes()


def test_a_slot_given_back_twice_is_free_once() -> None:
    handoff = Handoff(2, slot_bytes=8)
    sent = handoff.send(Batch(fmt="nt", data=b"x"))
    handoff.done(sent)
    handoff.done(sent)
    assert sorted(handoff.free) == [0, 1]
    handoff.close()
