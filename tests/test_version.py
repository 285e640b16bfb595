"""The version lives in pyproject.toml alone; every other place derives it or must agree with it."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from rdflib import OWL, Graph

import npc_kg
from npc_kg.namespace import ONTOLOGY_IRI

REPO = Path(__file__).resolve().parent.parent
VERSION = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]


def test_package_version_is_pyprojects() -> None:
    assert npc_kg.__version__ == VERSION


def test_ontology_version_iri_and_info_agree() -> None:
    graph = Graph().parse(REPO / "ontology" / "npc-kg.ttl", format="turtle")
    assert str(graph.value(ONTOLOGY_IRI, OWL.versionIRI)) == f"{ONTOLOGY_IRI}/{VERSION}"
    assert str(graph.value(ONTOLOGY_IRI, OWL.versionInfo)) == VERSION


def test_sssom_headers_agree() -> None:
    for path in sorted((REPO / "mappings").glob("*.sssom.tsv")):
        header = "".join(line for line in path.read_text(encoding="utf-8").splitlines(keepends=True) if line.startswith("#"))
        found = re.findall(r"^#mapping_set_version: (\S+)$", header, re.MULTILINE)
        assert found == [VERSION], path.name
        for source_version in re.findall(r"^#subject_source_version: (\S+)$", header, re.MULTILINE):
            assert source_version == f"{ONTOLOGY_IRI}/{VERSION}", path.name
