"""Paths walked backwards: an ``sh:inversePath`` over a predicate that no shape reads forwards.

The closure evaluator's index keeps only the predicates the plan says the shapes read. An
inverse path used to add its predicate to the inverse keys only, so the index held no edges for
it and the path found no values (W3C core ``path-inverse-001``, ``path-complex-002``). The plan
now counts a predicate walked backwards as read, and pushes an inverse of a complex path down to
its predicates; every evaluator must give pySHACL's answer.
"""

from __future__ import annotations

import pyoxigraph as ox
import pytest
from rdflib import Graph

from npc_kg.shacl.engines import Engines
from npc_kg.shacl.plan import read_plan

SHAPES = """
@prefix ex: <http://example.org/path/> . @prefix sh: <http://www.w3.org/ns/shacl#> .
ex:parent a sh:PropertyShape ; sh:targetClass ex:Child ; sh:path [ sh:inversePath ex:hasChild ] ;
    sh:minCount 1 ; sh:class ex:Parent .
ex:grandparent a sh:PropertyShape ; sh:targetClass ex:Child ;
    sh:path [ sh:inversePath ( ex:hasChild ex:hasChild ) ] ; sh:maxCount 1 .
ex:ancestors a sh:PropertyShape ; sh:targetClass ex:Child ;
    sh:path [ sh:inversePath [ sh:oneOrMorePath ex:hasChild ] ] ; sh:minCount 2 .
ex:named a sh:NodeShape ; sh:targetObjectsOf ex:hasChild ; sh:nodeKind sh:IRI .
"""
DATA = """
@prefix ex: <http://example.org/path/> .
ex:root a ex:Parent ; ex:hasChild ex:mid .
ex:other ex:hasChild ex:mid .
ex:mid a ex:Parent, ex:Child ; ex:hasChild ex:leaf , _:anonymous .
ex:leaf a ex:Child .
ex:orphan a ex:Child .
_:anonymous a ex:Child .
"""


@pytest.fixture(scope="module")
def engines() -> Engines:
    return Engines.build(Graph().parse(data=SHAPES, format="turtle"), Graph(), subclasses=Graph())


def test_a_predicate_read_backwards_is_kept_by_the_index(engines: Engines) -> None:
    plan = engines.plan
    assert "http://example.org/path/hasChild" in plan.predicates & plan.inverse
    assert [step[0] for step in plan.shapes["http://example.org/path/grandparent"][0][1]] == ["inv", "inv"]


def test_every_evaluator_gives_pyshacls_answer(engines: Engines) -> None:
    graph = Graph().parse(data=DATA, format="turtle")
    data = graph.serialize(format="nt", encoding="utf-8")
    quads = list(ox.parse(data, format=ox.RdfFormat.N_TRIPLES))
    closures = engines.closures()

    def named(hits: list) -> set[tuple[str, str]]:
        return {(unit.shape.rsplit("/", 1)[-1], str(focus).rsplit("/", 1)[-1] if not str(focus).startswith("_:") else "_:")
                for unit, focus, _owners in hits}

    expected = named(engines.reference.graph_hits(graph)[1])
    assert expected == {("parent", "orphan"), ("parent", "mid"), ("grandparent", "leaf"), ("grandparent", "_:"),
                        ("ancestors", "orphan"), ("named", "_:")}
    assert named(closures.hits(closures.index(quads))[1]) == expected
    assert named(engines.sparql.store_hits(quads)[1]) == expected


def test_a_predicate_only_read_backwards_gives_pyshacls_answer() -> None:
    """W3C core path-inverse-001 in small: no shape reads ex:hasChild forwards (nor targets its objects)."""
    shapes = Graph().parse(data=SHAPES.split("ex:grandparent")[0], format="turtle")
    engines = Engines.build(shapes, Graph(), subclasses=Graph())
    graph = Graph().parse(data=DATA, format="turtle")
    quads = list(ox.parse(graph.serialize(format="nt", encoding="utf-8"), format=ox.RdfFormat.N_TRIPLES))
    closures = engines.closures()
    foci = {str(focus).rsplit("/", 1)[-1] for _unit, focus, _owners in closures.hits(closures.index(quads))[1]}
    assert foci == {"orphan", "mid"} == {str(f).rsplit("/", 1)[-1] for _u, f, _o in engines.reference.graph_hits(graph)[1]}


def test_inverse_of_a_complex_path_is_pushed_down_to_its_predicates() -> None:
    shapes = Graph().parse(data="""
        @prefix ex: <http://example.org/path/> . @prefix sh: <http://www.w3.org/ns/shacl#> .
        ex:s a sh:PropertyShape ; sh:targetNode ex:n ;
            sh:path [ sh:inversePath ( ex:a [ sh:alternativePath ( ex:b [ sh:inversePath ex:c ] ) ] ) ] ; sh:minCount 1 .
        """, format="turtle")
    path, _constraints = read_plan(shapes, {}).shapes["http://example.org/path/s"]
    a, b, c = (f"http://example.org/path/{x}" for x in "abc")
    assert path == ("seq", (("alt", (("inv", b), ("pred", c))), ("inv", a)))
