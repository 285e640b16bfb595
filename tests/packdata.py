"""The criteria packs' data, read straight from their Turtle files (not through the code under test).

Tests that once wrote "8 criteria" or "5 contraindications" of salvage surgery read the counts
here instead (issue 11): a pack's criteria are whatever its ``kb/*.ttl`` states.
"""

from __future__ import annotations

from pathlib import Path

from rdflib import RDF, Graph, URIRef

from npc_kg.namespace import NPC

REPO = Path(__file__).resolve().parent.parent
PACKAGE_PACK = REPO / "packs" / "salvage-surgery"
"""The package's own criteria pack (salvage surgery)."""
TEST_PACK = REPO / "tests" / "data" / "packs" / "fictional-test-therapy"
"""The TEST-ONLY pack: a fictional treatment, never shipped as knowledge."""
TEST_NS = "https://example.org/npc-kg-test-pack/"
TEST_TREATMENT = TEST_NS + "FictionalTestTherapy"
PACK_PATIENTS = REPO / "tests" / "data" / "pack-patients"
"""Patients of the test pack: valid/ and invalid/, each file's header says what to expect."""
SKELETON = REPO / "docs" / "pack-skeleton"


def pack_graph(folder: Path = PACKAGE_PACK) -> Graph:
    """The manifest and ``kb/*.ttl`` of the pack in ``folder``."""
    graph = Graph()
    for path in [folder / "pack.ttl", *sorted((folder / "kb").glob("*.ttl"))]:
        graph.parse(path, format="turtle")
    return graph


def pack_criteria(folder: Path = PACKAGE_PACK) -> dict[str, str]:
    """``{criterion IRI: kind IRI}`` of the criteria the pack states."""
    graph = pack_graph(folder)
    return {str(c): str(graph.value(c, NPC.criterionKind)) for c in graph.subjects(RDF.type, NPC.EligibilityCriterion)
            if isinstance(c, URIRef)}


def criteria_count(folder: Path = PACKAGE_PACK) -> int:
    """How many criteria the pack states."""
    return len(pack_criteria(folder))


def kind_count(kind: URIRef, folder: Path = PACKAGE_PACK) -> int:
    """How many criteria of ``kind`` (npc:Indication, npc:Contraindication) the pack states."""
    return sum(found == str(kind) for found in pack_criteria(folder).values())
