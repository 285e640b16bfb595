"""The named queries follow the catalogue's contract: header, declared params, deterministic order."""

from __future__ import annotations

from typing import Any

import pytest
from rdflib.plugins.sparql.parserutils import CompValue
from rdflib.term import Variable

from npc_kg.resources import data_path
from npc_kg.sparql.catalog import list_queries, read_query_file
from npc_kg.sparql.safety import parse

QUERY_FILES = sorted(data_path("queries").glob("*.rq"))


def test_the_catalogue_has_the_documented_queries() -> None:
    names = {named.name for named in list_queries()}
    assert {
        "criteria-for-treatment",
        "evidence-figures",
        "conflicting-figures",
        "prognostic-associations",
        "term-mappings",
        "sources",
        "patient-criterion-status",
    } <= names


@pytest.mark.parametrize("path", QUERY_FILES, ids=lambda path: path.stem)
def test_header_lines_come_first(path: Any) -> None:
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("# title:") and lines[0][len("# title:") :].strip()
    assert lines[1].startswith("# description:") and lines[1][len("# description:") :].strip()
    assert any(line.startswith("# params:") for line in lines[2:4])
    read_query_file(path)  # the params line parses


def _order_variables(node: Any) -> set[str] | None:
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, CompValue):
            if item.name == "OrderBy":
                found = set()
                for condition in dict.get(item, "expr") or []:
                    expr = dict.get(condition, "expr") if isinstance(condition, CompValue) else condition
                    if isinstance(expr, Variable):
                        found.add(str(expr))
                return found
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return None


@pytest.mark.parametrize("path", QUERY_FILES, ids=lambda path: path.stem)
def test_order_by_covers_every_selected_variable(path: Any) -> None:
    """Rows compare across backends only if the order is total over what is selected."""
    named = read_query_file(path)
    parsed = parse(named.text)
    assert parsed.kind == "select"
    ordered = _order_variables(parsed.prepared.algebra)  # type: ignore[union-attr]
    assert ordered is not None, "no ORDER BY"
    missing = [name for name in parsed.variables if name not in ordered]
    assert not missing, f"ORDER BY lacks {missing}"


@pytest.mark.parametrize("path", QUERY_FILES, ids=lambda path: path.stem)
def test_at_most_20_selected_variables(path: Any) -> None:
    """Virtuoso refuses an ORDER BY with more than 20 keys."""
    assert len(parse(read_query_file(path).text).variables) <= 20
