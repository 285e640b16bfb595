"""The W3C SHACL Core suite on every evaluator: pass / wrong / refused counts, and time against pySHACL.

    python benchmarks/w3c_core.py [--repeat 3]

Runs every ``sht:Validate`` entry (the W3C SHACL Core suite, located as
``tests/shacl/manifests.suite_root`` says, and npc-kg's regression cases) through the adapter
``tests/shacl/evaluators.py``, as ``tests/shacl/test_w3c_core.py`` does, and prints per evaluator
the entries that pass, are wrong, or are refused (outside its subset), and its total time
(best of ``--repeat``) against pySHACL's. The time includes building each evaluator from the
shapes, which dominates on these small graphs.
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
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    import logging
    import warnings

    logging.disable(logging.WARNING)
    warnings.simplefilter("ignore")

    from tests.shacl.evaluators import EVALUATORS, evaluate
    from tests.shacl.manifests import entries, suite_root

    here = Path(__file__).resolve().parent.parent / "tests" / "shacl"
    root = suite_root()
    if root is None:
        sys.exit("the W3C SHACL Core suite is not on this machine: see tests/shacl/w3c/README.md")
    suites = {"w3c": entries(root / "manifest.ttl", root), "regressions": entries(here / "regressions" / "manifest.ttl", here)}
    times: dict[str, float] = {}
    for name in EVALUATORS:
        best = float("inf")
        for _ in range(args.repeat):
            counts: dict[str, Counter[str]] = {suite: Counter() for suite in suites}
            start = time.perf_counter()
            for suite, found in suites.items():
                for entry in found:
                    outcome = evaluate(name, entry.shapes, entry.data)
                    if outcome.refused:
                        counts[suite]["refused"] += 1
                    elif outcome.conforms == entry.expected.conforms and outcome.results == entry.expected.results:
                        counts[suite]["pass"] += 1
                    else:
                        counts[suite]["wrong"] += 1
            best = min(best, time.perf_counter() - start)
        times[name] = best
        print(json.dumps({"evaluator": name, "seconds": round(best, 3),
                          **{suite: dict(sorted(c.items())) for suite, c in counts.items()}}))
    print(f"\n{'evaluator':10} {'seconds':>8} {'vs pySHACL':>11}")
    for name in EVALUATORS:
        print(f"{name:10} {times[name]:>8.2f} {times['reference'] / times[name]:>10.1f}x")


if __name__ == "__main__":
    main()
