"""Benchmark the FHIR Bulk Data reader: reading + grouping + mapping to N-Triples, against baselines.

    python benchmarks/fhir_bulk.py [--n 100000] [--seed 1] [--workers 2]

Makes a synthetic Bulk Data export (NDJSON, one file per resource type, resources of a patient
spread over the files) from the same synthetic cohort as ``npc-kg synth`` (the distributions of
``npc_kg.cohort.synth``), converted to mCODE-shaped resources here (``npc-kg synth --format
fhir-ndjson`` comes later). No patient is real. Each stage then runs in its own subprocess:

- ``json``      the floor: every line parsed once with orjson (no grouping, no mapping);
- ``fhir``      ``npc_kg.fhir``: pass 1 index + per-patient read + mapping + N-Triples lines, 1 process;
- ``fhir-N``    the same in N forked workers sharing pass 1 (``BulkExport.records(shard=k, shards=N)``);
- ``nt``        the N-Triples path of the same cohort: ``npc_kg.assess_cohort`` on ``npc-kg synth``'s
                ``.nt`` with N workers (parse + assess + write CSV), the pipeline FHIR input will feed.

Timings are wall-clock; "CPU s" is the CPU time of the stage's processes (its workers included),
which shows the work when other processes share the cores; the last column is each stage's peak
resident memory.
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
from typing import Any

# Codes of mappings/fhir-codes.sssom.tsv and mappings/fhir-mcode.yaml; the findings with no public
# code use the test code system of tests/data/fhir/site-mapping.yaml (read with --mapping).
SITE_MAPPING = Path(__file__).resolve().parent.parent / "tests" / "data" / "fhir" / "site-mapping.yaml"
SCT, ICD, LOINC, HPO, TEST = ("http://snomed.info/sct", "http://hl7.org/fhir/sid/icd-10-cm", "http://loinc.org",
                              "http://human-phenotype-ontology.org", "urn:npc-kg:test:findings")
CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
MCODE = "http://hl7.org/fhir/us/mcode/StructureDefinition/"
CONDITION_CODES = {  # finding key -> (system, code) of a Condition saying it (present or refuted)
    "skull-base": (TEST, "skull-base-bone-destruction"),
    "cranial-nerve": (HPO, "HP:0006824"),
    "neck-adherent": (TEST, "neck-lesion-adherent"),
    "frailty": (HPO, "HP:0033675"),
    "other": (TEST, "other-contraindication"),
    "hepatic": (HPO, "HP:0001399"),
    "renal": (HPO, "HP:0000083"),
}
JUDGEMENTS = {"advanced-age": "advanced-age", "poor-condition": "poor-general-condition"}


def _cc(system: str, code: str) -> dict[str, Any]:
    return {"coding": [{"system": system, "code": code}]}


def fhir_resources(patient: Any) -> list[dict[str, Any]]:
    """One synthetic patient (npc_kg.cohort.synth.SynthPatient) as mCODE-shaped FHIR resources."""
    pid = patient.identifier or patient.iri.rsplit("/", 1)[-1]
    subject = {"reference": f"Patient/{pid}"}
    props = {p.rsplit("/", 1)[-1]: o for p, o in patient.props}
    out: list[dict[str, Any]] = [{"resourceType": "Patient", "id": pid,
                                  "meta": {"profile": [MCODE + "mcode-cancer-patient"]}}]
    recurrences = [f for f in patient.findings if f.key.startswith("recurrence-")]
    present = [f for f in recurrences if any(s.endswith("Present") for s in f.statuses)]
    out.append({"resourceType": "Condition", "id": f"{pid}-npc",
                "clinicalStatus": _cc(CLINICAL, "recurrence" if present else "active"),
                "verificationStatus": _cc(VERIFICATION, "confirmed"), "code": _cc(ICD, "C11.9"), "subject": subject})
    if present:
        fprops = {p.rsplit("/", 1)[-1]: o for p, o in present[0].props}
        for loinc, key in (("21911-3", "rTCategory"), ("21912-1", "rNCategory")):
            if key in fprops:
                out.append({"resourceType": "Observation", "id": f"{pid}-{key}", "status": "final",
                            "code": _cc(LOINC, loinc), "subject": subject, "effectiveDateTime": "2024-05-02",
                            "valueCodeableConcept": {"text": fprops[key].strip("<>").rsplit("/", 1)[-1]}})
    if "ecogPerformanceStatus" in props:
        out.append({"resourceType": "Observation", "id": f"{pid}-ecog", "status": "final", "code": _cc(LOINC, "89247-1"),
                    "subject": subject, "effectiveDateTime": "2024-05-02",
                    "valueInteger": int(props["ecogPerformanceStatus"].split('"')[1])})
    for n in range(int(props["radiotherapyCourses"].split('"')[1]) if "radiotherapyCourses" in props else 0):
        out.append({"resourceType": "Procedure", "id": f"{pid}-course-{n + 1}", "status": "completed",
                    "code": _cc(SCT, "1217123003"), "subject": subject,
                    "performedPeriod": {"start": "2021-04-01", "end": "2021-05-20"}})
    for finding in patient.findings:
        if finding.key.startswith("recurrence-") or not finding.statuses:
            continue
        is_present = finding.statuses[0].endswith("Present")
        rid = f"{pid}-{finding.key}"
        if finding.key == "distant-metastasis":
            if is_present:
                out.append({"resourceType": "Condition", "id": rid, "clinicalStatus": _cc(CLINICAL, "active"),
                            "verificationStatus": _cc(VERIFICATION, "confirmed"), "code": _cc(ICD, "C79.51"),
                            "subject": subject})
            else:
                out.append({"resourceType": "Observation", "id": rid, "status": "final", "code": _cc(SCT, "399387003"),
                            "subject": subject, "effectiveDateTime": "2024-05-02",
                            "valueCodeableConcept": _cc(SCT, "1229901006")})
        elif finding.key in JUDGEMENTS:
            out.append({"resourceType": "Observation", "id": rid, "status": "final",
                        "code": _cc(TEST, JUDGEMENTS[finding.key]), "subject": subject, "valueBoolean": is_present})
        elif finding.key in ("hepatic", "renal") and not is_present:
            system, code = CONDITION_CODES[finding.key]
            out.append({"resourceType": "Observation", "id": rid, "status": "final", "code": _cc(SCT, "398192003"),
                        "subject": subject, "extension": [{"url": MCODE + "mcode-related-condition-absent",
                                                           "valueCodeableConcept": _cc(system, code)}]})
        else:
            system, code = CONDITION_CODES[finding.key]
            status = {"clinicalStatus": _cc(CLINICAL, "active"), "verificationStatus": _cc(VERIFICATION, "confirmed")} \
                if is_present else {"verificationStatus": _cc(VERIFICATION, "refuted")}
            out.append({"resourceType": "Condition", "id": rid, **status, "code": _cc(system, code), "subject": subject})
    return out


def make_export(n: int, seed: int, folder: Path) -> tuple[int, int]:
    """Write the export (files per resource type); return (patients, resource lines)."""
    import orjson

    from npc_kg.cohort.synth import generate

    handles: dict[str, Any] = {}
    lines = 0
    try:
        for patient in generate(n, seed):
            for res in fhir_resources(patient):
                kind = res["resourceType"]
                if kind not in handles:
                    handles[kind] = (folder / f"{kind}.ndjson").open("wb")
                handles[kind].write(orjson.dumps(res) + b"\n")
                lines += 1
    finally:
        for handle in handles.values():
            handle.close()
    return n, lines


def _peak_mb() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return max(own, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)


def child(stage: str, folder: str, nt_path: str, workers: int) -> None:
    """Run one stage and print a JSON line: seconds, patients."""
    start = time.perf_counter()
    if stage == "json":
        import orjson

        count = 0
        for path in sorted(Path(folder).glob("*.ndjson")):
            with path.open("rb") as handle:
                for line in handle:
                    orjson.loads(line)
                    count += 1
        result: dict[str, Any] = {"lines": count}
    elif stage.startswith("fhir"):
        from npc_kg.fhir import BulkExport, FhirPatient, load_fhir_mapping

        export = BulkExport([folder], mapping=load_fhir_mapping([SITE_MAPPING]))
        pass1 = time.perf_counter()
        export.index()
        pass1 = time.perf_counter() - pass1
        shards = workers if stage != "fhir" else 1
        read = 0
        if shards == 1:
            patients = triples = 0
            for patients, item in enumerate(export.records(), start=1):  # noqa: B007 - the count is used below
                if isinstance(item, FhirPatient):
                    triples += len(item.ntriples(bridges=False))
                    read += 1
        else:
            import gc
            import multiprocessing

            global _EXPORT
            _EXPORT = export  # pass 1 done before the fork: the workers share the index
            gc.freeze()  # keep the index's pages shared with the workers (no copy-on-write by the GC)
            context = multiprocessing.get_context("fork")
            with context.Pool(shards) as pool:
                parts = pool.starmap(_shard, [(k, shards) for k in range(shards)])
            patients = sum(p for p, _t, _r in parts)
            triples = sum(t for _p, t, _r in parts)
            read = sum(r for _p, _t, r in parts)
        result = {"patients": patients, "triples": triples, "mapped": read, "index_bytes": _index_bytes(export),
                  "pass1_seconds": pass1}
    elif stage == "nt":
        from npc_kg.cohort import assess_cohort

        with tempfile.TemporaryDirectory() as out:
            summary = assess_cohort(nt_path, Path(out) / "rows.csv", workers=workers, progress=False)
        result = {"patients": summary.rows}
    else:
        raise SystemExit(f"unknown stage {stage}")
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime
    result.update(seconds=time.perf_counter() - start, peak_mb=_peak_mb(), cpu_seconds=cpu)
    print(json.dumps(result))


_EXPORT: Any = None


def _shard(k: int, shards: int) -> tuple[int, int, int]:
    from npc_kg.fhir import FhirPatient

    patients = triples = read = 0
    for item in _EXPORT.records(shard=k, shards=shards):
        patients += 1
        if isinstance(item, FhirPatient):
            triples += len(item.ntriples(bridges=False))
            read += 1
    return patients, triples, read


def _index_bytes(export: Any) -> int:
    index = export.index()
    return sum(bucket.itemsize * len(bucket) for bucket in index.entries.values())


def run(stage: str, folder: Path, nt_path: Path, workers: int) -> dict[str, Any]:
    command = [sys.executable, __file__, "--child", stage, "--folder", str(folder), "--nt", str(nt_path),
               "--workers", str(workers)]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{stage} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--child")
    parser.add_argument("--folder")
    parser.add_argument("--nt")
    args = parser.parse_args()
    if args.child:
        child(args.child, args.folder, args.nt, args.workers)
        return 0
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from npc_kg.cohort.synth import synth

    with tempfile.TemporaryDirectory(prefix="npc-kg-fhir-bench-") as tmp:
        folder = Path(tmp) / "export"
        folder.mkdir()
        start = time.perf_counter()
        patients, lines = make_export(args.n, args.seed, folder)
        nt_path = Path(tmp) / "cohort.nt"
        synth(args.n, args.seed, nt_path)
        size = sum(p.stat().st_size for p in folder.glob("*.ndjson"))
        print(f"synthetic export: {patients:,} patients, {lines:,} resource lines ({lines / patients:.1f} a patient), "
              f"{size / 1e6:.0f} MB in {len(list(folder.glob('*.ndjson')))} files; made in {time.perf_counter() - start:.0f} s")
        stages = [("json", "orjson parse of every line (floor)", 1), ("fhir", "npc_kg.fhir read + group + map, 1 process", 1),
                  (f"fhir-{args.workers}", f"npc_kg.fhir read + group + map, {args.workers} workers", args.workers),
                  ("nt", f"N-Triples path: assess_cohort on the .nt, {args.workers} workers", args.workers)]
        results = {}
        print(f"\n{'stage':<58} {'seconds':>8} {'patients/s':>11} {'CPU s':>7} {'peak MB':>8}")
        for stage, label, workers in stages:
            result = run(stage, folder, nt_path, workers)
            rate = patients / result["seconds"]
            results[stage] = rate
            print(f"{label:<58} {result['seconds']:8.1f} {rate:11,.0f} {result['cpu_seconds']:7.1f} "
                  f"{result['peak_mb']:8.0f}")
            if stage.startswith("fhir"):
                print(f"{'':<4}pass 1 (index every line) {result['pass1_seconds']:.1f} s, pass 2 (read + map) "
                      f"{result['seconds'] - result['pass1_seconds']:.1f} s")
            if stage == "fhir":
                print(f"{'':<4}patients out {result['patients']:,} (mapped {result['mapped']:,}), "
                      f"{result['triples']:,} triples; pass-1 index {result['index_bytes'] / 1e6:.1f} MB")
        fhir_best = results[f"fhir-{args.workers}"]
        print(f"\nFHIR reading+mapping ({args.workers} workers) vs the JSON parse floor: "
              f"{results['json'] / fhir_best:.1f}x the time")
        print(f"FHIR reading+mapping ({args.workers} workers) vs the N-Triples path (parse+assess): "
              f"{results['nt'] / fhir_best:.1f}x the time")
        print(f"target for the whole FHIR pipeline: >= 1,000 patients/s with --workers 2; reading+mapping alone: "
              f"{fhir_best:,.0f} patients/s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
