"""Benchmark a corrupted cohort (issue #15): one row per patient, every damaged patient flagged, linear at any batch size.

    python benchmarks/corrupted_cohort.py [--n 20000] [--rate 0.05] [--seed 1] [--batch-sizes 1000,100000]

Writes a synthetic cohort (``npc-kg synth``), damages ``--rate`` of its lines with the corrupter of
``tests/cohort/corrupt.py`` (missing final dot, cut line, bad UTF-8, stray CR, bad IRI character,
a line said twice, the file cut short), then runs every fast path (closures with the C
accelerator and in pure Python, SPARQL) at each batch size on the clean and on the damaged file,
checks the rows with the checks of ``tests/cohort/test_corrupted.py`` and prints, per run, the
seconds, the rows, the error rows and the ratio of the damaged run to the clean one and of each
batch size to the first. Timings are wall-clock, one process, no workers.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.cohort.corrupt import corrupt
from tests.cohort.test_corrupted import PATHS, Cohort, check, pure_python, read_rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=20000)
    parser.add_argument("--rate", type=float, default=0.05)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--batch-sizes", default="1000,100000")
    parser.add_argument("--paths", default="closures-C,closures-python,sparql")
    args = parser.parse_args()
    from npc_kg.cohort import assess_cohort

    batch_sizes = [int(b) for b in args.batch_sizes.split(",")]
    with tempfile.TemporaryDirectory() as folder:
        cohort = Cohort(Path(folder), args.n, args.seed)
        damaged = corrupt(cohort.data, args.rate, args.seed, truncate=True)
        (Path(folder) / "damaged.nt").write_bytes(damaged.data)
        hit = damaged.damaged_patients(cohort.lines)
        present = damaged.present_patients(cohort.lines)
        print(f"{args.n} patients, {len(cohort.lines)} lines; {len(damaged.damage)} damaged lines "
              f"({args.rate:.0%}), {len(hit)} damaged patients, {len(present)} still named (the file is cut short)")
        print(f"{'path':16} {'batch':>7} {'clean s':>8} {'damaged s':>10} {'ratio':>6} {'vs first batch':>15} "
              f"{'rows':>7} {'errors':>7}  check")
        for path in args.paths.split(","):
            engine, pure = PATHS[path]
            first = None
            for batch_size in batch_sizes:
                seconds = {}
                for name in ("clean", "damaged"):
                    out = Path(folder) / f"{path}-{batch_size}-{name}.csv"
                    with pure_python(pure):
                        start = time.perf_counter()
                        assess_cohort(Path(folder) / f"{name}.nt", out, engine=engine, batch_size=batch_size,
                                      progress=False)
                        seconds[name] = time.perf_counter() - start
                rows = read_rows(Path(folder) / f"{path}-{batch_size}-damaged.csv")
                try:
                    check(cohort, damaged, rows, engine)
                    verdict = "ok"
                except AssertionError as error:
                    verdict = f"FAILED: {str(error)[:80]}"
                first = first or seconds["damaged"]
                errors = sum(r["verdict"] == "error" for r in rows)
                print(f"{path:16} {batch_size:>7} {seconds['clean']:>8.1f} {seconds['damaged']:>10.1f} "
                      f"{seconds['damaged'] / seconds['clean']:>5.2f}x {seconds['damaged'] / first:>14.2f}x "
                      f"{len(rows):>7} {errors:>7}  {verdict}", flush=True)


if __name__ == "__main__":
    main()
