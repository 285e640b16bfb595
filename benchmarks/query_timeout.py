"""What the local query timeout costs: the same workloads with and without it, in one run.

Local queries run in a forked child that is stopped after ``--timeout`` (npc_kg.sparql.bounded);
the fork happens once per patient (explanation queries) and once per batch (compiled shapes),
not once per query. This prints, for each configuration, the wall seconds of

- ``assess``: ``npc_kg.assess`` on a synthetic file of ``--patients`` patients (fresh process,
  warm user cache; the time of the call only);
- ``fresh``: ``npc-kg assess examples/patients/eligible.ttl`` in a fresh process (interpreter
  start included; best of ``--repeat``);
- ``cohort``: ``npc-kg assess-cohort --engine sparql`` on ``--cohort`` synthetic patients;

then the ratio of each configuration to the first. Rounds interleave the configurations; the best
of the rounds is kept. Configurations: this checkout with the
timeout (the default, 60 s), this checkout with ``NPC_KG_QUERY_TIMEOUT=0`` (no fork), and, with
``--baseline DIR``, another checkout (for example the main branch before the timeout)::

    python benchmarks/query_timeout.py --baseline ../main
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]

ASSESS = """
import json, sys, time
import npc_kg
npc_kg.load()
started = time.perf_counter()
found = npc_kg.assess(sys.argv[1])
print(json.dumps({"seconds": time.perf_counter() - started, "patients": len(found)}))
"""


def _env(checkout: Path, cache: Path, timeout: str | None) -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(checkout), "NPC_KG_CACHE": str(cache)}
    env.pop("NPC_KG_QUERY_TIMEOUT", None)
    if timeout is not None:
        env["NPC_KG_QUERY_TIMEOUT"] = timeout
    return env


CLI = "import sys; from npc_kg.cli import run; run()"
"""The command line of the checkout on PYTHONPATH (older checkouts have no ``python -m npc_kg``)."""


def _wall(command: list[str], env: dict[str, str], cwd: Path) -> float:
    started = time.perf_counter()
    subprocess.run(command, env=env, check=True, capture_output=True, cwd=cwd)
    return time.perf_counter() - started


def small_patients(path: Path) -> int:
    return sum(1 for line in path.read_text(encoding="utf-8").splitlines() if line.endswith("/Patient> ."))


def measure(checkout: Path, timeout: str | None, folder: Path, small: Path, cohort: Path, repeat: int) -> dict[str, float]:
    cache = folder / f"cache-{abs(hash((str(checkout), timeout)))}"
    env = _env(checkout, cache, timeout)
    example = str(HERE / "examples" / "patients" / "eligible.ttl")
    # Every process runs in the temporary folder: a checkout in the working directory would come first on sys.path.
    fresh_command = [sys.executable, "-c", CLI, "assess", example]
    subprocess.run(fresh_command, env=env, check=True, capture_output=True, cwd=folder)  # warm the user cache
    fresh = min(_wall(fresh_command, env, folder) for _ in range(repeat))
    done = subprocess.run([sys.executable, "-c", ASSESS, str(small)], env=env, check=True, capture_output=True, text=True,
                          cwd=folder)
    assert json.loads(done.stdout.strip().splitlines()[-1])["patients"] == small_patients(small)
    assess = json.loads(done.stdout.strip().splitlines()[-1])["seconds"]
    out = folder / "verdicts.csv"
    cohort_seconds = _wall([sys.executable, "-c", CLI, "assess-cohort", str(cohort), "--engine", "sparql",
                            "--out", str(out)], env, folder)
    return {"assess": assess, "fresh": fresh, "cohort": cohort_seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--patients", type=int, default=100, help="patients of the assess file (default 100)")
    parser.add_argument("--cohort", type=int, default=20000, help="patients of the cohort (default 20000)")
    parser.add_argument("--repeat", type=int, default=3, help="fresh-process runs, best kept (default 3)")
    parser.add_argument("--rounds", type=int, default=2, help="interleaved rounds, best kept (default 2)")
    parser.add_argument("--baseline", type=Path, help="another checkout to compare with (e.g. the main branch)")
    args = parser.parse_args()

    configurations: list[tuple[str, Path, str | None]] = []
    if args.baseline is not None:
        configurations.append((f"baseline {args.baseline}", args.baseline.resolve(), None))
    configurations += [("this checkout, no timeout", HERE, "0"), ("this checkout, timeout 60 s", HERE, None)]
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        small, cohort = folder / "small.nt", folder / "cohort.nt"
        env = _env(HERE, folder / "synth-cache", None)
        for size, path in ((args.patients, small), (args.cohort, cohort)):
            subprocess.run([sys.executable, "-c", CLI, "synth", "--n", str(size), "--out", str(path)],
                           env=env, check=True, capture_output=True, cwd=folder)
        for _label, checkout, timeout in configurations:
            version = subprocess.run([sys.executable, "-c", "import npc_kg; print(npc_kg.__file__)"], cwd=folder,
                                     env=_env(checkout, folder, timeout), capture_output=True, text=True, check=True)
            assert version.stdout.startswith(str(checkout)), version.stdout  # the checkout measured is the one named
        # Rounds interleave the configurations, and the best of the rounds is kept: the load of a shared machine
        # then weighs on every configuration alike.
        samples: dict[str, list[dict[str, float]]] = {label: [] for label, _c, _t in configurations}
        for _round in range(args.rounds):
            for label, checkout, timeout in configurations:
                samples[label].append(measure(checkout, timeout, folder, small, cohort, args.repeat))
        results = [(label, {key: min(s[key] for s in found) for key in found[0]}) for label, found in samples.items()]
    first = results[0][1]
    for label, found in results:
        ratios = ", ".join(f"{key} {found[key] / first[key]:.2f}x" for key in found)
        print(f"{label}: assess {args.patients} patients {found['assess']:.2f} s, fresh single-patient assess "
              f"{found['fresh']:.2f} s, assess-cohort --engine sparql {args.cohort} patients {found['cohort']:.1f} s "
              f"({ratios} of the first)")


if __name__ == "__main__":
    main()
