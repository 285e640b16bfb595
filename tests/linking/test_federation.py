"""The federated-linking example: npc-kg joined with a MONDO-style slice on a second Oxigraph server."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import socket
from collections.abc import Iterator
from types import ModuleType

import pytest

import npc_kg
from npc_kg.errors import UnsafeQueryError
from npc_kg.resources import data_path

pytestmark = pytest.mark.server


def _load_example() -> ModuleType:
    path = data_path("examples", "federation", "federation.py")
    spec = importlib.util.spec_from_file_location("npc_kg_federation_example", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


example = _load_example()


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    if shutil.which("oxigraph") is None and not os.environ.get("CI"):
        pytest.skip("the oxigraph server command is not installed (pip install oxigraph); required in CI")
    with example.mondo_server() as url:
        yield url


def test_mondo_context_joins_both_graphs(endpoint: str) -> None:
    rows = example.mondo_context(endpoint)
    assert rows
    assert {row["term"] for row in rows} == {"https://w3id.org/npc-kg/NasopharyngealCarcinoma"}
    assert {row["mondoLabel"] for row in rows} == {"nasopharyngeal carcinoma"}
    assert {row["ancestorLabel"] for row in rows} == {
        "head and neck carcinoma (illustrative)",
        "nasopharynx neoplasm (illustrative)",
        "cancer (illustrative)",
        "disease (illustrative root)",
    }


def test_evidence_below_a_mondo_class(endpoint: str) -> None:
    items = {row["item"] for row in example.evidence_under(endpoint)}
    assert "https://w3id.org/npc-kg/kb/stmt-000-npc-sensitive-to-radiotherapy" in items
    assert all(row["term"] == "https://w3id.org/npc-kg/NasopharyngealCarcinoma" for row in example.evidence_under(endpoint))


def test_remote_hierarchy_filters(endpoint: str) -> None:
    # a sibling class that npc-kg says nothing about: the SERVICE pattern must remove every row
    assert example.evidence_under(endpoint, "https://example.org/mondo-slice/oral-cavity-carcinoma") == []


def test_service_is_refused_without_opt_in(endpoint: str) -> None:
    with pytest.raises(UnsafeQueryError):
        npc_kg.query(example.CONTEXT_QUERY, backend="oxigraph", mondo=endpoint)


def test_server_stops_after_use() -> None:
    if shutil.which("oxigraph") is None and not os.environ.get("CI"):
        pytest.skip("the oxigraph server command is not installed; required in CI")
    port = example.free_port()
    with example.mondo_server(port) as url:
        assert url == f"http://127.0.0.1:{port}/query"
    with socket.socket() as sock:
        assert sock.connect_ex(("127.0.0.1", port)) != 0


def test_slice_uses_no_invented_mondo_ids() -> None:
    text = example.SLICE.read_text(encoding="utf-8")
    body = "\n".join(line for line in text.splitlines() if not line.startswith("#"))
    assert set(re.findall(r"MONDO:\d+", body)) == {"MONDO:0015459"}
    assert text.startswith("# ILLUSTRATIVE TEST DATA, NOT MONDO.")


def test_cli_runs_the_federated_query_with_opt_in(endpoint: str, cli) -> None:
    query = str(example.CONTEXT_QUERY)
    refused = cli("query", query, "--backend", "oxigraph", "-p", f"mondo={endpoint}")
    assert refused.returncode == 2 and "SERVICE" in refused.stderr
    result = cli("query", query, "--backend", "oxigraph", "--allow-network", "-p", f"mondo={endpoint}", "-f", "json", check=True)
    rows = json.loads(result.stdout)
    assert {row["mondoClass"] for row in rows} == {"http://purl.obolibrary.org/obo/MONDO_0015459"}
