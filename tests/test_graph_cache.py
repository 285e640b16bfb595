"""The pre-parsed graph cache: reused when it is the user's own, ignored when others could write it."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from npc_kg.kg.load import cached


def test_cache_is_reused_but_ignored_when_writable_by_others(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NPC_KG_CACHE", str(tmp_path / "cache"))
    key = tmp_path / "key.txt"
    key.write_text("data")
    assert cached("t", [key], lambda: "built") == "built"
    [entry] = (tmp_path / "cache").iterdir()
    assert (tmp_path / "cache").stat().st_mode & 0o777 == 0o700

    entry.write_bytes(pickle.dumps("from cache"))
    entry.chmod(0o644)
    assert cached("t", [key], lambda: "rebuilt") == "from cache"

    entry.chmod(0o666)  # another user could have planted this pickle: never unpickle it
    assert cached("t", [key], lambda: "rebuilt") == "rebuilt"
