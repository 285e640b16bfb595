"""Load benchmark of the CDS Hooks service: patient-view calls from concurrent clients (not a timed test).

    python benchmarks/service_load.py [--calls 500] [--clients 16] [--baseline 100]

Starts ``npc-kg serve`` (uvicorn, one process) on a free 127.0.0.1 port with the test suite's
site mapping, then sends ``--calls`` ``POST /cds-services/npc-kg-salvage-surgery`` requests
from ``--clients`` concurrent clients (asyncio + httpx, one keep-alive connection each). The
prefetches are made from the synthetic NPC bundles of ``tests/data/fhir/valid`` (every verdict
and the out-of-scope outcome; no patient is real), split into the Patient and the Condition,
Observation and Procedure searchsets as an EHR sends them. It prints p50, p95 and max latency,
throughput and the error count (any status other than 200 or a response without cards), which
must be 0: the exit code is 1 otherwise.

Baseline in the same run: ``--baseline`` of the same prefetches read and assessed in this
process, one after another, with no HTTP (``patient_from_prefetch`` + ``assess_input``); the
ratio shows what HTTP, JSON, the report page and queueing behind 16 clients add. The clients
run on the same machine as the server and share its cores.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
VALID = ROOT / "tests" / "data" / "fhir" / "valid"
SITE = ROOT / "tests" / "data" / "fhir" / "site-mapping.yaml"
SERVICE = "/cds-services/npc-kg-salvage-surgery"
SEARCHSETS = {"conditions": "Condition", "observations": "Observation", "procedures": "Procedure"}


def hook_request(bundle_path: Path) -> dict[str, Any]:
    """A patient-view request whose prefetch holds the resources of ``bundle_path``."""
    bundle = json.loads(bundle_path.read_text(encoding="utf-8"))
    resources = [(entry.get("fullUrl"), entry["resource"]) for entry in bundle.get("entry", [])]
    patients = [r for _u, r in resources if r["resourceType"] == "Patient"]
    if len(patients) != 1:
        raise ValueError("not one Patient")
    prefetch: dict[str, Any] = {"patient": patients[0]}
    for key, kind in SEARCHSETS.items():
        entries = [{"fullUrl": url, "resource": r, "search": {"mode": "match"}} for url, r in resources
                   if r["resourceType"] == kind]
        prefetch[key] = {"resourceType": "Bundle", "type": "searchset", "total": len(entries), "entry": entries}
    return {"hook": "patient-view", "hookInstance": f"bench-{bundle_path.stem}",
            "context": {"userId": "Practitioner/bench", "patientId": patients[0]["id"]}, "prefetch": prefetch}


def requests() -> list[dict[str, Any]]:
    out = []
    for path in sorted(VALID.glob("*.json")):
        try:
            out.append(hook_request(path))
        except (ValueError, KeyError):
            continue  # a single-resource file: no Patient to view
    return out


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(port: int) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-c", "from npc_kg.cli import run; raise SystemExit(run())", "serve",
               "--port", str(port), "--mapping", str(SITE)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    import httpx

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit("npc-kg serve exited before it answered")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/cds-services", timeout=2).status_code == 200:
                return server
        except httpx.HTTPError:
            time.sleep(0.2)
    server.terminate()
    raise SystemExit("npc-kg serve did not answer within 120 s")


async def load(base: str, bodies: list[dict[str, Any]], calls: int, clients: int) -> tuple[list[float], int, float]:
    import httpx

    latencies: list[float] = []
    errors = 0
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(calls):
        queue.put_nowait(i)

    async def client() -> None:
        nonlocal errors
        async with httpx.AsyncClient(base_url=base, timeout=120, limits=httpx.Limits(max_connections=1)) as http:
            while True:
                try:
                    i = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                start = time.perf_counter()
                try:
                    response = await http.post(SERVICE, json=bodies[i % len(bodies)])
                    ok = response.status_code == 200 and bool(response.json().get("cards"))
                except httpx.HTTPError:
                    ok = False
                latencies.append(time.perf_counter() - start)
                errors += not ok

    start = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    return latencies, errors, time.perf_counter() - start


def baseline(bodies: list[dict[str, Any]], n: int) -> list[float]:
    """Seconds per prefetch read and assessed in this process, no HTTP."""
    sys.path.insert(0, str(ROOT))
    from npc_kg.assessment.assess import assess_input, fhir_mapping
    from npc_kg.service.cds import patient_from_prefetch

    mapping = fhir_mapping([SITE])
    assess_input(patient_from_prefetch(bodies[0]["prefetch"], mapping), mapping=mapping)  # warm the caches
    out = []
    for i in range(n):
        start = time.perf_counter()
        assess_input(patient_from_prefetch(bodies[i % len(bodies)]["prefetch"], mapping), mapping=mapping)
        out.append(time.perf_counter() - start)
    return out


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--baseline", type=int, default=100, help="in-process assessments for the baseline (0: none)")
    args = parser.parse_args()
    bodies = requests()
    port = free_port()
    server = start_server(port)
    try:
        base = f"http://127.0.0.1:{port}"
        asyncio.run(load(base, bodies[:1], 1, 1))  # warm the server (first assessment builds its caches)
        latencies, errors, wall = asyncio.run(load(base, bodies, args.calls, args.clients))
    finally:
        server.terminate()
        server.wait(timeout=30)
    ms = [s * 1000 for s in latencies]
    print(f"{args.calls} patient-view calls, {args.clients} concurrent clients, {len(bodies)} distinct prefetches "
          f"(tests/data/fhir/valid), uvicorn on 127.0.0.1, {os.cpu_count()} cores shared with the clients")
    print(f"latency ms: p50 {pct(ms, 0.50):.0f}, p95 {pct(ms, 0.95):.0f}, max {max(ms):.0f}; "
          f"throughput {args.calls / wall:.1f} calls/s over {wall:.1f} s")
    print(f"errors: {errors}")
    if args.baseline:
        own = [s * 1000 for s in baseline(bodies, args.baseline)]
        p50 = statistics.median(own)
        print(f"baseline, in process, no HTTP, one at a time ({args.baseline} prefetches): p50 {p50:.0f} ms, "
              f"{1000 / statistics.mean(own):.1f} assessments/s")
        print(f"service p50 / in-process p50: {pct(ms, 0.50) / p50:.1f}x (queueing behind {args.clients} clients "
              f"included); service throughput / in-process rate: {args.calls / wall / (1000 / statistics.mean(own)):.2f}x")
    return 1 if errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
