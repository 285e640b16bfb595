"""Benchmark cohort screening: fast engine vs pySHACL reference vs bare parse (vs the `shacl` package).

    python benchmarks/cohort.py [--n 100000] [--seed 1] [--ref-n 100] [--workers 2] [--batch-size 1000] [--rounds 5]
                                [--rounds-only]

Every engine runs in its own subprocess on the same synthetic cohort (``npc-kg synth``), so the
peak resident memory printed is that engine's own (``resource.getrusage``, the process and, for
``--workers``, its largest worker). The pySHACL reference is far too slow for the full cohort, so
it runs on the first ``--ref-n`` patients (the same patients: ``synth`` is sequential per seed)
and its rate is EXTRAPOLATED; the output says so. Timings are wall-clock and include parsing and
writing the output file. Then the bare parse and the local engine with ``--workers`` run alternately
``--rounds`` times: on a shared machine the speed drifts by a third within minutes, so the ratio to
the parse floor is printed per pair, with its median.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _peak() -> dict[str, float]:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {"peak_mb": own, "peak_child_mb": children}


def child(engine: str, path: str, workers: int, batch_size: int, out_dir: str) -> None:
    """Run one engine and print a JSON line: seconds, patients, peak memory."""
    start = time.perf_counter()
    patients = 0
    if engine == "parse":
        import pyoxigraph as ox

        triples = sum(1 for _ in ox.parse(path=path, format=ox.RdfFormat.N_TRIPLES))
        extra = {"triples": triples}
    elif engine == "load":
        import pyoxigraph as ox

        store = ox.Store()
        store.bulk_load(path=path, format=ox.RdfFormat.N_TRIPLES)
        extra = {"triples": len(store)}
    elif engine in ("local", "sparql", "reference"):
        from npc_kg.cohort import assess_cohort

        summary = assess_cohort(path, Path(out_dir) / f"{engine}.csv", batch_size=batch_size, workers=workers,
                                engine=engine, progress=False)
        patients = summary.rows
        extra = {"verdicts": summary.attrition.verdicts}
    elif engine == "shacl":
        import shacl

        from npc_kg.shacl.shapes import shape_files, subclass_graph

        shapes_text = "\n".join(p.read_text(encoding="utf-8") for p in shape_files()[:1])
        shapes = shacl.Shapes.from_text(shapes_text + "\n" + shape_files()[1].read_text(encoding="utf-8"), format="turtle")
        combined = Path(out_dir) / "with-subclasses.nt"
        with open(combined, "wb") as handle:
            handle.write(Path(path).read_bytes())
            handle.write(subclass_graph().serialize(format="nt").encode())
        report = shapes.validate_file(str(combined), allow_warnings=True)
        extra = {"results": len(report.results)}
    elif engine == "faststart":
        import npc_kg

        npc_kg.load()
        assessments = npc_kg.assess(path)  # the public API: rows with messages, missing items, evidence
        patients = len(assessments)
        extra = {"verdict": assessments[0].verdict}
    else:
        raise SystemExit(f"unknown engine {engine}")
    seconds = time.perf_counter() - start
    print(json.dumps({"engine": engine, "seconds": seconds, "patients": patients, **extra, **_peak()}))


def _run_child(engine: str, path: Path, args: argparse.Namespace, out_dir: str, workers: int = 1) -> dict | None:
    command = [sys.executable, __file__, "--child", engine, "--file", str(path), "--workers", str(workers),
               "--batch-size", str(args.batch_size), "--out-dir", out_dir]
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, timeout=args.timeout)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        reason = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else f"exit {done.returncode}"
        print(f"  {engine}: unavailable or failed ({reason})")
        return None
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["process_seconds"] = wall
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=100000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--ref-n", type=int, default=100, help="patients for the pySHACL reference (extrapolated)")
    parser.add_argument("--shacl-n", type=int, default=10000, help="patients for the `shacl` package (superlinear; extrapolated)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--timeout", type=float, default=3600)
    parser.add_argument("--keep", help="folder to keep the cohort and outputs in (default: a temporary folder)")
    parser.add_argument("--rounds", type=int, default=5,
                        help="interleaved rounds of the bare parse and the local engine with --workers for the "
                             "ratio to the parse floor (a shared machine's speed drifts; 0: none)")
    parser.add_argument("--rounds-only", action="store_true",
                        help="only the interleaved rounds of the bare parse and the local engine (no engine table)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--file", help=argparse.SUPPRESS)
    parser.add_argument("--out-dir", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.file, args.workers, args.batch_size, args.out_dir)
        return

    from npc_kg.cohort.synth import synth

    folder = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="npc-kg-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    cohort = folder / f"cohort-{args.n}.nt"
    subset = folder / f"cohort-{args.ref_n}.nt"
    one = folder / "cohort-1.nt"
    started = time.perf_counter()
    synth(args.n, args.seed, cohort)
    synth(args.ref_n, args.seed, subset)
    synth(1, args.seed, one)
    shacl_subset = folder / f"cohort-{args.shacl_n}.nt"
    synth(min(args.shacl_n, args.n), args.seed, shacl_subset)
    size = os.path.getsize(cohort)
    print(f"npc-kg cohort benchmark, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {os.cpu_count()} CPUs, "
          f"python {sys.version.split()[0]}")
    print(f"cohort: {args.n:,} synthetic patients, seed {args.seed}, {size / 1e6:.0f} MB N-Triples "
          f"(synth {time.perf_counter() - started:.1f} s)")
    out = str(folder)
    if args.rounds_only:
        _rounds(cohort, args, out)
        return
    results: dict[str, dict] = {}
    plan = [("parse", cohort, 1), ("load", cohort, 1), ("local-1", cohort, 1), (f"local-{args.workers}", cohort, args.workers),
            ("sparql-1", cohort, 1), (f"sparql-{args.workers}", cohort, args.workers),
            ("reference", subset, 1), ("shacl", shacl_subset, 1), ("faststart", one, 1)]
    for name, path, workers in plan:
        engine = name.split("-")[0]
        if name.endswith(f"-{args.workers}") and name[0] in "ls" and args.workers == 1:
            continue
        result = _run_child(engine, path, args, out, workers)
        if result is not None:
            results[name] = result
    print()
    print(f"{'engine':<34} {'patients':>9} {'seconds':>9} {'patients/s':>11} {'peak MB':>9}")
    for name, result in results.items():
        subset_n = {"reference": args.ref_n, "shacl": min(args.shacl_n, args.n), "faststart": 1}
        n = result["patients"] or subset_n.get(name, args.n)
        label = {
            "parse": "pyoxigraph parse only (floor)",
            "load": "pyoxigraph bulk load into a store",
            "local-1": "npc-kg local, 1 process",
            f"local-{args.workers}": f"npc-kg local, {args.workers} workers",
            "sparql-1": "npc-kg sparql, 1 process",
            f"sparql-{args.workers}": f"npc-kg sparql, {args.workers} workers",
            "reference": f"pySHACL reference ({args.ref_n} patients)",
            "shacl": f"shacl (PyPI, Rust; {min(args.shacl_n, args.n):,} patients)",
            "faststart": "fresh process: load() + assess(1 patient)",
        }[name]
        peak = max(result["peak_mb"], result["peak_child_mb"])
        rate = n / result["seconds"]
        result["rate"] = rate
        print(f"{label:<34} {n:>9,} {result['seconds']:>9.2f} {rate:>11,.0f} {peak:>9.0f}")
    fast = max((results[k] for k in ("local-1", f"local-{args.workers}") if k in results), key=lambda r: r["rate"],
               default=None)
    sparql = max((results[k] for k in ("sparql-1", f"sparql-{args.workers}") if k in results), key=lambda r: r["rate"],
                 default=None)
    if fast:
        print()
        if "reference" in results:
            print(f"fast vs pySHACL: {fast['rate'] / results['reference']['rate']:.0f}x "
                  f"(pySHACL rate EXTRAPOLATED from {args.ref_n} patients; full cohort would take "
                  f"~{args.n / results['reference']['rate'] / 3600:.1f} h)")
        if sparql:
            print(f"local vs sparql (best of each): {fast['rate'] / sparql['rate']:.1f}x")
        if "parse" in results:
            print(f"fast vs bare parse: {results['parse']['rate'] / fast['rate']:.1f}x slower than the parse floor")
        if "faststart" in results:
            faststart = results["faststart"]
            print(f"fresh process, npc_kg.load() + npc_kg.assess(one patient): {faststart['process_seconds']:.2f} s wall "
                  f"({faststart['seconds']:.2f} s after interpreter start)")
    if "shacl" not in results:
        print("shacl (PyPI): unavailable (pip install shacl failed or it crashed)")
    elif "results" in results["shacl"]:
        print(f"shacl (PyPI) ran on {min(args.shacl_n, args.n):,} patients (its rate is EXTRAPOLATED to the full cohort and it "
              f"is superlinear); it reported {results['shacl']['results']:,} results, not cross-checked here")
    if args.rounds > 0:
        _rounds(cohort, args, out)


def _rounds(cohort: Path, args: argparse.Namespace, out: str) -> None:
    """The bare parse and the local engine with ``--workers``, alternated ``--rounds`` times: the ratio per pair."""
    print()
    print(f"bare parse vs local engine with {args.workers} workers, {args.rounds} interleaved rounds:")
    ratios = []
    for number in range(1, args.rounds + 1):
        parse = _run_child("parse", cohort, args, out)
        local = _run_child("local", cohort, args, out, args.workers)
        if parse is None or local is None:
            print(f"  round {number}: failed")
            continue
        ratios.append(local["seconds"] / parse["seconds"])
        print(f"  round {number}: parse {parse['seconds']:.2f} s, local {local['seconds']:.2f} s "
              f"({args.n / local['seconds']:,.0f} patients/s), ratio {ratios[-1]:.2f}")
    if ratios:
        print(f"  ratio to the parse floor: median {statistics.median(ratios):.2f}, best {min(ratios):.2f}, "
              f"worst {max(ratios):.2f}")


if __name__ == "__main__":
    main()
