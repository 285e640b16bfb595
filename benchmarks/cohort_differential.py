"""The cohort differential at sizes too large for CI: every fast evaluator against the pySHACL reference.

``tests/cohort/test_cohort.py`` runs it on 300 synthetic patients in CI (pySHACL needs about
0.1 s per patient); this script runs the same comparison on larger cohorts and prints, per
evaluator, how many patients agree with pySHACL (verdict and every criterion status) and the
seconds each took::

    python benchmarks/cohort_differential.py --n 2000 --seed 7
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=2000, help="patients (default 2000)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--error-rate", type=float, default=0.05)
    args = parser.parse_args()

    from npc_kg.cohort import assess_batch
    from npc_kg.cohort.reader import iter_batches
    from npc_kg.cohort.synth import synth

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "cohort.nt"
        synth(args.n, args.seed, path, error_rate=args.error_rate, syntax_errors=False)
        [batch] = list(iter_batches(path, batch_size=10**9))
        answers = {}
        for engine in ("reference", "local", "sparql"):
            started = time.perf_counter()
            rows = assess_batch(batch, engine)
            answers[engine] = ({r.patient: (r.verdict, r.statuses) for r in rows}, time.perf_counter() - started)
    reference, seconds = answers["reference"]
    print(f"{len(reference)} patients; pySHACL reference: {seconds:.1f} s")
    for engine in ("local", "sparql"):
        rows, took = answers[engine]
        differing = [p for p in reference if rows.get(p) != reference[p]]
        print(f"{engine:>7}: {len(reference) - len(differing)}/{len(reference)} agree with pySHACL, {took:.2f} s"
              + (f"; first difference: {differing[0]}" if differing else ""))


if __name__ == "__main__":
    main()
