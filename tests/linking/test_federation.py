"""The federated-linking example: npc-kg joined with a MONDO-style slice on a second Oxigraph server."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import socket
from collections.abc import Iterator
from types import ModuleType

import pytest
from rdflib import RDFS, Graph, URIRef

import npc_kg
from npc_kg.errors import UnsafeQueryError
from npc_kg.rdfio import parse_file
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


def _import() -> Graph:
    return parse_file(example.MONDO_IMPORT, "turtle")


def test_mondo_context_joins_both_graphs(endpoint: str) -> None:
    rows = example.mondo_context(endpoint)
    assert rows
    assert {row["term"] for row in rows} == {"https://w3id.org/npc-kg/NasopharyngealCarcinoma"}
    assert {row["mondoLabel"] for row in rows} == {"nasopharyngeal carcinoma"}
    # the real MONDO ancestors, read from the import the server serves (37 of them)
    imported = _import()
    mondo = URIRef("http://purl.obolibrary.org/obo/MONDO_0015459")
    ancestors = set(imported.transitive_objects(mondo, RDFS.subClassOf)) - {mondo}
    assert len(ancestors) == 37
    assert {row["ancestorLabel"] for row in rows} == {str(imported.value(a, RDFS.label)) for a in ancestors}


def test_evidence_below_a_mondo_class(endpoint: str) -> None:
    rows = example.evidence_under(endpoint)  # the query's default: MONDO:0002038 head and neck carcinoma
    items = {row["item"] for row in rows}
    assert "https://w3id.org/npc-kg/kb/stmt-000-npc-sensitive-to-radiotherapy" in items
    assert "https://w3id.org/npc-kg/kb/pop-001-cohort" in items  # through recurrence after radiotherapy, a subclass
    assert {row["term"] for row in rows} == {"https://w3id.org/npc-kg/NasopharyngealCarcinoma"}


def test_remote_hierarchy_filters(endpoint: str) -> None:
    # a MONDO class of the import that is not an ancestor of MONDO:0015459 (pharynx carcinoma in situ)
    assert example.evidence_under(endpoint, "http://purl.obolibrary.org/obo/MONDO_0000372") == []


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


def test_the_example_serves_the_real_mondo_import() -> None:
    assert data_path("ontology", "imports", "mondo_import.ttl") == example.MONDO_IMPORT
    assert (example.HERE / "mondo-slice.ttl").exists() is False  # the hand-made slice is gone
    assert "Monarch Initiative" in example.MONDO_IMPORT.read_text(encoding="utf-8")


def test_cli_runs_the_federated_query_with_opt_in(endpoint: str, cli) -> None:
    query = str(example.CONTEXT_QUERY)
    refused = cli("query", query, "--backend", "oxigraph", "-p", f"mondo={endpoint}")
    assert refused.returncode == 2 and "SERVICE" in refused.stderr
    result = cli("query", query, "--backend", "oxigraph", "--allow-network", "-p", f"mondo={endpoint}", "-f", "json", check=True)
    rows = json.loads(result.stdout)
    assert {row["mondoClass"] for row in rows} == {"http://purl.obolibrary.org/obo/MONDO_0015459"}
