"""The plan compiled to SPARQL against pySHACL, one result-producing shape at a time.

``data/core-shapes.ttl`` has a shape per SHACL Core constraint component and path form; the
data is random (seeded) with missing values, ill-typed literals, language tags, blank nodes and
subclasses. For every shape, the focus nodes the compiled query returns must be exactly the
focus nodes pySHACL reports for it.
"""

from __future__ import annotations

from pathlib import Path

import pyoxigraph as ox
import pytest
from rdflib import BNode, Graph, Namespace

from npc_kg.notices import NpcKgNotice
from npc_kg.shacl.closures import rdflib_triples
from npc_kg.shacl.engines import Engines
from npc_kg.shacl.plan import read_plan
from npc_kg.shacl.sparql_queries import LiteralTests, compile_units
from tests.cohort.conftest import pyshacl_hits

EX = Namespace("http://example.org/t/")
XSD = Namespace("http://www.w3.org/2001/XMLSchema#")
HERE = Path(__file__).parent


def _key(node: object) -> str:
    if isinstance(node, ox.Literal):
        return node.value
    return f"_:{node}" if isinstance(node, BNode) else str(node)


def _compiled_hits(data: Graph, shapes: Graph) -> set[tuple[str, str]]:
    evaluator = Engines.build(shapes, Graph(), subclasses=data).sparql
    assert not evaluator.fallback, [u.shape for u in evaluator.fallback]
    _patients, hits = evaluator.store_hits(list(rdflib_triples(data)))
    return {(unit.shape if not unit.shape.startswith("_:") else "bnode", _key(focus)) for unit, focus, _owners in hits}


def _normalise_bnodes(hits: set[tuple[str, str]], data: Graph) -> set[tuple[str, str]]:
    # blank nodes are renamed between the evaluators: compare blank-node focus nodes by count only.
    return {(s, f if not f.startswith("_:") else "_:") for s, f in hits}


@pytest.mark.parametrize("seed", range(6))
def test_compiled_queries_report_what_pyshacl_reports(seed: int, core_shapes: Graph, core_data) -> None:
    shapes = core_shapes
    data = core_data(seed)
    expected = pyshacl_hits(data, shapes, _key)
    got = _compiled_hits(data, shapes)
    assert _normalise_bnodes(got, data) == _normalise_bnodes(expected, data)
    assert any(s.endswith("qualified") for s, _f in expected), "the data exercises qualified shapes"


def test_every_core_shape_compiles_to_the_fast_form(core_shapes: Graph) -> None:
    plan = read_plan(core_shapes, {})
    units = [u for u in compile_units(plan, LiteralTests(plan)) if u.query is not None or u.unsupported is not None]
    assert units and all(u.query is not None for u in units)
    assert len({u.unit.shape for u in units}) == len(units), "one compiled query per shape"
    slow = {u.unit.shape.rsplit("/", 1)[-1] for u in units if u.query and "EXISTS" in u.query}
    assert slow == {"closed", "xone"}, "only sh:closed and sh:xone need the EXISTS form"


def test_deactivated_shape_reports_nothing(core_shapes: Graph) -> None:
    plan = read_plan(core_shapes, {})
    assert not [u for u in compile_units(plan, LiteralTests(plan)) if u.unit.shape.endswith("deactivated")]


KB = """
@prefix ex: <http://example.org/t/> . @prefix npc: <https://w3id.org/npc-kg/> .
ex:crit a npc:EligibilityCriterion ; npc:appliesToTreatment ex:Treatment ; npc:criterionKind npc:Contraindication ;
    npc:ordinal 1 .
ex:crit2 a npc:EligibilityCriterion ; npc:appliesToTreatment ex:Treatment ; npc:criterionKind npc:Contraindication ;
    npc:ordinal 2 .
"""


def test_unsupported_shape_falls_back_to_pyshacl_with_a_notice(capsys: pytest.CaptureFixture[str]) -> None:
    shapes = Graph()
    shapes.parse(data="""
        @prefix ex: <http://example.org/t/> . @prefix sh: <http://www.w3.org/ns/shacl#> .
        @prefix npc: <https://w3id.org/npc-kg/> .
        ex:sparql a sh:NodeShape ; sh:targetClass ex:Thing ; npc:criterion ex:crit ;
            sh:sparql [ sh:select "SELECT $this WHERE { $this <http://example.org/t/num> ?n . FILTER(?n > 3) }" ] .
        ex:fast a sh:PropertyShape ; sh:targetClass ex:Thing ; npc:criterion ex:crit2 ; sh:path ex:num ; sh:minCount 1 .
        """, format="turtle")
    kb = Graph().parse(data=KB, format="turtle")  # the criteria the shapes name, of one treatment
    data = Graph()
    data.parse(data="""
        @prefix ex: <http://example.org/t/> . @prefix npc: <https://w3id.org/npc-kg/> .
        ex:p1 a ex:Thing, npc:Patient ; ex:num 5 . ex:p2 a ex:Thing, npc:Patient ; ex:num 1 . ex:p3 a ex:Thing, npc:Patient .
        """, format="turtle")
    with pytest.warns(NpcKgNotice, match="shape .*sparql is checked with pySHACL"):
        engine = Engines.build(shapes, kb, subclasses=Graph())
        rows = {r.patient: r.statuses for r in engine.graph_rows(data, "sparql")}
    assert capsys.readouterr() == ("", ""), "a library call warns; it prints nothing"
    assert rows[str(EX.p1)][str(EX.crit)] == "violated"
    assert rows[str(EX.p2)][str(EX.crit)] == "satisfied"
    assert rows[str(EX.p3)][str(EX.crit2)] == "violated"
    assert rows[str(EX.p1)][str(EX.crit2)] == "satisfied"
