"""Where the local engine's time goes, stage by stage, against the bare pyoxigraph parse (same run).

    python benchmarks/local_engine.py [--n 20000] [--seed 1] [--batch-size 1000] [--keep DIR]

Writes one synthetic cohort (``npc-kg synth``), then in this process: the bare pyoxigraph parse
of the whole file (the floor), and the local engine's stages per batch: the record reader (line
grouping), reading the batch's triples into the index (the strict N-Triples reader of
:mod:`npc_kg.cohort.ntriples`; ``--parser pyoxigraph`` measures the pyoxigraph parse and the
indexing separately instead), evaluating the shapes, and writing the CSV rows. The C accelerator
(``npc_kg/cohort/_ntscan.c``) is used if built, unless ``--no-native``. Prints one JSON line per
measure and the ratio to the floor. The first batches also fill the signature memos (cold start
is included, as in a real run).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--keep", help="folder for the cohort (kept; reused if present)")
    parser.add_argument("--parser", choices=("strict", "pyoxigraph"), default="strict")
    parser.add_argument("--no-native", action="store_true", help="pure Python even if the C accelerator is built")
    args = parser.parse_args()
    if args.no_native:
        os.environ["NPC_KG_NO_NATIVE"] = "1"

    import pyoxigraph as ox

    from npc_kg.cohort.evaluate import batch_quads
    from npc_kg.cohort.ntriples import NotStrict
    from npc_kg.cohort.reader import iter_batches
    from npc_kg.cohort.synth import synth
    from npc_kg.cohort.writer import RowWriter
    from npc_kg.core.rules import rows_of
    from npc_kg.shacl.closures import gc_paused
    from npc_kg.shacl.engines import package_engines

    folder = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="npc-kg-local-"))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"cohort-{args.n}-{args.seed}.nt"
    if not path.exists():
        synth(args.n, args.seed, path)

    start = time.perf_counter()
    triples = sum(1 for _ in ox.parse(path=str(path), format=ox.RdfFormat.N_TRIPLES))
    floor = time.perf_counter() - start

    engines = package_engines()
    engine = engines.closures()
    criteria, implemented = engines.criteria(), engines.plan.implemented
    stages = {"read": 0.0, "parse": 0.0, "index": 0.0, "evaluate": 0.0, "write": 0.0}
    if args.parser == "strict":
        del stages["parse"]
    rows = 0
    sink = io.StringIO()
    writer = RowWriter(sink, "bench.csv", "csv", criteria)
    start = time.perf_counter()
    mark = start
    for batch in iter_batches(path, batch_size=args.batch_size):
        now = time.perf_counter()
        stages["read"] += now - mark
        with gc_paused():  # as npc_kg.cohort.evaluate.assess_batch does
            if args.parser == "strict":
                try:
                    idx = engine.index_strict(batch.data)
                except NotStrict:
                    quads, batch = batch_quads(batch)
                    idx = engine.index(quads)
                mark, now = now, time.perf_counter()
                stages["index"] += now - mark
            else:
                quads, batch = batch_quads(batch)
                mark = time.perf_counter()
                stages["parse"] += mark - now
                idx = engine.index(quads)
                now = time.perf_counter()
                stages["index"] += now - mark
            patients, hits = engine.hits(idx)
            out = rows_of(patients, hits, criteria, implemented, batch.roots)
            del idx
        mark = time.perf_counter()
        stages["evaluate"] += mark - now
        writer.write(out)
        rows += len(out)
        now = time.perf_counter()
        stages["write"] += now - mark
        mark = now
    total = time.perf_counter() - start
    writer.close()
    print(json.dumps({"measure": "pyoxigraph parse only (floor)", "patients": args.n, "triples": triples,
                      "seconds": round(floor, 3), "patients_per_s": round(args.n / floor)}))
    from npc_kg.cohort.native import load_native

    print(json.dumps({"measure": "closure evaluator (local engine), one process", "native": load_native() is not None,
                      "patients": rows, "seconds": round(total, 3),
                      "patients_per_s": round(rows / total), "x_floor": round(total / floor, 2),
                      **{f"{k}_s": round(v, 3) for k, v in stages.items()},
                      **{f"{k}_us_per_patient": round(v / rows * 1e6) for k, v in stages.items()}}))


if __name__ == "__main__":
    main()
