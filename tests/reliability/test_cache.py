"""The user cache cannot be made to run code: twelve kinds of tampering are each ignored and rebuilt.

A cache file is a pickle signed (HMAC-SHA256) with a random key kept in the cache folder (mode
0600). Nothing is unpickled before the owner, the modes and the signature are checked. Each case
below changes the cache in one way; the next call must rebuild the value (never return the
planted one, never run the planted code), print one notice line, and leave a cache that works.
"""

from __future__ import annotations

import os
import pickle
import shutil
import warnings
from collections.abc import Callable
from pathlib import Path

import pytest

import npc_kg.kg.load as load_module
from npc_kg.kg.load import cached
from npc_kg.notices import NpcKgNotice

RAN = "ran-planted-code"


class _Planted:
    """Unpickling this calls os.system-like code: here it only creates a file we can look for."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Callable[..., object], tuple[str, ...]]:
        return (Path.touch, (Path(self.marker),))


@pytest.fixture()
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """A fresh cache folder with one signed entry for the key file ``source``; returns (folder, source)."""
    folder = tmp_path / "cache"
    monkeypatch.setenv("NPC_KG_CACHE", str(folder))
    monkeypatch.setattr(load_module, "_NOTIFIED", set())
    source = tmp_path / "source.ttl"
    source.write_text("data")
    assert cached("t", [source], lambda: "good") == "good"
    return folder, source


def _entry(folder: Path) -> Path:
    [entry] = [p for p in folder.iterdir() if p.name.startswith("t-")]
    return entry


def _signed(folder: Path, name: str, payload: bytes) -> bytes:
    key = (folder / "key").read_bytes()
    return load_module._MAGIC + load_module._mac(key, name, payload) + payload


def _planted_pickle(tmp_path: Path) -> bytes:
    return pickle.dumps(_Planted(str(tmp_path / RAN)))


def _truncate(folder: Path, tmp_path: Path) -> None:
    entry = _entry(folder)
    entry.write_bytes(entry.read_bytes()[:20])


def _random_bytes(folder: Path, tmp_path: Path) -> None:
    _entry(folder).write_bytes(os.urandom(4096))


def _unsigned_pickle(folder: Path, tmp_path: Path) -> None:  # the old, unsigned format with code in it
    _entry(folder).write_bytes(_planted_pickle(tmp_path))


def _forged_signature(folder: Path, tmp_path: Path) -> None:  # signed with a key that is not this folder's
    payload = _planted_pickle(tmp_path)
    entry = _entry(folder)
    key = b"k" * 32
    entry.write_bytes(load_module._MAGIC + load_module._mac(key, entry.name, payload) + payload)


def _flipped_byte(folder: Path, tmp_path: Path) -> None:
    entry = _entry(folder)
    data = bytearray(entry.read_bytes())
    data[-3] ^= 0xFF
    entry.write_bytes(bytes(data))


def _group_writable(folder: Path, tmp_path: Path) -> None:
    entry = _entry(folder)
    entry.write_bytes(_signed(folder, entry.name, _planted_pickle(tmp_path)))
    entry.chmod(0o664)


def _folder_writable_by_others(folder: Path, tmp_path: Path) -> None:
    entry = _entry(folder)
    entry.write_bytes(_signed(folder, entry.name, _planted_pickle(tmp_path)))
    folder.chmod(0o777)


def _symlink(folder: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere.pickle"
    entry = _entry(folder)
    elsewhere.write_bytes(_signed(folder, entry.name, _planted_pickle(tmp_path)))
    entry.unlink()
    entry.symlink_to(elsewhere)


def _swapped(folder: Path, tmp_path: Path) -> None:  # a validly signed file of another name moved here
    other_name = "u-" + _entry(folder).name[2:]
    (folder / other_name).write_bytes(_signed(folder, other_name, _planted_pickle(tmp_path)))
    os.replace(folder / other_name, _entry(folder))


def _key_readable_by_others(folder: Path, tmp_path: Path) -> None:  # anyone could have read and used the key
    entry = _entry(folder)
    entry.write_bytes(_signed(folder, entry.name, _planted_pickle(tmp_path)))
    (folder / "key").chmod(0o644)


def _key_replaced(folder: Path, tmp_path: Path) -> None:  # the key changed: every old signature is foreign
    (folder / "key").write_bytes(b"x" * 32)


def _stale_version(folder: Path, tmp_path: Path) -> None:  # a valid file of an older format version
    entry = _entry(folder)
    payload = pickle.dumps("stale")
    key = (folder / "key").read_bytes()
    entry.write_bytes(b"npc-kg cache 1\n" + load_module._mac(key, entry.name, payload) + payload)


def _foreign_owner(folder: Path, tmp_path: Path) -> None:
    if os.getuid() != 0:
        pytest.skip("changing a file's owner needs root (CI runs as root)")
    entry = _entry(folder)
    entry.write_bytes(_signed(folder, entry.name, _planted_pickle(tmp_path)))
    os.chown(entry, 4242, 4242)


TAMPERING = [
    _truncate, _random_bytes, _unsigned_pickle, _forged_signature, _flipped_byte, _group_writable,
    _folder_writable_by_others, _symlink, _swapped, _key_readable_by_others, _key_replaced, _stale_version,
    _foreign_owner,
]


@pytest.mark.parametrize("tamper", TAMPERING, ids=lambda f: f.__name__.strip("_"))
def test_tampered_cache_is_ignored_and_rebuilt(cache: tuple[Path, Path], tmp_path: Path, tamper: Callable[..., None],
                                               capsys: pytest.CaptureFixture[str]) -> None:
    folder, source = cache
    capsys.readouterr()
    tamper(folder, tmp_path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert cached("t", [source], lambda: "rebuilt") == "rebuilt"
    assert not (tmp_path / RAN).exists(), "planted code ran while the cache was read"
    notes = [str(w.message) for w in caught if issubclass(w.category, NpcKgNotice)]
    assert len(notes) == 1 and "ignoring the cache file" in notes[0] and "rebuilding" in notes[0]
    assert capsys.readouterr().err == "", "a library call warns; it does not print"
    folder.chmod(0o700)
    # the rebuilt cache is used from now on, unless the folder's key itself is not private
    if tamper is not _key_readable_by_others:
        assert cached("t", [source], lambda: "third") == "rebuilt"


def test_a_good_cache_is_read_without_notice(cache: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    _folder, source = cache
    capsys.readouterr()
    assert cached("t", [source], lambda: "rebuilt") == "good"
    assert capsys.readouterr().err == ""


def test_cache_of_a_whole_run_survives_tampering(tmp_path: Path) -> None:
    """The real caches (graph, engines, queries): random bytes in each, and npc-kg still assesses."""
    import subprocess
    import sys

    repo = Path(__file__).resolve().parents[2]
    env = {**os.environ, "NPC_KG_CACHE": str(tmp_path / "c"), "PYTHONPATH": str(repo)}
    command = [sys.executable, "-m", "npc_kg", "assess", str(repo / "examples" / "patients" / "eligible.ttl")]
    first = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stderr
    for entry in (tmp_path / "c").glob("*.pickle"):
        entry.write_bytes(os.urandom(entry.stat().st_size))
    second = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert second.returncode == 0, second.stderr
    assert second.stdout == first.stdout
    assert second.stderr.count("ignoring the cache file") == 1
    shutil.rmtree(tmp_path / "c")
