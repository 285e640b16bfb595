"""Does the C accelerator earn its place? (issue #11 part 6) The C paths against pure Python, end to end, in one run.

    python benchmarks/native_decision.py [--n 100000] [--seed 1] [--workers 1,2] [--batch-size 1000]

The closure engine (``--engine local``) runs three steps in the C module
``npc_kg/cohort/_ntscan.c``: grouping lines into records by their parsed subject (``scan``),
building the index of a batch and noting its target nodes (``index``), and signing the focus
nodes and their values for the memos (``sid``, ``focus_key``). Each configuration below runs
``assess_cohort`` on the same synthetic cohort in its own subprocess (peak memory is its own,
workers included):

- ``C (scan, index, signatures)``: the accelerator, as installed;
- ``C scan and index, Python signatures``: the accelerator without ``sid`` and ``focus_key``;
- ``C scan only``: C groups the records, Python indexes (strict split) and signs;
- ``Python, strict split``: no C at all (``NPC_KG_NO_NATIVE=1``), the index read by splitting lines;
- ``Python, pyoxigraph parse into the index``: no C, the index built from ``pyoxigraph.parse``
  (``index_strict`` refused, so every batch goes the pyoxigraph way);
- ``pyoxigraph parse only``: the floor (no grouping, no index, no assessment).

It prints wall and CPU seconds (every process of the run; on a shared machine the wall time
says more about the other sessions than about the code), patients per CPU second, peak MB and
each configuration's ratio of CPU seconds to the full C path and to the bare parse. The rule
(issue #11): keep C code only where it buys at least 1.5x end to end.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

CONFIGS = {
    "c": "C (scan, index, signatures)",
    "c-index": "C scan and index, Python signatures",
    "c-scan": "C scan only",
    "py": "Python, strict split",
    "py-ox": "Python, pyoxigraph parse into the index",
    "parse": "pyoxigraph parse only (floor)",
}


def child(config: str, path: str, workers: int, batch_size: int, out: str) -> None:
    start = time.perf_counter()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu_start = usage.ru_utime + usage.ru_stime
    patients = 0
    if config == "parse":
        import pyoxigraph as ox

        sum(1 for _ in ox.parse(path=path, format=ox.RdfFormat.N_TRIPLES))
    else:
        import npc_kg.cohort.records as records
        import npc_kg.shacl.closures as closures
        from npc_kg.cohort import assess_cohort
        from npc_kg.cohort.native import load_native
        from npc_kg.cohort.ntriples import NotStrict

        native = load_native()
        if config != "py" and config != "py-ox" and native is None:
            raise SystemExit("the C accelerator is not built")
        if config == "c-scan":
            closures.load_native = lambda: None  # type: ignore[assignment]
        if config == "c-index":
            without = SimpleNamespace(scan=native.scan, index=native.index, fast_term=native.fast_term)
            closures.load_native = lambda: without  # type: ignore[assignment]
        if config == "py-ox":
            def refuse(self: closures.ClosureEvaluator, data: bytes) -> closures.Index:
                raise NotStrict

            closures.ClosureEvaluator.index_strict = refuse  # type: ignore[method-assign]
        assert config not in ("py", "py-ox") or records.load_native() is None
        summary = assess_cohort(path, out, batch_size=batch_size, workers=workers, engine="local", progress=False)
        patients = summary.rows
    seconds = time.perf_counter() - start
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime - cpu_start
    print(json.dumps({"seconds": seconds, "cpu": cpu, "patients": patients,
                      "peak_mb": max(own.ru_maxrss, kids.ru_maxrss) / 1024}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=100000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--configs", default=",".join(CONFIGS))
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--file", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.file, int(args.workers), args.batch_size, args.out)
        return
    from npc_kg.cohort.synth import synth

    with tempfile.TemporaryDirectory() as folder:
        cohort = Path(folder) / "cohort.nt"
        synth(args.n, args.seed, cohort)
        print(f"npc-kg C accelerator decision, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
              f"{os.cpu_count()} CPUs, python {sys.version.split()[0]}; {args.n:,} patients, "
              f"{cohort.stat().st_size / 1e6:.0f} MB N-Triples, batch size {args.batch_size}")
        results: dict[tuple[str, int], dict] = {}
        outputs: dict[str, bytes] = {}
        for workers in (int(w) for w in args.workers.split(",")):
            for config in args.configs.split(","):
                if config == "parse" and workers != 1:
                    continue
                env = dict(os.environ)
                if config in ("py", "py-ox"):
                    env["NPC_KG_NO_NATIVE"] = "1"
                out = Path(folder) / f"{config}-{workers}.csv"
                done = subprocess.run([sys.executable, __file__, "--child", config, "--file", str(cohort), "--workers",
                                       str(workers), "--batch-size", str(args.batch_size), "--out", str(out)],
                                      capture_output=True, text=True, env=env)
                if done.returncode:
                    print(f"{config} ({workers} workers) failed: {done.stderr.strip().splitlines()[-1:]}")
                    continue
                results[(config, workers)] = json.loads(done.stdout.strip().splitlines()[-1])
                if out.exists():
                    outputs[f"{config}-{workers}"] = out.read_bytes()
                    out.unlink()
        same = len(set(outputs.values())) <= 1
        print(f"\nall configurations wrote the same rows: {'yes' if same else 'NO'}")
        floor = results.get(("parse", 1))
        print("wall seconds depend on the load of the machine; CPU seconds (all processes of the run) much less:\n"
              "the ratios are of CPU seconds")
        print(f"{'configuration':<42} {'workers':>7} {'wall s':>7} {'CPU s':>7} {'patients/CPU s':>14} {'peak MB':>8} "
              f"{'x the C path':>12} {'x the parse':>11}")
        for (config, workers), result in results.items():
            rate = args.n / result["cpu"]
            full_c = results.get(("c", workers))
            versus_c = f"{result['cpu'] / full_c['cpu']:.2f}" if full_c and config != "parse" else ""
            versus_parse = f"{result['cpu'] / floor['cpu']:.2f}" if floor else ""
            print(f"{CONFIGS[config]:<42} {workers:>7} {result['seconds']:>7.1f} {result['cpu']:>7.1f} {rate:>14,.0f} "
                  f"{result['peak_mb']:>8.0f} {versus_c:>12} {versus_parse:>11}", flush=True)


if __name__ == "__main__":
    main()
