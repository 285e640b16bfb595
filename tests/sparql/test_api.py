"""The Python API: typed rows, DataFrames, ASK, and npc_kg.query staying callable."""

from __future__ import annotations

import sys
from datetime import date

import pytest

import npc_kg
from npc_kg.errors import NpcKgError, QueryError
from tests.packdata import criteria_count


def test_rows_are_typed_dicts() -> None:
    rows = npc_kg.query("sources")
    assert [row["source"] for row in rows] == [
        "https://w3id.org/npc-kg/kb/source-000",
        "https://w3id.org/npc-kg/kb/source-001",
    ]
    assert rows[1]["date"] == date(2026, 2, 15)
    assert isinstance(rows[1]["figures"], int)
    assert rows[0]["doi"] is None  # unbound variables are present as None


def test_dataframe() -> None:
    frame = npc_kg.query("evidence-figures", outcome="npc:OverallSurvival", months=60, as_dataframe=True)
    assert list(frame.columns)[:3] == ["figure", "label", "figureIntervention"]
    assert 0.342 in set(frame["value"]) and str(frame["value"].dtype) == "float64"  # numbers, never Decimal objects


def test_dataframe_without_pandas(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(NpcKgError, match=r"needs pandas"):
        npc_kg.query("sources", as_dataframe=True)


def test_ask_returns_bool() -> None:
    assert npc_kg.query("ASK { ?s a <https://w3id.org/npc-kg/EligibilityCriterion> }") is True


def test_construct_is_not_supported() -> None:
    with pytest.raises(QueryError, match="CONSTRUCT"):
        npc_kg.query("CONSTRUCT WHERE { ?s ?p ?o }")


def test_criteria_follow_subclass_of() -> None:
    """Criteria stated for npc:SalvageSurgery also govern its subclass npc:NeckSalvageSurgery."""
    general = {row["criterion"] for row in npc_kg.query("criteria-for-treatment")}
    neck = {row["criterion"] for row in npc_kg.query("criteria-for-treatment", treatment="npc:NeckSalvageSurgery")}
    assert len(general) == criteria_count() and neck == general
    assert npc_kg.query("criteria-for-treatment", treatment="npc:Radiotherapy") == []


def test_evidence_filters() -> None:
    everything = npc_kg.query("evidence-figures")
    radiotherapy = npc_kg.query("evidence-figures", intervention="npc:Radiotherapy")
    assert 0 < len(radiotherapy) < len(everything)
    assert all(row["figureIntervention"] != "https://w3id.org/npc-kg/NonRadiotherapySalvage" for row in radiotherapy)
    five_year = npc_kg.query("evidence-figures", months=60)
    assert five_year and all(row["timeHorizonMonths"] == 60 for row in five_year)


def test_conflicting_figures_pair_different_sources() -> None:
    rows = npc_kg.query("conflicting-figures")
    assert rows
    for row in rows:
        assert row["sourceA"] != row["sourceB"]
        assert row["highA"] < row["lowB"] or row["highB"] < row["lowA"]


def test_ill_typed_result_values_stay_out_of_the_log(caplog: pytest.LogCaptureFixture) -> None:
    """An ill-typed literal from a server becomes its lexical str, and its value is not logged."""
    from npc_kg.sparql.backends.remote import _term
    from npc_kg.sparql.results import to_python

    with caplog.at_level("DEBUG"):
        term = _term({"type": "literal", "value": "secret-abc", "datatype": "http://www.w3.org/2001/XMLSchema#integer"})
        assert to_python(term) == "secret-abc"
    assert "secret-abc" not in caplog.text


@pytest.mark.parametrize("query", [None, 5, ["sources"], b"SELECT * WHERE { ?s ?p ?o }"])
def test_a_query_of_the_wrong_type_is_a_query_error(query: object) -> None:
    with pytest.raises(NpcKgError, match=r"a query is a name, a \.rq file or SPARQL text"):
        npc_kg.query(query)  # type: ignore[arg-type]
