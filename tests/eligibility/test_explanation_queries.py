"""The explanation queries of ``npc_kg.assess`` (prognosis, evidence, statements) run on pyoxigraph, per patient.

rdflib stays the reference here: for every example patient, every query over the knowledge
graph plus the whole patient file gives, on rdflib, the rows that the explainer gives on
pyoxigraph with each patient's queries scoped to that patient's own graph, after the same merging
into JSON values.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from rdflib import RDF, Graph
from rdflib.plugins.sparql import prepareQuery

import npc_kg.sparql.catalog as catalog
from npc_kg.assessment.explain import EXPLANATIONS, RECORDS, Explainer, merge_rows
from npc_kg.errors import QueryError
from npc_kg.kg.load import load
from npc_kg.namespace import NPC
from npc_kg.patient import read_patient
from npc_kg.sparql.backends.base import Solutions
from npc_kg.sparql.catalog import named_query

EXAMPLES = sorted((Path(__file__).parents[2] / "examples" / "patients").glob("*.ttl"))


def _rdflib_rows(graph: Graph, name: str, patient: object) -> list[dict[str, object]]:
    """The query on rdflib over KB + the whole patient file, merged as the explainer merges."""
    union = Graph()
    for triple in load():
        union.add(triple)
    for triple in graph:
        union.add(triple)
    result = union.query(prepareQuery(named_query(name).text), initBindings={"patient": patient})  # type: ignore[dict-item]
    variables = [str(v) for v in result.vars or []]
    return merge_rows(Solutions(variables, [tuple(row) for row in result]))  # type: ignore[arg-type]


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_explanation_rows_equal_rdflibs(path: Path) -> None:
    graph, _where = read_patient(path)
    patients = sorted(graph.subjects(RDF.type, NPC.Patient))
    assert patients
    explainer = Explainer(graph, patients)
    seen = 0
    for patient in patients:
        for name in EXPLANATIONS:
            expected = _rdflib_rows(graph, name, patient)
            assert explainer.rows(name, patient) == expected, f"{path.name} {name}"
            seen += len(expected)
    assert seen > 0  # every example patient has evidence figures


def test_patients_in_one_file_do_not_see_each_others_records() -> None:
    """Two patients in one graph get the rows each gets alone."""
    first, _ = read_patient(EXAMPLES[0])
    other = next(p for p in EXAMPLES[1:] if read_patient(p)[0].value(None, RDF.type, NPC.Patient)
                 != first.value(None, RDF.type, NPC.Patient))
    second, _ = read_patient(other)
    both = first + second
    patients = sorted(both.subjects(RDF.type, NPC.Patient))
    together = Explainer(both, patients)
    for graph in (first, second):
        [patient] = graph.subjects(RDF.type, NPC.Patient)
        alone = Explainer(graph, [patient])
        for name in EXPLANATIONS:
            assert together.rows(name, patient) == alone.rows(name, patient), name


def test_a_named_query_with_service_is_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "queries").mkdir()
    for name in (*EXPLANATIONS, RECORDS):
        (tmp_path / "queries" / f"{name}.rq").write_text(
            "# title: t\n# description: d\n# params: patient (IRI) — p\n"
            "SELECT ?x WHERE { SERVICE <http://example.org/sparql> { ?patient ?p ?x } }\n", encoding="utf-8")
    monkeypatch.setattr(catalog, "data_path", lambda *parts: tmp_path.joinpath(*parts))
    graph, _where = read_patient(EXAMPLES[0])
    [patient] = graph.subjects(RDF.type, NPC.Patient)
    with pytest.raises(QueryError, match="SERVICE"):
        Explainer(graph, [patient]).rows("patient-prognosis", patient)
