"""The CLI from another working directory (info, export) and the installed package (wheel contents)."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from rdflib import Graph, URIRef
from rdflib.compare import isomorphic

import npc_kg
from npc_kg.errors import OutputError
from npc_kg.kg.export import export, export_graph
from npc_kg.rdfio import parse_file
from npc_kg.resources import data_path
from tests.packdata import criteria_count

REPO = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-c", "import sys; from npc_kg.cli import main; sys.exit(main())"]


def _cli(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], cwd=cwd, capture_output=True, text=True, timeout=600, env=env)


def test_info_counts_from_another_directory(tmp_path: Path, expected_figures: list[dict[str, Any]]) -> None:
    run = _cli(["info", "--json"], cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    summary = json.loads(run.stdout)
    assert summary["criteria"] == criteria_count()
    assert summary["figures"] == len(expected_figures)
    assert summary["sources"] == 2
    assert summary["associations"] == 7
    assert summary["statements"] >= 10


@pytest.mark.slow
@pytest.mark.parametrize(("fmt", "suffix"), [("ttl", ".ttl"), ("nt", ".nt"), ("jsonld", ".jsonld"), ("xml", ".rdf")])
def test_export_round_trips(tmp_path: Path, fmt: str, suffix: str) -> None:
    target = tmp_path / f"graph{suffix}"
    run = _cli(["export", "--format", fmt, "-o", str(target)], cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    parsed = parse_file(target)
    # issue 11: the merged graph and the loaded criteria packs' shapes
    assert isomorphic(parsed, export_graph()), f"{fmt} export does not parse back to the same graph"
    assert sorted(p.name for p in tmp_path.iterdir()) == [target.name]


def test_export_refuses_to_overwrite_an_input(tmp_path: Path) -> None:
    source = data_path("packs", "salvage-surgery", "kb", "criteria.ttl")  # a pack's file is an input too
    before = source.read_bytes()
    try:
        run = _cli(["export", "--format", "ttl", "-o", str(source)], cwd=tmp_path)
        assert run.returncode == 2
        assert "refusing to overwrite" in run.stderr
        assert source.read_bytes() == before
    finally:  # if the refusal ever breaks, do not leave the knowledge base overwritten
        if source.read_bytes() != before:
            source.write_bytes(before)


def test_failed_export_leaves_no_partial_file(tmp_path: Path) -> None:
    graph = Graph()
    graph.add((URIRef("urn:x:s"), URIRef("urn:x:1"), URIRef("urn:x:o")))  # RDF/XML cannot split this predicate
    target = tmp_path / "out.rdf"
    with pytest.raises(Exception):  # noqa: B017 (rdflib's own error type)
        export("xml", target, graph=graph)
    assert list(tmp_path.iterdir()) == []

    target.write_text("previous content", encoding="utf-8")
    with pytest.raises(Exception):  # noqa: B017
        export("xml", target, graph=graph)
    assert target.read_text(encoding="utf-8") == "previous content"
    assert [p.name for p in tmp_path.iterdir()] == ["out.rdf"]


def test_export_to_missing_directory_is_an_output_error(tmp_path: Path) -> None:
    with pytest.raises(OutputError):
        export("ttl", tmp_path / "no-such-dir" / "out.ttl")


@pytest.mark.slow
def test_installed_package_ships_its_data(tmp_path: Path) -> None:
    """``pip install . --target`` then load the graph from another directory: the data folders are in the wheel."""
    target = tmp_path / "site"
    command = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-deps"]
    command += ["--target", str(target)]
    if importlib.util.find_spec("hatchling") is not None:
        command.append("--no-build-isolation")
    build = subprocess.run([*command, str(REPO)], cwd=tmp_path, capture_output=True, text=True, timeout=900)
    assert build.returncode == 0, build.stdout + build.stderr
    assert (target / "npc_kg" / "_data" / "ontology" / "kb" / "sources.ttl").is_file()
    assert (target / "npc_kg" / "_data" / "packs" / "salvage-surgery" / "kb" / "criteria.ttl").is_file()
    assert (target / "npc_kg" / "_data" / "shapes" / "kb.ttl").is_file()
    assert (target / "npc_kg" / "java" / "OwlConvert.java").is_file()  # run by the ofn and owx exports

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {**os.environ, "PYTHONPATH": str(target)}
    code = ("import npc_kg, npc_kg.resources as r; from npc_kg.cohort.native import load_native; print(len(npc_kg.load())); "
            "print(npc_kg.__file__); print(r.data_root()); print(load_native() is not None)")
    run = subprocess.run([sys.executable, "-c", code], cwd=elsewhere, env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    count, module_file, data_root, native = run.stdout.split("\n")[:4]
    assert Path(module_file).is_relative_to(target), "the installed copy, not the checkout, must be imported"
    assert Path(data_root) == target / "npc_kg" / "_data"
    assert int(count) == len(npc_kg.load())
    if shutil.which("cc") or shutil.which("gcc"):
        assert native == "True", "the wheel carries the C accelerator (npc_kg/cohort/_ntscan.c) when a compiler exists"
