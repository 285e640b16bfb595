"""The ODK-style MONDO import: built from the real MONDO slice, rebuilt by ``npc-kg import-mondo``."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from rdflib import OWL, RDFS, Graph, URIRef
from rdflib.compare import isomorphic
from rdflib.namespace import DCTERMS

from npc_kg.kg.mondo_import import read_seeds
from npc_kg.kg.prefixes import expand
from npc_kg.namespace import MONDO_IMPORT_IRI, NPC
from npc_kg.rdfio import parse_file
from npc_kg.resources import data_path
from tests.linking.conftest import fail_in_ci_else_skip, run_cli

IMPORT = data_path("ontology", "imports", "mondo_import.ttl")
_DEFAULT_SLICE = Path(__file__).resolve().parents[3] / "shared" / "mondo" / "mondo-npc-slice.ttl"
SLICE = Path(os.environ.get("NPC_KG_MONDO_SLICE", _DEFAULT_SLICE))
VERSION = "monarch-initiative/mondo commit fad2512b4845f483fc1268cdf0bf7a8ef43697cb (2026-08-21), mappings release 2026-08-04"
NPC_DISEASE = expand("MONDO:0015459")


@pytest.fixture(scope="module")
def imported() -> Graph:
    return parse_file(IMPORT, "turtle")


def _slice() -> Path:
    if not SLICE.is_file():
        fail_in_ci_else_skip(f"the MONDO slice is not at {SLICE} (set NPC_KG_MONDO_SLICE)")
    return SLICE


def test_header_keeps_attribution_licence_version(imported: Graph) -> None:
    assert (MONDO_IMPORT_IRI, OWL.versionIRI, URIRef(f"{MONDO_IMPORT_IRI}/2026-08-21")) in imported
    assert str(imported.value(MONDO_IMPORT_IRI, OWL.versionInfo)) == VERSION
    assert imported.value(MONDO_IMPORT_IRI, DCTERMS.license) == URIRef("https://creativecommons.org/licenses/by/4.0/")
    assert "Monarch Initiative" in str(imported.value(MONDO_IMPORT_IRI, DCTERMS.rights))
    assert "mondo-npc-slice.ttl" in str(imported.value(MONDO_IMPORT_IRI, DCTERMS.source))
    assert IMPORT.read_text(encoding="utf-8").startswith("# npc-kg MONDO import")


def test_real_mondo_placement(imported: Graph) -> None:
    """MONDO:0015459 has 4 direct parents and 37 ancestors (shared/mondo/README.md)."""
    assert len(set(imported.objects(URIRef(NPC_DISEASE), RDFS.subClassOf))) == 4
    ancestors = set(imported.transitive_objects(URIRef(NPC_DISEASE), RDFS.subClassOf)) - {URIRef(NPC_DISEASE)}
    assert len(ancestors) == 37
    assert URIRef(expand("MONDO:0002038")) in ancestors  # head and neck carcinoma
    seeds = read_seeds()
    assert URIRef(NPC_DISEASE) in seeds
    assert all((seed, RDFS.subClassOf, URIRef(NPC_DISEASE)) in imported for seed in seeds if seed != URIRef(NPC_DISEASE))


def test_ontology_places_its_diseases_under_mondo(kg: Graph) -> None:
    assert (NPC.NasopharyngealCarcinoma, OWL.equivalentClass, URIRef(NPC_DISEASE)) in kg
    assert (NPC.RecurrentNasopharyngealCarcinoma, RDFS.subClassOf, NPC.NasopharyngealCarcinoma) in kg
    # recurrent NPC is used by the knowledge base: recurrence after radiotherapy, the condition of
    # every Luo 2026 population, is a recurrent NPC
    assert (NPC.RecurrenceAfterRadiotherapy, RDFS.subClassOf, NPC.RecurrentNasopharyngealCarcinoma) in kg
    assert (None, NPC.condition, NPC.RecurrenceAfterRadiotherapy) in kg
    assert (NPC.ontology, OWL.imports, MONDO_IMPORT_IRI) in kg


def test_no_slice_private_annotations(imported: Graph) -> None:
    assert not [p for p in imported.predicates() if "mondo-slice" in str(p)]
    assert (None, RDFS.comment, None) not in imported


def test_import_mondo_rebuilds_the_checked_in_file(tmp_path: Path) -> None:
    result = run_cli(tmp_path, "import-mondo", "--source", str(_slice()), "--source-version", VERSION, "-o", "mondo_import.ttl")
    assert result.returncode == 0, result.stderr
    assert "42 class(es)" in result.stderr
    assert (tmp_path / "mondo_import.ttl").read_text(encoding="utf-8") == IMPORT.read_text(encoding="utf-8")


def test_import_mondo_reads_rdfxml_and_a_custom_seed_list(tmp_path: Path) -> None:
    source = parse_file(_slice(), "turtle")
    (tmp_path / "mondo.owl").write_text(source.serialize(format="xml"), encoding="utf-8")
    (tmp_path / "seeds.txt").write_text("MONDO:0021315  # malignant tumor of nasopharynx\n", encoding="utf-8")
    result = run_cli(tmp_path, "import-mondo", "--source", "mondo.owl", "--source-version", "2026-08-21",
                     "--terms", "seeds.txt", "-o", "out.ttl")  # fmt: skip
    assert result.returncode == 0, result.stderr
    out = parse_file(tmp_path / "out.ttl", "turtle")
    assert (URIRef(expand("MONDO:0021315")), RDFS.label, None) in out
    assert (URIRef(NPC_DISEASE), None, None) not in out  # a descendant of the seed is not pulled in


def test_import_mondo_bad_seed_exits_2(tmp_path: Path) -> None:
    (tmp_path / "seeds.txt").write_text("MODNO:0015459\n", encoding="utf-8")
    result = run_cli(tmp_path, "import-mondo", "--source", str(_slice()), "--source-version", "x", "--terms", "seeds.txt",
                     "-o", "out.ttl")  # fmt: skip
    assert result.returncode == 2
    assert "seeds.txt:1" in result.stderr and "did you mean 'MONDO'" in result.stderr
    assert not (tmp_path / "out.ttl").exists()


def test_import_is_isomorphic_to_a_fresh_extraction() -> None:
    from npc_kg.kg.mondo_import import build_mondo_import

    source = parse_file(_slice(), "turtle")
    fresh = build_mondo_import(source, read_seeds(), source_name="mondo-npc-slice.ttl", source_version=VERSION)
    assert isomorphic(fresh.graph, parse_file(IMPORT, "turtle"))
