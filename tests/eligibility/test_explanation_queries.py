"""The explanation queries of ``npc_kg.assess`` (prognosis, evidence, statements) run on pyoxigraph.

They used to run on rdflib; rdflib stays the reference here: for every example patient, every
query gives the same rows on both, after the same merging into JSON values.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from rdflib import RDF, Graph
from rdflib.plugins.sparql import prepareQuery

import npc_kg.assessment.assess as assessment
from npc_kg.errors import QueryError
from npc_kg.kg.load import load
from npc_kg.namespace import NPC
from npc_kg.patient import read_patient

EXAMPLES = sorted((Path(__file__).parents[2] / "examples" / "patients").glob("*.ttl"))
QUERIES = ("patient-prognosis", "patient-evidence", "patient-statements")


def _rdflib_rows(graph: Graph, name: str, patient: object) -> list[tuple[str, list[tuple[str, object]]]]:
    """The query on rdflib over KB + patient, as (variable, value) rows in result order."""
    union = Graph()
    for triple in load():
        union.add(triple)
    for triple in graph:
        union.add(triple)
    result = union.query(prepareQuery(assessment._query(name)), initBindings={"patient": patient})  # type: ignore[dict-item]
    variables = [str(v) for v in result.vars or []]
    return [(name, [(v, assessment._json_value(node)) for v, node in zip(variables, row, strict=True)])
            for row in result]  # type: ignore[arg-type]


def _oxigraph_rows(graph: Graph, name: str, patient: object) -> list[tuple[str, list[tuple[str, object]]]]:
    import pyoxigraph as ox

    from npc_kg.sparql.terms import from_oxigraph, inject_values

    result = assessment._union(graph).query(inject_values(assessment._query(name), {"patient": patient}))  # type: ignore[dict-item]
    assert isinstance(result, ox.QuerySolutions)
    variables = [v.value for v in result.variables]
    return [(name, [(v, assessment._json_value(from_oxigraph(s[v]))) for v in variables]) for s in result]


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_explanation_rows_equal_rdflibs(path: Path) -> None:
    graph, _where = read_patient(path)
    patients = sorted(graph.subjects(RDF.type, NPC.Patient))
    assert patients
    seen = 0
    for patient in patients:
        for name in QUERIES:
            expected = _rdflib_rows(graph, name, patient)
            assert _oxigraph_rows(graph, name, patient) == expected, f"{path.name} {name}"
            seen += len(expected)
    assert seen > 0  # every example patient has evidence figures


def test_a_named_query_with_service_is_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "queries").mkdir()
    (tmp_path / "queries" / "leaky.rq").write_text(
        "# title: t\n# description: d\n# params: patient (IRI) — p\n"
        "SELECT ?x WHERE { SERVICE <http://example.org/sparql> { ?patient ?p ?x } }\n", encoding="utf-8")
    monkeypatch.setattr(assessment, "data_path", lambda *parts: tmp_path.joinpath(*parts))
    monkeypatch.setattr(assessment, "_QUERIES", {})
    with pytest.raises(QueryError, match="SERVICE"):
        assessment._query("leaky")
