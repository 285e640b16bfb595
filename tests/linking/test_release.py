"""``npc-kg release``: ODK-style base, full (HermiT) and simple artefacts, version IRIs, release notes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rdflib import OWL, RDF, RDFS, BNode, Literal, URIRef

from npc_kg.kg.prefixes import expand
from npc_kg.namespace import NPC
from npc_kg.rdfio import parse_file
from tests.linking.conftest import need_owlapi, run_cli

pytestmark = [pytest.mark.slow, pytest.mark.java]

VERSION = "0.1.0"
MONDO_NPC = URIRef(expand("MONDO:0015459"))
HEAD_AND_NECK = URIRef(expand("MONDO:0002038"))


@pytest.fixture(scope="module")
def releases(tmp_path_factory: pytest.TempPathFactory) -> Path:
    need_owlapi()
    folder = tmp_path_factory.mktemp("release")
    first = run_cli(folder, "release", "-o", "r1")
    assert first.returncode == 0, first.stderr
    # a "previous" release that differs: one class fewer, one label changed, one mapping fewer
    (folder / "r0").mkdir()
    previous = parse_file(folder / "r1" / "npc-kg-full.ttl", "turtle")
    previous.remove((NPC.InconsistentFigures, None, None))
    previous.set((NPC.Frailty, RDFS.label, Literal("frail", lang="en")))
    previous.remove((NPC.NasopharyngealCarcinoma, None, URIRef(expand("DOID:9261"))))
    (folder / "r0" / "npc-kg-full.ttl").write_text(previous.serialize(format="turtle"), encoding="utf-8")
    second = run_cli(folder, "release", "-o", "r2", "--previous", "r0")
    assert second.returncode == 0, second.stderr
    return folder


def test_artefacts_and_formats(releases: Path) -> None:
    names = sorted(p.name for p in (releases / "r1").iterdir())
    expected = sorted(f"npc-kg-{kind}.{fmt}" for kind in ("base", "full", "simple") for fmt in ("ttl", "owl", "ofn"))
    assert names == sorted([*expected, "release-notes.md", "release.json"])
    manifest = json.loads((releases / "r1" / "release.json").read_text(encoding="utf-8"))
    assert manifest["version"] == VERSION and sorted(manifest["files"]) == expected


@pytest.mark.parametrize("kind", ["base", "full", "simple"])
def test_version_iri_in_every_format(releases: Path, kind: str) -> None:
    iri, version_iri = f"https://w3id.org/npc-kg/npc-kg-{kind}", f"https://w3id.org/npc-kg/releases/{VERSION}/npc-kg-{kind}"
    graph = parse_file(releases / "r1" / f"npc-kg-{kind}.ttl", "turtle")
    assert (URIRef(iri), OWL.versionIRI, URIRef(version_iri)) in graph
    assert len(set(graph.subjects(RDF.type, OWL.Ontology))) == 1
    owl = parse_file(releases / "r1" / f"npc-kg-{kind}.owl", "xml")
    assert (URIRef(iri), OWL.versionIRI, URIRef(version_iri)) in owl
    ofn = (releases / "r1" / f"npc-kg-{kind}.ofn").read_text(encoding="utf-8")
    assert f"Ontology(<{iri}>\n<{version_iri}>" in ofn or f"Ontology(<{iri}> <{version_iri}>" in ofn


def test_base_has_no_import_but_its_own_axioms(releases: Path) -> None:
    base = parse_file(releases / "r1" / "npc-kg-base.ttl", "turtle")
    assert (None, OWL.imports, None) not in base
    assert (HEAD_AND_NECK, None, None) not in base  # a class only the MONDO import has
    assert (NPC.NasopharyngealCarcinoma, OWL.equivalentClass, MONDO_NPC) in base
    assert (None, RDF.type, NPC.EvidenceFigure) in base


def test_full_is_merged_and_classified_by_hermit(releases: Path) -> None:
    full = parse_file(releases / "r1" / "npc-kg-full.ttl", "turtle")
    assert (MONDO_NPC, RDFS.subClassOf, HEAD_AND_NECK) in full  # from the import
    # inferred by HermiT through the equivalence, not asserted anywhere
    assert (NPC.NasopharyngealCarcinoma, RDFS.subClassOf, HEAD_AND_NECK) in full
    assert (MONDO_NPC, RDFS.subClassOf, NPC.Disease) in full
    assert (NPC.FractionStatistic, RDFS.subClassOf, NPC.StatisticType) in full
    assert "Monarch Initiative" in " ".join(str(o) for o in full.objects(URIRef("https://w3id.org/npc-kg/npc-kg-full"), None))


def test_simple_has_only_named_classes_and_annotations(releases: Path) -> None:
    simple = parse_file(releases / "r1" / "npc-kg-simple.ttl", "turtle")
    assert not any(isinstance(t, BNode) for triple in simple for t in triple)
    assert (None, RDF.type, NPC.EvidenceFigure) not in simple
    assert (None, OWL.equivalentClass, None) not in simple
    assert (NPC.NasopharyngealCarcinoma, RDFS.subClassOf, HEAD_AND_NECK) in simple
    assert (NPC.Frailty, RDFS.label, None) in simple


def test_first_release_note_has_no_changes(releases: Path) -> None:
    note = (releases / "r1" / "release-notes.md").read_text(encoding="utf-8")
    assert note.startswith(f"# npc-kg {VERSION}") and "first release" in note and "Changes since" not in note


def test_release_note_lists_the_changes_since_previous(releases: Path) -> None:
    note = (releases / "r2" / "release-notes.md").read_text(encoding="utf-8")
    assert "## Changes since 0.1.0" in note
    assert "### Added knowledge-base individuals (1)" in note and "`npc:InconsistentFigures`" in note
    assert "### Added mappings (1)" in note and "`npc:NasopharyngealCarcinoma skos:exactMatch DOID:9261`" in note
    assert '`npc:Frailty`: "frail" -> "frailty"' in note
    from npc_kg.kg.release import Release, release_notes

    graphs = {f"npc-kg-{k}": parse_file(releases / "r1" / f"npc-kg-{k}.ttl", "turtle") for k in ("base", "full", "simple")}
    unchanged = release_notes(Release(VERSION, graphs), graphs["npc-kg-full"], VERSION, {})
    assert "No class, individual, mapping or label changed." in unchanged


def test_refuses_a_non_empty_folder_and_a_bad_previous(releases: Path) -> None:
    busy = run_cli(releases, "release", "-o", "r1")
    assert busy.returncode == 2 and "new or empty" in busy.stderr
    bad = run_cli(releases, "release", "-o", "r9", "--previous", "nowhere")
    assert bad.returncode == 2 and "npc-kg-full.ttl is missing" in bad.stderr
    assert not (releases / "r9").exists()
