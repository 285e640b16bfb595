"""Fixtures of the cohort area: small synthetic cohorts written once per session."""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path

import pytest
from rdflib import RDF, RDFS, XSD, BNode, Graph, Literal, Namespace, URIRef

from npc_kg.cohort.synth import synth


@pytest.fixture(scope="session")
def cohort_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with synthetic cohorts: clean (nt, ttl, csv) and with injected defects."""
    folder = tmp_path_factory.mktemp("cohort")
    synth(300, 11, folder / "clean.nt")
    synth(300, 11, folder / "clean.ttl")
    synth(300, 11, folder / "clean.csv")
    synth(400, 12, folder / "defects.nt", error_rate=0.1)
    synth(400, 12, folder / "defects.csv", error_rate=0.1)
    synth(60, 13, folder / "readable-defects.nt", error_rate=0.15, syntax_errors=False)
    return folder


EX = Namespace("http://example.org/t/")
CORE_SHAPES = Path(__file__).parent / "data" / "core-shapes.ttl"


def core_shapes_graph() -> Graph:
    """The SHACL Core suite the compiled engines are checked against, shape by shape."""
    graph = Graph()
    graph.parse(CORE_SHAPES, format="turtle")
    return graph


def pyshacl_hits(data: Graph, shapes: Graph, key: Callable[[object], str]) -> set[tuple[str, str]]:
    """(shape IRI or "bnode", key(focus node)) of every result pySHACL reports: the reference answer."""
    from pyshacl import validate

    from npc_kg.namespace import SH

    _conforms, report, _text = validate(data, shacl_graph=shapes, inference="none", advanced=False,
                                        allow_warnings=True, allow_infos=True)
    assert isinstance(report, Graph)
    out = set()
    for result in report.subjects(RDF.type, SH.ValidationResult):
        shape = report.value(result, SH.sourceShape)
        out.add((str(shape) if isinstance(shape, URIRef) else "bnode", key(report.value(result, SH.focusNode))))
    return out


def random_core_data(seed: int, n: int = 60) -> Graph:
    """Random data over the SHACL Core suite's vocabulary: wrong datatypes, languages, classes."""
    rng = random.Random(seed)
    g = Graph()
    for t in core_shapes_graph().triples((None, RDFS.subClassOf, None)):
        g.add(t)
    nodes = [EX[f"n{i}"] for i in range(1, n + 1)] + [BNode(f"b{i}") for i in range(5)]
    for node in nodes:
        for cls in rng.sample([EX.Thing, EX.Sub, EX.SubSub, EX.Other], rng.choice([0, 1, 1, 1, 2])):
            g.add((node, RDF.type, cls))
        for _ in range(rng.choice([0, 1, 1, 2])):
            g.add((node, EX.num, rng.choice([Literal(rng.randint(-2, 7)), Literal("abc", datatype=XSD.integer),
                                              Literal("4.5", datatype=XSD.integer), Literal("3")])))
        for _ in range(rng.choice([0, 1, 2])):
            g.add((node, EX.dec, rng.choice([Literal("1.5", datatype=XSD.decimal), Literal("n/a", datatype=XSD.decimal),
                                              Literal(3), Literal("9.25", datatype=XSD.decimal), Literal(True)])))
        for _ in range(rng.choice([0, 1, 2])):
            g.add((node, EX.label, rng.choice([Literal("abc"), Literal("ABCC"), Literal("a"), Literal("abc", lang="en"),
                                                Literal("abcbcbc", lang="fr"), Literal("x", lang="en-GB")])))
        for _ in range(rng.choice([0, 1, 1, 2, 3])):
            g.add((node, EX.status, rng.choice([EX.a, EX.b, EX.c, Literal("x"), Literal("y")])))
        for _ in range(rng.choice([0, 1, 2])):
            g.add((node, EX.link, rng.choice([*nodes, Literal("lit")])))
        if rng.random() < 0.1:
            g.add((node, EX.extra, Literal(1)))
    return g


@pytest.fixture
def core_shapes() -> Graph:
    """A fresh copy of the SHACL Core suite."""
    return core_shapes_graph()


@pytest.fixture
def core_data() -> Callable[[int], Graph]:
    """``core_data(seed)``: random data for the SHACL Core suite, deterministic for a seed."""
    return random_core_data
