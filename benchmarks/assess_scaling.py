"""``npc-kg assess`` on one file of many patients: the cost per patient must not grow with the file.

Each size runs in a fresh process (warm user cache): ``npc_kg.assess(file)`` with full answers
(verdict, criterion rows with messages, missing data, prognosis, evidence) for a synthetic cohort
written as N-Triples by ``npc-kg synth`` (no defects: one patient-model error fails the file).
Prints, per size, the seconds of ``npc_kg.assess`` and the milliseconds per patient, then the
ratio of the per-patient cost at the largest size to that at the smallest::

    python benchmarks/assess_scaling.py --sizes 100 2000
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

CHILD = """
import json, sys, time
import npc_kg
npc_kg.load()
started = time.perf_counter()
assessments = npc_kg.assess(sys.argv[1])
seconds = time.perf_counter() - started
evidence = sum(len(a.evidence) + len(a.prognosis) for a in assessments)
print(json.dumps({"patients": len(assessments), "seconds": seconds, "explanations": evidence}))
"""


def _run(path: Path) -> dict[str, float]:
    done = subprocess.run([sys.executable, "-c", CHILD, str(path)], capture_output=True, text=True, check=True)
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 2000])
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    from npc_kg.cohort.synth import synth

    results = []
    with tempfile.TemporaryDirectory() as folder:
        for size in args.sizes:
            path = Path(folder) / f"cohort-{size}.nt"
            synth(size, args.seed, path)
            found = _run(path)
            per_patient = found["seconds"] / found["patients"] * 1000
            results.append((size, found, per_patient))
            print(f"{size:>6} patients: npc_kg.assess {found['seconds']:.1f} s, {per_patient:.1f} ms per patient "
                  f"({int(found['explanations'])} prognosis/evidence items)")
    (small, _f, first), (large, _g, last) = results[0], results[-1]
    print(f"per-patient cost at {large} / at {small}: {last / first:.2f}x (target <= 1.3x)")


if __name__ == "__main__":
    main()
