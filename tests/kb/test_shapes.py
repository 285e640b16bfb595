"""SHACL for the knowledge base: the merged graph conforms, each invalid example breaks its rule,
and every shapes file of the package is itself valid SHACL (SHACL-SHACL)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from rdflib import Graph, URIRef
from rdflib.term import Node

from npc_kg.kg.quality import kb_shapes_graph, validate_kb
from npc_kg.namespace import SH
from npc_kg.rdfio import parse_file
from npc_kg.resources import data_path

DATA = Path(__file__).resolve().parent / "data"
KBSH = "https://w3id.org/npc-kg/shapes/kb/"
INVALID = sorted((DATA / "invalid").glob("*.ttl"))
VALID = sorted((DATA / "valid").glob("*.ttl"))
HEADER = re.compile(r"^# invalid: breaks kbsh:(\S+)", re.MULTILINE)


@pytest.fixture(scope="module")
def shapes() -> Graph:
    return kb_shapes_graph()


@pytest.fixture(scope="module")
def tbox() -> Graph:
    return parse_file(data_path("ontology", "npc-kg.ttl"), "turtle")


def _with_tbox(tbox: Graph, path: Path) -> Graph:
    graph = Graph()
    for triple in tbox:
        graph.add(triple)
    parse_file(path, "turtle", graph=graph)
    return graph


def _rule_of(shapes: Graph, shape: Node) -> set[Node]:
    """A named shape and the (possibly blank) shapes nested in it: results of any of them count for it."""
    found: set[Node] = set()
    stack = [shape]
    while stack:
        node = stack.pop()
        if node in found:
            continue
        found.add(node)
        for predicate in (SH.property, SH.node, SH["not"]):
            stack.extend(shapes.objects(node, predicate))
        for predicate in (SH["or"], SH["and"], SH.xone):
            for head in shapes.objects(node, predicate):
                stack.extend(shapes.items(head))
    return found


def test_merged_graph_conforms() -> None:
    result = validate_kb()
    assert result.conforms, result.text


def test_every_rule_has_an_invalid_example(shapes: Graph) -> None:
    named = {str(s)[len(KBSH) :] for s in set(shapes.subjects()) if isinstance(s, URIRef) and str(s).startswith(KBSH)} - {""}
    covered = {HEADER.search(p.read_text(encoding="utf-8")).group(1) for p in INVALID}  # type: ignore[union-attr]
    rules = {
        "FigureSourceShape", "FigureQuoteShape", "FigureStatisticShape", "FigureValueShape", "FigureFractionRangeShape",
        "FigureBoundsOrderShape", "PopulationSizeShape", "CriterionKindShape", "CriterionTreatmentShape",
        "CriterionFindingShape", "CriterionQuoteShape", "AssociationDirectionShape", "AssociationOutcomeShape",
        "AssociationAnalysisShape", "SelectorTypeShape", "SelectorExactShape",
    }  # fmt: skip
    assert rules <= named, rules - named
    assert rules <= covered, f"rules without an invalid example: {sorted(rules - covered)}"


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.name)
def test_valid_example_conforms(path: Path, shapes: Graph, tbox: Graph) -> None:
    result = validate_kb(_with_tbox(tbox, path), shapes=shapes)
    assert result.conforms, result.text


@pytest.mark.parametrize("path", INVALID, ids=lambda p: p.name)
def test_invalid_example_breaks_its_rule(path: Path, shapes: Graph, tbox: Graph) -> None:
    match = HEADER.search(path.read_text(encoding="utf-8"))
    assert match, f"{path.name}: header must say '# invalid: breaks kbsh:<Shape>'"
    expected = URIRef(KBSH + match.group(1))
    assert (expected, None, None) in shapes, f"{path.name}: unknown shape {expected}"
    result = validate_kb(_with_tbox(tbox, path), shapes=shapes)
    assert not result.conforms, f"{path.name} should break {match.group(1)}"
    rule = _rule_of(shapes, expected)
    sources = {r.source_shape for r in result.results}
    assert sources & rule, f"{path.name}: expected a result from {match.group(1)}, got {result.text}"
    assert sources <= rule, f"{path.name}: breaks other rules too (keep examples to one rule): {result.text}"


# ---------------------------------------------------------------------------------------------
# SHACL-SHACL: every shapes file of the package, including ones added later, is valid SHACL.
# ---------------------------------------------------------------------------------------------

SHAPE_FILES = sorted(data_path("shapes").rglob("*.ttl"))


def test_shape_files_found() -> None:
    assert data_path("shapes", "kb.ttl") in SHAPE_FILES


@pytest.mark.parametrize("path", SHAPE_FILES, ids=lambda p: str(p.relative_to(data_path("shapes"))))
def test_shapes_file_is_valid_shacl(path: Path) -> None:
    from pyshacl import validate

    shapes_graph = parse_file(path, "turtle")
    meta = _shacl_shacl()
    conforms, _report, text = validate(
        shapes_graph, shacl_graph=meta, inference="none", advanced=False, js=False, do_owl_imports=False
    )
    assert conforms, f"{path} is not valid SHACL:\n{text}"


def test_shacl_shacl_catches_a_broken_shape() -> None:
    from pyshacl import validate

    broken = Graph().parse(
        data="""@prefix sh: <http://www.w3.org/ns/shacl#> . @prefix ex: <https://example.org/> .
        ex:Broken a sh:NodeShape ; sh:targetClass ex:Thing ; sh:property [ sh:path ex:p ; sh:minCount "one" ] .""",
        format="turtle",
    )
    conforms, _report, _text = validate(
        broken, shacl_graph=_shacl_shacl(), inference="none", advanced=False, js=False, do_owl_imports=False
    )
    assert not conforms


def _shacl_shacl() -> Graph:
    """pySHACL's bundled copy of the W3C SHACL-SHACL shapes graph (a local file, no network)."""
    import pyshacl

    return parse_file(Path(pyshacl.__file__).resolve().parent / "assets" / "shacl-shacl.ttl", "turtle")
