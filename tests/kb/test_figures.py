"""The knowledge base holds every figure of both sources, structured (tests/kb/expected_figures.yaml),
and no number of the seed texts is forgotten."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from rdflib import RDF, Graph, Literal, URIRef
from rdflib.namespace import PROV
from rdflib.term import Node

from npc_kg.namespace import KB, NPC, OA, PREFIXES
from tests.kb.conftest import HERE, collapse

PERCENT = re.compile(r"\d+(?:\.\d+)?%")
NUMBER = re.compile(r"\d+(?:\.\d+)?")


def _iri(curie: str) -> URIRef:
    prefix, local = curie.split(":", 1)
    return URIRef(PREFIXES[prefix] + local)


def _num(node: Node | None) -> Decimal | None:
    return None if node is None else Decimal(str(node))


def _figures(graph: Graph) -> list[Node]:
    return sorted(set(graph.subjects(RDF.type, NPC.EvidenceFigure)), key=str)


def _matches(graph: Graph, figure: Node, entry: dict[str, Any]) -> bool:
    value = graph.value
    checks: list[bool] = [
        value(figure, NPC.reportedIn) == _iri(entry["source"]),
        value(figure, NPC.statistic) == _iri(entry["statistic"]),
    ]
    for key, prop in (("value", NPC.value), ("lower", NPC.lowerBound), ("upper", NPC.upperBound), ("p_value", NPC.pValue)):
        expected = entry.get(key)
        actual = _num(value(figure, prop))
        checks.append(actual == (None if expected is None else Decimal(str(expected))))
    for key, prop in (("period_start", NPC.periodStart), ("period_end", NPC.periodEnd)):
        actual_literal = value(figure, prop)
        checks.append((str(actual_literal) if actual_literal is not None else None) == entry.get(key))
    if "months" in entry:
        expected_months = entry["months"]
        horizon = None if expected_months is None else Decimal(expected_months)
        checks.append(_num(value(figure, NPC.timeHorizonMonths)) == horizon)
    for key, prop in (
        ("outcome", NPC.outcome), ("cause", NPC.cause), ("unit", NPC.unit), ("p_relation", NPC.pValueRelation),
        ("value_relation", NPC.valueRelation), ("intervention", NPC.intervention), ("comparator", NPC.comparator),
    ):  # fmt: skip
        if key in entry:
            checks.append(_iri(entry[key]) in set(graph.objects(figure, prop)))
    return all(checks)


def _assign(candidates: list[list[Node]]) -> dict[int, Node]:
    """Maximum bipartite matching of expected entries to figures (each figure used once)."""
    owner: dict[Node, int] = {}

    def augment(index: int, seen: set[Node]) -> bool:
        for figure in candidates[index]:
            if figure in seen:
                continue
            seen.add(figure)
            if figure not in owner or augment(owner[figure], seen):
                owner[figure] = index
                return True
        return False

    for index in range(len(candidates)):
        augment(index, set())
    return {index: figure for figure, index in owner.items()}


def test_every_expected_figure_is_in_the_graph(kg: Graph, expected_figures: list[dict[str, Any]]) -> None:
    figures = _figures(kg)
    candidates = [[f for f in figures if _matches(kg, f, entry)] for entry in expected_figures]
    assigned = _assign(candidates)
    missing = [entry for index, entry in enumerate(expected_figures) if index not in assigned]
    assert not missing, "expected figures missing from the graph:\n" + "\n".join(map(str, missing))


def test_no_unexpected_figures(kg: Graph, expected_figures: list[dict[str, Any]]) -> None:
    """The graph has exactly the expected figures: a new figure needs a new entry in the YAML list."""
    figures = _figures(kg)
    assert len(figures) == len(expected_figures)
    matched = {f for f in figures if any(_matches(kg, f, entry) for entry in expected_figures)}
    assert matched == set(figures), f"figures not in expected_figures.yaml: {sorted(set(figures) - matched)}"


def _quote_spans(graph: Graph, items: list[Node], source: URIRef, text: str) -> list[tuple[int, int]]:
    spans = []
    for item in items:
        for resource in graph.objects(item, PROV.wasDerivedFrom):
            if graph.value(resource, OA.hasSource) != source:
                continue
            for selector in graph.objects(resource, OA.hasSelector):
                exact = collapse(str(graph.value(selector, OA.exact)))
                spans += [(m.start(), m.end()) for m in re.finditer(re.escape(exact), text)]
    return spans


def _not_figure_spans(name: str, text: str) -> list[tuple[int, int]]:
    data = yaml.safe_load((HERE / "expected_figures.yaml").read_text(encoding="utf-8"))
    spans = []
    for entry in data["not_figures"]:
        if entry["file"] == name:
            found = [(m.start(), m.end()) for m in re.finditer(re.escape(collapse(entry["text"])), text)]
            assert found, f"not_figures entry not found in {name}: {entry['text']!r}"
            spans += found
    return spans


def _uncovered(pattern: re.Pattern[str], text: str, spans: list[tuple[int, int]]) -> list[str]:
    out = []
    for match in pattern.finditer(text):
        if not any(start <= match.start() and match.end() <= end for start, end in spans):
            out.append(text[max(0, match.start() - 40) : match.end() + 20])
    return out


@pytest.mark.parametrize("source", ["source-000", "source-001"])
def test_every_percentage_is_in_a_figure_quote(kg: Graph, seeds: Path, source: str) -> None:
    iri = KB[source]
    name = str(kg.value(iri, NPC.sourceTextFile))
    text = collapse((seeds / name).read_text(encoding="utf-8"))
    spans = _quote_spans(kg, _figures(kg), iri, text)
    assert PERCENT.search(text)
    missing = _uncovered(PERCENT, text, spans)
    assert not missing, "percentages no figure quotes:\n" + "\n".join(missing)


@pytest.mark.parametrize("source", ["source-000", "source-001"])
def test_every_number_is_a_figure_or_listed_as_not_a_figure(kg: Graph, seeds: Path, source: str) -> None:
    iri = KB[source]
    name = str(kg.value(iri, NPC.sourceTextFile))
    text = collapse((seeds / name).read_text(encoding="utf-8"))
    spans = _quote_spans(kg, _figures(kg), iri, text) + _not_figure_spans(name, text)
    missing = _uncovered(NUMBER, text, spans)
    assert not missing, "numbers that are neither in a figure quote nor listed in not_figures:\n" + "\n".join(missing)


def test_fractions_are_fractions(kg: Graph) -> None:
    for figure in _figures(kg):
        if kg.value(figure, NPC.unit) == NPC.Fraction:
            for prop in (NPC.value, NPC.lowerBound, NPC.upperBound):
                for literal in kg.objects(figure, prop):
                    assert isinstance(literal, Literal) and 0 <= Decimal(str(literal)) <= 1, (figure, prop, literal)
