"""Agreement of every evaluator with pySHACL on adversarial patients, at sizes too large for CI.

    python benchmarks/differential.py [--n 2000] [--seed 1] [--batch-size 100] [--evaluators closures,sparql,reference]

The same comparison as ``tests/shacl/test_differential.py`` (and through the same adapter,
``tests/shacl/evaluators.py``): ``--n`` adversarial patients (``tests/shacl/adversarial.py``),
pySHACL on the data as written as the answer, each evaluator as ``npc-kg assess-cohort`` runs it.
Prints, per evaluator, how many patients get pySHACL's verdict and every criterion's status, the
same without the mutation kinds ``tests/shacl/w3c/known-differences.yaml`` lists for it, the
differing patients per mutation kind, and the time against pySHACL's in the same run. pySHACL
takes about 2 minutes per 1,000 patients here; the cohort ``reference`` evaluator as long again.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the adapter lives in tests/shacl/


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--evaluators", default="closures,sparql,reference")
    args = parser.parse_args()

    import logging
    import warnings

    logging.disable(logging.WARNING)  # rdflib's conversion warnings quote (synthetic) values
    warnings.simplefilter("ignore")

    from tests.shacl.adversarial import generate
    from tests.shacl.evaluators import pyshacl_rows, rows
    from tests.shacl.known import differential_rows

    start = time.perf_counter()
    cohort = generate(args.n, args.seed)
    print(json.dumps({"measure": "generate", "patients": args.n, "seconds": round(time.perf_counter() - start, 2),
                      "mutated": sum(bool(k) for k in cohort.kinds.values())}))
    start = time.perf_counter()
    truth = pyshacl_rows(cohort.data)
    baseline = time.perf_counter() - start
    verdicts = Counter(v for v, _s in truth.values())
    print(json.dumps({"measure": "pyshacl", "seconds": round(baseline, 2), "verdicts": dict(sorted(verdicts.items()))}))

    summary = []
    for name in args.evaluators.split(","):
        start = time.perf_counter()
        got = rows(name, cohort.data, batch_size=args.batch_size)
        seconds = time.perf_counter() - start
        differing = [p for p in truth if got.get(p) != truth[p]]
        known = {k for row in differential_rows(name) for k in row.mutations}
        rest = [p for p in truth if not known & set(cohort.kinds[p])]
        rest_differing = [p for p in rest if got.get(p) != truth[p]]
        kinds = Counter(k for p in differing for k in cohort.kinds[p] or ("none",))
        line = {"evaluator": name, "patients": len(truth), "agree": len(truth) - len(differing),
                "agreement": round(1 - len(differing) / len(truth), 4), "known_kinds": sorted(known),
                "rest": len(rest), "rest_agree": len(rest) - len(rest_differing),
                "differing_by_kind": dict(kinds.most_common()), "seconds": round(seconds, 2),
                "speed_vs_pyshacl": round(baseline / seconds, 1) if seconds else None,
                "first_differing": differing[:3]}
        print(json.dumps(line))
        summary.append(line)

    print(f"\n{args.n} adversarial patients (seed {args.seed}); pySHACL {baseline:.1f} s "
          f"({args.n / baseline:.1f} patients/s)")
    print(f"{'evaluator':10} {'agree':>12} {'without known kinds':>22} {'seconds':>8} {'vs pySHACL':>11}  known kinds")
    for line in summary:
        print(f"{line['evaluator']:10} {line['agree']:>5}/{line['patients']:<6} "
              f"{line['rest_agree']:>13}/{line['rest']:<8} {line['seconds']:>8} {line['speed_vs_pyshacl']:>10}x  "
              f"{', '.join(line['known_kinds']) or '-'}")


if __name__ == "__main__":
    main()
