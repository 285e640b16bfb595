"""Federated linking example: join npc-kg with a MONDO-style graph served by a second Oxigraph.

Run it from the repository root::

    python examples/federation/federation.py            # starts its own server on a free port
    python examples/federation/federation.py --endpoint http://127.0.0.1:7879/query

It starts ``oxigraph serve-read-only`` on a loopback port with npc-kg's real MONDO import
(``ontology/imports/mondo_import.ttl``: MONDO:0015459 and all its MONDO ancestors, CC BY 4.0,
Mondo Disease Ontology, Monarch Initiative), then runs the two federated queries of this folder
through ``npc_kg.query``
on the embedded pyoxigraph backend with ``allow_network=True``. The SERVICE endpoint is a query
parameter (``?mondo``), bound as an RDF term, never formatted into the query text.
"""

from __future__ import annotations

import argparse
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import npc_kg
from npc_kg.resources import data_path

HERE = Path(__file__).resolve().parent
MONDO_IMPORT = data_path("ontology", "imports", "mondo_import.ttl")
CONTEXT_QUERY = HERE / "mondo-context.rq"
EVIDENCE_QUERY = HERE / "evidence-under-mondo-class.rq"

__all__ = ["free_port", "main", "mondo_context", "evidence_under", "mondo_server"]


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _ready(endpoint: str) -> bool:
    url = endpoint + "?" + urllib.parse.urlencode({"query": "ASK { ?s ?p ?o }"})
    request = urllib.request.Request(url, headers={"Accept": "application/sparql-results+json"})
    try:
        with urllib.request.urlopen(request, timeout=1) as response:
            return bool(response.status == 200 and b"true" in response.read())
    except (urllib.error.URLError, OSError):
        return False


@contextmanager
def mondo_server(port: int | None = None, *, data: Path = MONDO_IMPORT, startup_timeout: float = 30.0) -> Iterator[str]:
    """Serve ``data`` with ``oxigraph serve-read-only`` on 127.0.0.1; yield the query endpoint URL.

    Raises :class:`FileNotFoundError` if the ``oxigraph`` command (pip package ``oxigraph``) is
    missing. The server and its temporary store are removed on exit.
    """
    binary = shutil.which("oxigraph")
    if binary is None:
        raise FileNotFoundError("the 'oxigraph' server command is not installed (pip install oxigraph)")
    port = port or free_port()
    with tempfile.TemporaryDirectory(prefix="npc-kg-mondo-") as location:
        load = [binary, "load", "--location", location, "--file", str(data)]
        subprocess.run(load, check=True, capture_output=True, timeout=120)
        process = subprocess.Popen(
            [binary, "serve-read-only", "--location", location, "--bind", f"127.0.0.1:{port}"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        endpoint = f"http://127.0.0.1:{port}/query"
        try:
            deadline = time.monotonic() + startup_timeout
            while not _ready(endpoint):
                if process.poll() is not None:
                    error = process.stderr.read().decode(errors="replace") if process.stderr else ""
                    raise RuntimeError(f"oxigraph exited with code {process.returncode}: {error.strip()}")
                if time.monotonic() > deadline:
                    raise TimeoutError(f"oxigraph did not answer on {endpoint} within {startup_timeout} s")
                time.sleep(0.1)
            yield endpoint
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


def mondo_context(endpoint: str) -> list[dict[str, Any]]:
    """Rows of ``mondo-context.rq``: npc-kg terms with their MONDO label and MONDO ancestors."""
    return list(npc_kg.query(CONTEXT_QUERY, backend="oxigraph", allow_network=True, mondo=endpoint))


def evidence_under(endpoint: str, ancestor: str | None = None) -> list[dict[str, Any]]:
    """Rows of ``evidence-under-mondo-class.rq``: npc-kg items about diseases below ``ancestor``
    (a MONDO class IRI or CURIE; the query's declared default when None)."""
    return list(npc_kg.query(EVIDENCE_QUERY, backend="oxigraph", allow_network=True, mondo=endpoint, ancestor=ancestor))


def _print(rows: list[dict[str, Any]], columns: list[str]) -> None:
    for row in rows:
        print("  " + " | ".join(str(row.get(column)) for column in columns))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoint", help="use this running MONDO endpoint instead of starting one")
    parser.add_argument("--port", type=int, help="port for the server this script starts (default: a free one)")
    args = parser.parse_args(argv)

    def run(endpoint: str) -> None:
        print(f"MONDO endpoint: {endpoint}")
        print("npc-kg terms and their MONDO ancestors:")
        _print(mondo_context(endpoint), ["term", "mondoClass", "mondoLabel", "ancestorLabel"])
        print("npc-kg items about diseases below MONDO's 'head and neck carcinoma' (MONDO:0002038):")
        _print(evidence_under(endpoint), ["item", "itemLabel", "term"])

    if args.endpoint:
        run(args.endpoint)
    else:
        with mondo_server(args.port) as endpoint:
            run(endpoint)
    return 0


if __name__ == "__main__":
    sys.exit(main())
