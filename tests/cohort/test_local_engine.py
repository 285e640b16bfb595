"""The closure evaluator (compiled Python, the default) against pySHACL: per construct, per criterion, per cohort.

- every shape of the SHACL Core suite (``data/core-shapes.ttl``) reports the same focus nodes as
  pySHACL on seeded random data (missing values, ill-typed literals, language tags, blank nodes,
  subclasses);
- every example patient (one per criterion state: satisfied, violated, unknown) gets the
  reference statuses, and every patient-model rule gives an error row naming its field;
- literal edge cases (ill-typed integers and decimals, JSON-LD decimals) are judged as pySHACL
  judges them, and no value reaches a log;
- synthetic cohorts (missing data, narrower classes, HP codes, several recurrences, ill-typed
  literals, patient-model breakers) get the same rows as the pySHACL reference and the SPARQL
  engine;
- what the evaluator cannot answer raises ``Unsupported`` instead of guessing.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import pytest
from rdflib import RDF, RDFS, BNode, Graph, Literal, Namespace

from npc_kg.cohort import assess_batch
from npc_kg.cohort.reader import iter_batches
from npc_kg.cohort.synth import synth
from npc_kg.core.rules import PatientRow, rows_of
from npc_kg.namespace import NPC
from npc_kg.notices import NpcKgNotice
from npc_kg.rdfio import parse_file
from npc_kg.shacl.closures import ClosureEvaluator, rdflib_triples
from npc_kg.shacl.engines import Engines, package_engines
from npc_kg.shacl.plan import Unsupported
from tests.cohort.conftest import pyshacl_hits

EX = Namespace("http://example.org/t/")
XSD = Namespace("http://www.w3.org/2001/XMLSchema#")
HERE = Path(__file__).parent
ROOT = HERE.parent.parent
EXAMPLES = ROOT / "examples" / "patients"


@pytest.fixture(scope="module")
def engine() -> Engines:
    return package_engines()


def evaluate_graph(graph: Graph, engines: Engines) -> dict[str, PatientRow]:
    """Every patient of ``graph`` assessed by the closure evaluator (no fallback): ``{patient IRI: row}``."""
    patients, hits = engines.closures().graph_hits(graph)
    return {row.patient: row for row in rows_of(patients, hits, engines.criteria(), engines.plan.implemented)}


# -- the SHACL Core suite, shape by shape -------------------------------------------------------

def _key(node: object) -> str:
    import pyoxigraph as ox

    if isinstance(node, ox.Literal):
        return node.value
    return "_:" if isinstance(node, BNode) or str(node).startswith("_:") else str(node)


def _local_hits(data: Graph, shapes: Graph) -> set[tuple[str, str]]:
    local = Engines.build(shapes, Graph(), subclasses=data).closures()
    idx = local.index(t for t in rdflib_triples(data) if t.predicate.value != str(RDFS.subClassOf))
    _patients, hits = local.hits(idx)
    return {(u.shape if not u.shape.startswith("_:") else "bnode", _key(focus)) for u, focus, _owners in hits}


@pytest.mark.parametrize("seed", range(6))
def test_core_suite_reports_what_pyshacl_reports(seed: int, core_shapes: Graph, core_data) -> None:
    shapes = core_shapes
    data = core_data(seed)
    expected = pyshacl_hits(data, shapes, _key)
    assert _local_hits(data, shapes) == expected
    assert {s.rsplit("/", 1)[-1] for s, _f in expected} >= {"qualified", "datatype-int", "range", "closed", "xone"}


def test_every_core_shape_compiles_and_deactivated_reports_nothing(core_shapes: Graph) -> None:
    local = Engines.build(core_shapes, Graph(), subclasses=core_shapes).closures()
    shapes = {u.shape.rsplit("/", 1)[-1] for u in local.plan.units}
    assert {"class", "datatype-int", "pattern", "lang", "closed", "inverse", "sequence", "alternative", "star",
            "nested", "qualified", "qualified-none", "xone", "not", "and"} <= shapes
    assert "deactivated" not in shapes


@pytest.mark.parametrize("shape", [
    "ex:s a sh:NodeShape ; sh:targetClass ex:Thing ; sh:sparql [ sh:select \"SELECT $this WHERE { }\" ] .",
    "ex:s a sh:PropertyShape ; sh:targetClass ex:Thing ; sh:path ex:a ; sh:lessThan ex:b .",
    "ex:s a sh:PropertyShape ; sh:targetClass ex:Thing ; sh:path ex:a ; sh:qualifiedValueShapesDisjoint true ;"
    " sh:qualifiedValueShape [ sh:class ex:C ] ; sh:qualifiedMinCount 1 .",
    "ex:s a sh:PropertyShape ; sh:targetClass ex:Thing ; sh:path ex:a ; sh:in ( [ ex:p 1 ] ) .",
])
def test_unsupported_shapes_raise_instead_of_guessing(shape: str) -> None:
    shapes = Graph()
    shapes.parse(data="@prefix ex: <http://example.org/t/> . @prefix sh: <http://www.w3.org/ns/shacl#> .\n" + shape,
                 format="turtle")
    with pytest.raises(Unsupported):
        Engines.build(shapes, Graph(), subclasses=Graph()).closures()


def test_subclass_triples_in_the_data_are_unsupported(engine: Engines) -> None:
    import pyoxigraph as ox

    triple = ox.Triple(ox.NamedNode(str(EX.A)), ox.NamedNode(str(RDFS.subClassOf)), ox.NamedNode(str(NPC.Finding)))
    with pytest.raises(Unsupported):
        engine.closures().index([triple])


# -- the package's shapes: every criterion state, every patient-model rule -------------------------

@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.ttl")) + sorted(EXAMPLES.glob("*.jsonld")), ids=lambda p: p.name)
def test_example_patients_get_the_reference_statuses(path: Path, engine: Engines) -> None:
    from npc_kg.assessment.assess import reference_statuses

    graph = parse_file(path)
    expected = reference_statuses(graph)
    got = evaluate_graph(graph, engine)
    assert got.keys() == expected.keys()
    for patient, row in got.items():
        assert {"verdict": row.verdict, **row.statuses} == expected[patient], path.name


def test_examples_cover_every_status_of_every_criterion(engine: Engines) -> None:
    seen: set[tuple[str, str]] = set()
    for path in EXAMPLES.glob("*.ttl"):
        for row in evaluate_graph(parse_file(path), engine).values():
            seen |= set(row.statuses.items())
    for criterion in engine.criteria():
        statuses = {s for c, s in seen if c == criterion.iri}
        assert {"satisfied", "violated"} <= statuses, criterion.name
        assert "unknown" in statuses or criterion.name.startswith("ind-2"), criterion.name


_PATIENT = """
@prefix npc: <https://w3id.org/npc-kg/> . @prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
@prefix dcterms: <http://purl.org/dc/terms/> .
<urn:x:p> a npc:Patient ; dcterms:identifier "P" ; npc:age {age} ; npc:radiotherapyCourses 1 ;
    npc:ecogPerformanceStatus 1 ; npc:hasFinding <urn:x:r> {extra} .
<urn:x:r> a {rtype} ; {status} npc:rTCategory npc:rT2 ; npc:monthsSinceRadiotherapy {months} .
"""
_OK = {"age": "50", "extra": "", "rtype": "npc:LocalRecurrence", "status": "npc:findingStatus npc:Present ;",
       "months": "12.5"}


@pytest.mark.parametrize(("change", "field"), [
    ({"age": '"abc"^^xsd:integer'}, "age"),
    ({"age": '"58.5"^^xsd:integer'}, "age"),
    ({"age": "130"}, "age"),
    ({"age": "50, 51"}, "age"),
    ({"extra": '; dcterms:identifier "Q"'}, "id"),
    ({"extra": '; dcterms:identifier 5'}, "id"),
    ({"extra": '; npc:hasFinding "lit"'}, "findings"),
    ({"status": ""}, "status"),
    ({"status": "npc:findingStatus npc:Present, npc:Absent ;"}, "status"),
    ({"status": "npc:findingStatus npc:rT2 ;"}, "status"),
    ({"months": '"n/a"^^xsd:decimal'}, "months_since_radiotherapy"),
    ({"months": "700"}, "months_since_radiotherapy"),
    ({"rtype": "<urn:x:NotAFinding>"}, "type"),
])
def test_each_patient_model_rule_gives_an_error_row_naming_its_field(change: dict[str, str], field: str,
                                                                     engine: Engines) -> None:
    graph = Graph()
    graph.parse(data=_PATIENT.format(**{**_OK, **change}), format="turtle")
    [row] = evaluate_graph(graph, engine).values()
    assert row.verdict == "error" and field in row.error.split(": ", 1)[1].split(", ")
    assert "abc" not in row.error and "n/a" not in row.error


def test_a_well_formed_patient_has_no_error_row(engine: Engines) -> None:
    graph = Graph()
    graph.parse(data=_PATIENT.format(**_OK), format="turtle")
    [row] = evaluate_graph(graph, engine).values()
    assert row.verdict == "indeterminate" and row.error == ""


def test_json_ld_decimals_are_well_typed(engine: Engines) -> None:
    graph = parse_file(EXAMPLES / "eligible.jsonld")
    [row] = evaluate_graph(graph, engine).values()
    assert row.verdict == "eligible"


def test_literal_checks_match_pyshacl_and_log_no_value(caplog: pytest.LogCaptureFixture) -> None:
    shapes = Graph()
    shapes.parse(data="""
        @prefix ex: <http://example.org/t/> . @prefix sh: <http://www.w3.org/ns/shacl#> .
        @prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
        ex:int a sh:PropertyShape ; sh:targetClass ex:Thing ; sh:path ex:v ; sh:datatype xsd:integer .
        ex:dec a sh:PropertyShape ; sh:targetClass ex:Thing ; sh:path ex:v ; sh:datatype xsd:decimal .
        ex:bool a sh:PropertyShape ; sh:targetClass ex:Thing ; sh:path ex:v ; sh:datatype xsd:boolean .
        ex:date a sh:PropertyShape ; sh:targetClass ex:Thing ; sh:path ex:v ; sh:datatype xsd:date .
        ex:min a sh:PropertyShape ; sh:targetClass ex:Thing ; sh:path ex:v ; sh:minInclusive 0 .
        ex:max a sh:PropertyShape ; sh:targetClass ex:Thing ; sh:path ex:v ; sh:maxExclusive 5.5 .
        ex:str a sh:PropertyShape ; sh:targetClass ex:Thing ; sh:path ex:v ; sh:datatype xsd:string .
        """, format="turtle")
    values = [Literal("abc", datatype=XSD.integer), Literal("1.5", datatype=XSD.integer), Literal("58", datatype=XSD.integer),
              Literal("-3", datatype=XSD.integer), Literal("+05", datatype=XSD.integer), Literal("n/a", datatype=XSD.decimal),
              Literal("18", datatype=XSD.decimal), Literal("5.5", datatype=XSD.decimal), Literal(".5", datatype=XSD.decimal),
              Literal("true", datatype=XSD.boolean), Literal("yes", datatype=XSD.boolean),
              Literal("2020-02-30", datatype=XSD.date), Literal("2020-02-03", datatype=XSD.date), Literal("x"),
              Literal("x", lang="en"), Literal("1e3", datatype=XSD.double), EX.iri]
    data = Graph()
    for i, value in enumerate(values):
        data.add((EX[f"n{i}"], RDF.type, EX.Thing))
        data.add((EX[f"n{i}"], EX.v, value))
    # as the reference path reads data: parsed by rdflib (which normalises lexical forms), then
    # rebuilt from the lexical form (npc_kg.shacl._from_lexical); so "yes"^^xsd:boolean reads "false"
    from npc_kg.shacl.reference import _from_lexical

    reread = Graph()
    reread.parse(data=data.serialize(format="nt"), format="nt")
    expected = pyshacl_hits(Graph().__iadd__([(s, p, _from_lexical(o)) for s, p, o in reread]), shapes, _key)
    caplog.clear()
    with caplog.at_level(logging.DEBUG), warnings.catch_warnings(record=True) as warned:
        warnings.simplefilter("always")
        got = _local_hits(data, shapes)
    assert got == expected
    messages = [r.getMessage() for r in caplog.records] + [str(w.message) for w in warned]
    assert not any(v in m for m in messages for v in ("abc", "n/a", "yes", "2020-02-30")), messages


# -- cohorts: the same rows as pySHACL and as the SPARQL engine ----------------------------------

def _compare(path: Path, other: str) -> int:
    [batch] = list(iter_batches(path, batch_size=10**9))
    local = {r.patient: (r.verdict, r.statuses, r.error) for r in assess_batch(batch, "local")}
    theirs = {r.patient: (r.verdict, r.statuses, r.error) for r in assess_batch(batch, other)}
    assert local.keys() == theirs.keys()
    if other == "reference":  # the reference names fields by sh:name only; compare verdicts and statuses
        local = {p: v[:2] for p, v in local.items()}
        theirs = {p: v[:2] for p, v in theirs.items()}
    differences = [p for p in theirs if local[p] != theirs[p]]
    first = differences[0] if differences else None
    assert not differences, f"{len(differences)} differ, e.g. {first}: {local.get(first)} vs {theirs.get(first)}"
    return len(theirs)


def test_local_equals_reference_on_a_small_cohort(tmp_path: Path) -> None:
    synth(40, 21, tmp_path / "c.nt", error_rate=0.15, syntax_errors=False)
    assert _compare(tmp_path / "c.nt", "reference") == 40


def test_local_equals_the_sparql_engine_on_2000_patients(tmp_path: Path) -> None:
    synth(2000, 7, tmp_path / "c.nt", error_rate=0.05, syntax_errors=False)
    assert _compare(tmp_path / "c.nt", "sparql") == 2000


def test_unreadable_records_and_batches(tmp_path: Path) -> None:
    synth(200, 12, tmp_path / "d.nt", error_rate=0.2)
    rows = [r for b in iter_batches(tmp_path / "d.nt", batch_size=33) for r in assess_batch(b, "local")]
    assert len(rows) == 200 == len({r.patient for r in rows})
    assert any("cannot parse nt line" in r.error for r in rows)
    assert any("patient model" in r.error for r in rows)
    whole = {r.patient: r for b in iter_batches(tmp_path / "d.nt", batch_size=10**6) for r in assess_batch(b, "local")}
    assert {r.patient: r for r in rows} == whole, "batch size does not change answers"


def test_signatures_are_reused_across_patients_and_batches(tmp_path: Path) -> None:
    synth(300, 3, tmp_path / "c.nt")
    engine = package_engines().closures()
    engine.linked.reset()
    first = [r for b in iter_batches(tmp_path / "c.nt", batch_size=100) for r in assess_batch(b, "local")]
    assert engine.linked.interned, "signature mode is on for the package's shapes"
    assert sum(len(m) for m in engine.linked.group_memos) < 300 + 600, "finding records share signatures"
    engine.linked.reset()
    again = [r for b in iter_batches(tmp_path / "c.nt", batch_size=300) for r in assess_batch(b, "local")]
    assert first == again


def test_cycles_fall_back_to_per_node_memos(engine: Engines) -> None:
    graph = Graph()
    graph.parse(data=_PATIENT.format(**_OK) + "<urn:x:r> <https://w3id.org/npc-kg/hasFinding> <urn:x:p> .", format="turtle")
    [row] = evaluate_graph(graph, engine).values()
    # the patient is now also a finding record (object of npc:hasFinding): no type, no status
    assert row.verdict == "error" and "status" in row.error and "type" in row.error


def test_shapes_outside_the_subset_go_to_the_sparql_engine(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    import npc_kg.shacl.engines as engines_module

    def refuse(plan: object) -> ClosureEvaluator:
        raise Unsupported("sh:sparql is not supported by the local evaluator")

    synth(30, 4, tmp_path / "c.nt")
    [batch] = list(iter_batches(tmp_path / "c.nt"))
    package = package_engines()
    fresh = Engines(package.plan, queries=package.sparql.units, treatments=package.treatments(),
                    criteria={str(package.treatment()): package.criteria()})
    monkeypatch.setattr(engines_module, "ClosureEvaluator", refuse)
    with pytest.warns(NpcKgNotice, match="using the SPARQL engine"):
        rows = assess_batch(batch, "local", engines=fresh)
    assert rows == assess_batch(batch, "sparql") and len(rows) == 30


def test_a_batch_with_subclass_triples_goes_to_the_sparql_engine(tmp_path: Path) -> None:
    data = tmp_path / "c.nt"
    synth(5, 4, data)
    with open(data, "a") as handle:
        handle.write("<https://example.org/X> <http://www.w3.org/2000/01/rdf-schema#subClassOf> "
                     "<https://w3id.org/npc-kg/Finding> .\n")
    [batch] = list(iter_batches(data, batch_size=100))
    with pytest.raises(Unsupported):
        package_engines().closures().index_strict(batch.data)
    assert assess_batch(batch, "local") == assess_batch(batch, "sparql")
