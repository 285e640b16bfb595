"""Atomic output: all-or-nothing, never over an input, usual file mode."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from npc_kg.atomic import atomic_output, atomic_write_text
from npc_kg.errors import OutputError


def test_written_file_has_umask_mode(tmp_path: Path) -> None:
    target = tmp_path / "out.txt"
    atomic_write_text(target, "x")
    umask = os.umask(0)
    os.umask(umask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~umask


def test_failure_leaves_no_file_and_keeps_old_content(tmp_path: Path) -> None:
    target = tmp_path / "out.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_output(target) as handle:
        handle.write("partial")
        raise RuntimeError("boom")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_refuses_to_overwrite_an_input(tmp_path: Path) -> None:
    source = tmp_path / "in.ttl"
    source.write_text("data")
    with pytest.raises(OutputError, match="refusing to overwrite"):
        atomic_write_text(source, "new", inputs=[source])
    assert source.read_text() == "data"
