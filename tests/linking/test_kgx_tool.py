"""``kgx validate`` and ``kgx transform`` (kgx 2.7.0) on the KGX export, offline.

kgx pins click<8.2 and duckdb<2, so it lives in the tools virtual environment (``.venv/tools`` of
the repository, made by ``.ci/run`` from ``.ci/tools-requirements.txt``; ``NPC_KG_TOOLS_PYTHON``
names another Python; ``tests/tools_venv.py``). ``tests/linking/kgx/kgx_offline.py`` points kgx at the Biolink model files of the
installed biolink-model package and refuses every socket connection, so these runs prove the
export validates without the network. The messages kgx still reports are the ones
``docs/linking.md`` lists and explains; any other message fails the test.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from tests.linking.conftest import run_cli
from tests.tools_venv import tools_python

LAUNCHER = Path(__file__).resolve().parent / "kgx" / "kgx_offline.py"

# The messages docs/linking.md explains: npc-kg's own prefixes are not in Biolink's JSON-LD context.
_TAIL = "with a CURIE prefix '{}' {}not represented in Biolink Model JSON-LD context"
EXPLAINED_ERRORS = {
    ("INVALID_NODE_PROPERTY_VALUE", "Node property 'id' has a value '{}' " + _TAIL.format("{}", "is ")),
    ("INVALID_EDGE_PROPERTY_VALUE", "Edge property 'subject' has a value '{}' " + _TAIL.format("{}", "that is ")),
    ("INVALID_EDGE_PROPERTY_VALUE", "Edge property 'object' has a value '{}' " + _TAIL.format("{}", "that is ")),
}
OWN_PREFIXES = {"npc", "kb"}
EXPLAINED_WARNING = re.compile(
    r"Skipping validation for Node property '(\w+)'\. Expected type 'string' v/s Actual type '<class 'str'>'"
)


def _kgx_python() -> str:
    """The tools environment's Python (default ``DEFAULT_PYTHON``, the repository's ``.venv/tools``)."""
    return tools_python()


@pytest.fixture(scope="module")
def export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("kgx-tool")
    result = run_cli(folder, "export", "--format", "kgx", "-o", "npc-kg")
    assert result.returncode == 0, result.stderr
    return folder


def _kgx(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([_kgx_python(), str(LAUNCHER), *args], cwd=folder, capture_output=True, text=True, timeout=300)


def _report(output: str) -> dict:
    """The JSON error report kgx validate prints (to stderr when not on a terminal)."""
    match = re.search(r"^\{", output, re.MULTILINE)
    if match is None:
        return {}
    report, _ = json.JSONDecoder().raw_decode(output[match.start() :])
    return report


@pytest.mark.slow
def test_kgx_validate_offline_reports_only_the_explained_messages(export: Path) -> None:
    run = _kgx(export, "validate", "-i", "tsv", "npc-kg_nodes.tsv", "npc-kg_edges.tsv")
    assert "network access refused" not in run.stdout + run.stderr
    assert "Traceback" not in run.stderr, run.stderr[-2000:]
    report = _report(run.stderr) or _report(run.stdout)
    unexplained = []
    seen_prefixes = set()
    for level, kinds in report.items():
        for kind, messages in kinds.items():
            for message in messages:
                match = re.search(r"value '([^']*)' with a CURIE prefix '([^']*)'", message)
                if level != "ERROR" or match is None or match.group(2) not in OWN_PREFIXES:
                    unexplained.append((level, kind, message))
                    continue
                seen_prefixes.add(match.group(2))
                generic = message.replace(match.group(1), "{}", 1).replace(f"'{match.group(2)}'", "'{}'", 1)
                if (kind, generic) not in EXPLAINED_ERRORS:
                    unexplained.append((level, kind, message))
    assert unexplained == []
    assert seen_prefixes == OWN_PREFIXES  # the explained messages do occur: the test would notice them go
    for line in (run.stdout + run.stderr).splitlines():
        if "WARNING" in line:
            assert EXPLAINED_WARNING.search(line), line


@pytest.mark.slow
def test_kgx_transform_offline_keeps_every_node_and_edge(export: Path) -> None:
    run = _kgx(export, "transform", "-i", "tsv", "-f", "jsonl", "-o", "out", "npc-kg_nodes.tsv", "npc-kg_edges.tsv")
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    nodes = [json.loads(line) for line in (export / "out_nodes.jsonl").read_text(encoding="utf-8").splitlines()]
    edges = [json.loads(line) for line in (export / "out_edges.jsonl").read_text(encoding="utf-8").splitlines()]
    tsv_nodes = (export / "npc-kg_nodes.tsv").read_text(encoding="utf-8").splitlines()[1:]
    tsv_edges = (export / "npc-kg_edges.tsv").read_text(encoding="utf-8").splitlines()[1:]
    assert len(nodes) == len(tsv_nodes) and len(edges) == len(tsv_edges)
    treats = {(e["subject"], e["object"]) for e in edges if e["predicate"] == "biolink:treats"}
    assert ("npc:SalvageSurgery", "MONDO:0015459") in treats
    assert {n["id"]: n["category"] for n in nodes}["MONDO:0015459"] == ["biolink:Disease"]


def test_launcher_refuses_the_network() -> None:
    """The launcher's socket guard works: a connection attempt fails at once (nothing leaves the machine)."""
    code = (
        "import runpy\n"
        f"runpy.run_path({str(LAUNCHER)!r}, run_name='not_main')\n"
        "import socket\n"
        "try:\n    socket.create_connection(('127.0.0.1', 9))\nexcept OSError as e:\n    print('refused:', e)\n"
    )
    run = subprocess.run([_kgx_python(), "-c", code], capture_output=True, text=True, timeout=300)
    assert "refused: kgx_offline: network access refused" in run.stdout, run.stdout + run.stderr
