"""One compliance suite for every backend: each named query gives the rdflib backend's rows.

Backends: rdflib and pyoxigraph (embedded), a real Oxigraph server (loaded with the Graph Store
Protocol) and a real Virtuoso (loaded with INSERT DATA batches). Rows are compared after the
result layer's normalisation (``npc_kg.sparql.results.comparable``): numbers as Decimal, so
Virtuoso's ``xsd:int`` equals ``xsd:integer``; language tags and string datatypes dropped.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from npc_kg.kg.query import run_query
from npc_kg.sparql.backends import Backend
from npc_kg.sparql.catalog import list_queries
from npc_kg.sparql.results import comparable

PATIENT_1 = "https://w3id.org/npc-kg/patient/sparql-test-1"

CASES: list[tuple[str, dict[str, Any]]] = [
    ("criteria-for-treatment", {}),
    ("criteria-for-treatment", {"treatment": "npc:NeckSalvageSurgery"}),
    ("criteria-for-treatment", {"treatment": "npc:NasopharyngealSalvageSurgery"}),
    ("evidence-figures", {}),
    ("evidence-figures", {"outcome": "npc:OverallSurvival", "months": 60}),
    ("evidence-figures", {"intervention": "npc:Radiotherapy"}),
    ("evidence-figures", {"months": "60.0"}),
    ("conflicting-figures", {}),
    ("prognostic-associations", {}),
    ("prognostic-associations", {"outcome": "npc:OverallSurvival"}),
    ("term-mappings", {"term": "MONDO:0015459"}),
    ("term-mappings", {"term": "npc:NasopharyngealCarcinoma"}),
    ("term-mappings", {"term": "http://purl.obolibrary.org/obo/HP_0006824"}),
    ("sources", {}),
    ("evidence-for-disease", {"disease": "MONDO:0015459"}),
    ("evidence-for-disease", {"disease": "mondo:0002038"}),
    ("patient-criterion-status", {}),
    ("patient-criterion-status", {"patient": PATIENT_1}),
]

# Representative values for parameters of named queries not listed above (other areas' queries).
GENERIC_PARAMS = {"patient": PATIENT_1, "term": "MONDO:0015459", "treatment": "npc:SalvageSurgery"}


def _all_cases() -> list[tuple[str, dict[str, Any]]]:
    cases = list(CASES)
    listed = {name for name, _ in CASES}
    for named in list_queries():
        if named.name not in listed:
            cases.append((named.name, {spec.name: GENERIC_PARAMS[spec.name] for spec in named.params if spec.required}))
    return cases


def _normalised(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{key: comparable(value) for key, value in row.items()} for row in rows]


@pytest.mark.server
@pytest.mark.parametrize(("name", "params"), _all_cases(), ids=lambda value: str(value) if isinstance(value, str) else None)
def test_named_query_same_rows_on_every_backend(
    loaded_backend: Backend, reference_backend: Backend, name: str, params: dict[str, Any]
) -> None:
    expected = run_query(name, backend=reference_backend, params=params)
    actual = run_query(name, backend=loaded_backend, params=params)
    assert actual.variables == expected.variables
    assert _normalised(actual.rows) == _normalised(expected.rows)


@pytest.mark.server
def test_reference_answers_are_not_empty(reference_backend: Backend) -> None:
    """The suite compares something: the representative cases return rows on the reference."""
    for name, params in CASES:
        assert run_query(name, backend=reference_backend, params=params).rows, f"{name} {params} returned no rows"


@pytest.mark.server
def test_values_are_typed(loaded_backend: Backend) -> None:
    """Every backend gives Python types, not strings: int ordinal, Decimal value, bool, date."""
    criteria = run_query("criteria-for-treatment", backend=loaded_backend).rows
    assert {row["ordinal"] for row in criteria} == {1, 2, 3, 4, 5}
    assert all(type(row["ordinal"]) is int for row in criteria)
    figures = run_query("evidence-figures", backend=loaded_backend, params={"outcome": "npc:OverallSurvival", "months": 60}).rows
    assert Decimal("0.342") in {row["value"] for row in figures}
    assert all(type(row["timeHorizonMonths"]) is int for row in figures)
    associations = run_query("prognostic-associations", backend=loaded_backend).rows
    assert {row["independent"] for row in associations} <= {True, False, None}
    assert True in {row["independent"] for row in associations}
    sources = run_query("sources", backend=loaded_backend).rows
    assert {str(row["date"]) for row in sources} == {"2023-09-01", "2026-02-15"}


@pytest.mark.server
def test_parameter_injection_stays_a_literal(loaded_backend: Backend) -> None:
    """A string that tries to close the literal and run DROP ALL is bound as one literal."""
    attack = 'x" } ; DROP ALL ; #'
    text = (
        "# title: t\n# description: d\n# params: label (string) — a label\n"
        "SELECT ?label ?s WHERE { ?s <http://www.w3.org/2000/01/rdf-schema#label> ?label } ORDER BY ?label ?s"
    )
    assert run_query(text, backend=loaded_backend, params={"label": attack}).rows == []
    # the store is intact
    assert len(run_query("sources", backend=loaded_backend).rows) == 2


@pytest.mark.server
def test_parameter_binds_a_literal_with_quotes_and_non_ascii(loaded_backend: Backend) -> None:
    message = "No record of a neck lesion adherent to deep tissue or skin — data “missing”."
    text = (
        "# title: t\n# description: d\n# params: message (string) — a message\n"
        "SELECT ?message ?result WHERE { ?result <https://w3id.org/npc-kg/message> ?message } ORDER BY ?message ?result"
    )
    rows = run_query(text, backend=loaded_backend, params={"message": message}).rows
    assert [row["message"] for row in rows] == [message]


def test_every_case_names_a_named_query() -> None:
    names = {named.name for named in list_queries()}
    assert {name for name, _ in CASES} <= names
