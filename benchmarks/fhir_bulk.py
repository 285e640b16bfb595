"""Benchmark FHIR Bulk Data screening end to end, against the N-Triples path of the same cohort in the same run.

    python benchmarks/fhir_bulk.py [--n 100000] [--seed 1] [--workers 2] [--profile]

Writes the same synthetic cohort (no patient is real) twice: as a FHIR Bulk Data export with
``npc-kg synth --format fhir-ndjson`` (one NDJSON file per resource type, mCODE-shaped, read back
with ``tests/data/fhir/synth-mapping.yaml``) and as N-Triples with ``npc-kg synth``. Each stage
then runs in its own subprocess:

- ``json``   the floor: every NDJSON line parsed once with orjson (no grouping, no mapping);
- ``read``   ``npc_kg.fhir`` alone, one process: pass 1 (the index), then every patient read back,
             mapped and turned into N-Triples lines (no assessment);
- ``fhir``   ``npc-kg assess-cohort EXPORT --workers N`` end to end: index, read, map, assess, write CSV;
- ``nt``     ``npc-kg assess-cohort COHORT.nt --workers N`` end to end, the baseline.

It prints patients/s of each stage, the ratio of the FHIR path to the N-Triples path, and checks
that both paths give every patient the same row (verdict and criterion statuses): the
differential at the benchmark's size. ``--profile`` runs the FHIR path in one process under
cProfile and prints the top functions by cumulative time. Timings are wall-clock; "CPU s" is the
CPU time of the stage's processes (its workers included), which shows the work when other
processes share the cores; the last column is each stage's peak resident memory.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SYNTH_MAPPING = ROOT / "tests" / "data" / "fhir" / "synth-mapping.yaml"
AT = "2026-01-01T00:00:00Z"  # the reference date of mappings/fhir-synth.yaml: the ages drawn


def _peak_mb() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return max(own, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)


def child(stage: str, folder: str, nt_path: str, out: str, workers: int) -> None:
    """Run one stage and print a JSON line: seconds, patients, CPU seconds, peak memory."""
    start = time.perf_counter()
    result: dict[str, Any] = {}
    if stage == "json":
        import orjson

        count = 0
        for path in sorted(Path(folder).glob("*.ndjson")):
            with path.open("rb") as handle:
                for line in handle:
                    orjson.loads(line)
                    count += 1
        result["lines"] = count
    elif stage == "read":
        from datetime import date

        from npc_kg.fhir import BulkExport, FhirPatient, load_fhir_mapping

        export = BulkExport([folder], mapping=load_fhir_mapping([SYNTH_MAPPING]), at=date(2026, 1, 1))
        pass1 = time.perf_counter()
        export.index()
        result["pass1_seconds"] = time.perf_counter() - pass1
        triples = patients = 0
        for item in export.records():
            patients += 1
            if isinstance(item, FhirPatient):
                triples += len(item.ntriples(bridges=False))
        result.update(patients=patients, triples=triples,
                      index_mb=sum(b.itemsize * len(b) for b in export.index().entries.values()) / 1e6)
    elif stage in ("fhir", "nt"):
        from npc_kg.cohort import assess_cohort

        source, mapping = (folder, SYNTH_MAPPING) if stage == "fhir" else (nt_path, None)
        summary = assess_cohort([source], out, workers=workers, progress=False, at=AT, mapping=mapping)
        result["patients"] = summary.rows
    elif stage == "profile":
        import cProfile
        import pstats

        from npc_kg.cohort import assess_cohort

        profiler = cProfile.Profile()
        profiler.enable()
        summary = assess_cohort([folder], out, workers=1, progress=False, at=AT, mapping=SYNTH_MAPPING)
        profiler.disable()
        result["patients"] = summary.rows
        stats = pstats.Stats(profiler, stream=sys.stderr).sort_stats("cumulative")
        stats.print_stats(35)
    else:
        raise SystemExit(f"unknown stage {stage}")
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    result.update(seconds=time.perf_counter() - start, peak_mb=_peak_mb(),
                  cpu_seconds=own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime)
    print(json.dumps(result))


def run(stage: str, folder: Path, nt_path: Path, out: Path, workers: int) -> dict[str, Any]:
    command = [sys.executable, __file__, "--child", stage, "--folder", str(folder), "--nt", str(nt_path),
               "--out", str(out), "--workers", str(workers)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{stage} failed:\n{done.stderr[-3000:]}")
    if stage == "profile":
        print(done.stderr)
    return json.loads(done.stdout.strip().splitlines()[-1])


def _differences(fhir_csv: Path, nt_csv: Path) -> tuple[int, int]:
    """(patients, patients whose FHIR row differs from their N-Triples row)."""
    def rows(path: Path) -> dict[str, dict[str, str]]:
        with path.open(newline="", encoding="utf-8") as handle:
            return {row["patient"]: row for row in csv.DictReader(handle)}

    fhir, nt = rows(fhir_csv), rows(nt_csv)
    return len(nt), sum(1 for patient, row in nt.items() if fhir.get(patient) != row) + len(fhir.keys() - nt.keys())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--profile", action="store_true", help="also profile the FHIR path in one process (cProfile)")
    parser.add_argument("--child")
    parser.add_argument("--folder")
    parser.add_argument("--nt")
    parser.add_argument("--out")
    args = parser.parse_args()
    if args.child:
        child(args.child, args.folder, args.nt, args.out, args.workers)
        return 0
    sys.path.insert(0, str(ROOT))
    from npc_kg.cohort.synth import synth

    with tempfile.TemporaryDirectory(prefix="npc-kg-fhir-bench-") as tmp:
        folder, nt_path = Path(tmp) / "export", Path(tmp) / "cohort.nt"
        start = time.perf_counter()
        synth(args.n, args.seed, folder, fmt="fhir-ndjson")
        synth(args.n, args.seed, nt_path)
        files = sorted(folder.glob("*.ndjson"))
        lines = sum(1 for path in files for _ in path.open("rb"))
        size = sum(p.stat().st_size for p in files)
        print(f"synthetic export: {args.n:,} patients, {lines:,} resource lines ({lines / args.n:.1f} a patient), "
              f"{size / 1e6:.0f} MB in {len(files)} files; N-Triples {nt_path.stat().st_size / 1e6:.0f} MB; "
              f"made in {time.perf_counter() - start:.0f} s")
        w = args.workers
        stages = [("json", "orjson parse of every NDJSON line (floor)", 1),
                  ("read", "npc_kg.fhir: index + read + map to N-Triples, 1 process", 1),
                  ("fhir", f"FHIR end to end: assess-cohort EXPORT --workers {w}", w),
                  ("nt", f"N-Triples end to end: assess-cohort COHORT.nt --workers {w}", w)]
        results: dict[str, dict[str, Any]] = {}
        print(f"\n{'stage':<62} {'seconds':>8} {'patients/s':>11} {'CPU s':>7} {'peak MB':>8}")
        for stage, label, workers in stages:
            out = Path(tmp) / f"{stage}.csv"
            result = results[stage] = run(stage, folder, nt_path, out, workers)
            rate = args.n / result["seconds"]
            result["rate"] = rate
            print(f"{label:<62} {result['seconds']:8.1f} {rate:11,.0f} {result['cpu_seconds']:7.1f} {result['peak_mb']:8.0f}")
            if stage == "read":
                print(f"{'':<4}pass 1 (index every line) {result['pass1_seconds']:.1f} s; {result['triples']:,} triples; "
                      f"pass-1 index {result['index_mb']:.1f} MB")
        patients, differ = _differences(Path(tmp) / "fhir.csv", Path(tmp) / "nt.csv")
        fhir, nt = results["fhir"]["rate"], results["nt"]["rate"]
        print(f"\nFHIR end to end ({w} workers): {fhir:,.0f} patients/s (target >= 1,000: "
              f"{'met' if fhir >= 1000 else 'MISSED'})")
        print(f"N-Triples end to end ({w} workers): {nt:,.0f} patients/s; FHIR / N-Triples: {fhir / nt:.2f}x the rate "
              f"({nt / fhir:.1f}x the time)")
        print(f"FHIR end to end vs the JSON parse floor: {results['json']['rate'] / fhir:.1f}x the time")
        cpu_fhir, cpu_nt = (results[k]["cpu_seconds"] * 1000 / args.n for k in ("fhir", "nt"))
        print(f"CPU per patient (all processes; unaffected by other load on the machine): FHIR {cpu_fhir:.2f} ms, "
              f"N-Triples {cpu_nt:.2f} ms ({cpu_fhir / cpu_nt:.1f}x); of FHIR, reading + mapping alone "
              f"{results['read']['cpu_seconds'] * 1000 / args.n:.2f} ms")
        print(f"differential: {differ} of {patients:,} patients have a different row from FHIR and from N-Triples")
        if args.profile:
            print("\nprofile of the FHIR path in one process (cumulative time):")
            run("profile", folder, nt_path, Path(tmp) / "profile.csv", 1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
