"""The user cache: reused when it is the user's own and signed with its key, ignored otherwise.

The twelve kinds of tampering are in ``tests/reliability/test_cache.py``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from npc_kg.kg.load import cached


def test_cache_is_reused_but_ignored_when_writable_by_others(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NPC_KG_CACHE", str(tmp_path / "cache"))
    key = tmp_path / "key.txt"
    key.write_text("data")
    assert cached("t", [key], lambda: "built") == "built"
    [entry] = [p for p in (tmp_path / "cache").iterdir() if p.name != "key"]
    assert (tmp_path / "cache").stat().st_mode & 0o777 == 0o700
    assert entry.stat().st_mode & 0o777 == 0o600
    assert cached("t", [key], lambda: "rebuilt") == "built"  # reused

    entry.chmod(0o666)  # another user could have planted or changed it: never unpickle it
    assert cached("t", [key], lambda: "rebuilt") == "rebuilt"
