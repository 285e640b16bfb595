"""Fast start: pickle caches of the merged graph and of the engines' plan, queries and criteria (package data only)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SCRIPT = """
import npc_kg
from npc_kg.shacl.engines import package_engines
graph = npc_kg.load()
engines = package_engines()
print(len(graph), len(engines.sparql.units), engines.criteria()[0].name)
"""


def _run(env: dict[str, str]) -> str:
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, env={**os.environ, **env},
                          timeout=300)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_cache_is_written_reused_and_can_be_turned_off(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    first = _run({"NPC_KG_CACHE": str(cache)})
    files = sorted(p.name.split("-")[0] for p in cache.iterdir())
    assert files == ["engines", "graph", "key", "merged"], "the graphs, the engines and the cache's private signing key"
    assert (cache / "key").stat().st_mode & 0o777 == 0o600
    assert not any(p.name.endswith(".tmp") for p in cache.iterdir())
    assert _run({"NPC_KG_CACHE": str(cache)}) == first, "same answers from the cache"
    for path in cache.iterdir():  # a corrupt cache is rebuilt, not trusted
        path.write_bytes(b"not a pickle")
    assert _run({"NPC_KG_CACHE": str(cache)}) == first
    off = tmp_path / "off"
    assert _run({"NPC_KG_CACHE": str(off), "NPC_KG_NO_CACHE": "1"}) == first
    assert not off.exists()


def test_cache_holds_no_patient_data(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    patients = Path(__file__).parent / "data" / "valid" / "two-patients.nt"
    script = f"from npc_kg.cohort import assess_cohort; assess_cohort({str(patients)!r}, {str(tmp_path / 'o.csv')!r})"
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "NPC_KG_CACHE": str(cache)})
    assert done.returncode == 0, done.stderr
    assert "V-1" in (tmp_path / "o.csv").read_text()
    # the engines (plan, compiled queries, criteria), the merged graph and its N-Triples, the signing key
    assert sorted(p.name.split("-")[0] for p in cache.iterdir()) == ["engines", "graph", "key", "merged"]
    for path in cache.iterdir():
        assert b"patient/V-1" not in path.read_bytes() and b"patient/V-2" not in path.read_bytes()
