"""Parameters: header parsing, validation, CURIE expansion, and escaping into VALUES blocks."""

from __future__ import annotations

from decimal import Decimal

import pytest
from rdflib import XSD, Literal, URIRef
from rdflib.plugins.sparql.algebra import translateQuery
from rdflib.plugins.sparql.parser import parseQuery

import npc_kg
from npc_kg.errors import QueryError
from npc_kg.kg.query import bind_params
from npc_kg.namespace import NPC
from npc_kg.sparql.catalog import named_query, resolve
from npc_kg.sparql.params import ParamSpec, expand_curie, parse_params_header, to_term
from npc_kg.sparql.terms import inject_values, sparql_term


def test_header_forms() -> None:
    specs = parse_params_header(
        [
            "treatment (IRI or CURIE, default npc:SalvageSurgery) — the treatment; months (decimal, optional) — horizon",
            "?patient (IRI of an npc:Patient)",
            "flag: boolean -- a flag",
        ]
    )
    assert [(s.name, s.kind, s.default, s.optional, s.required) for s in specs] == [
        ("treatment", "iri", "npc:SalvageSurgery", False, False),
        ("months", "literal", None, True, False),
        ("patient", "iri", None, False, True),
        ("flag", "literal", None, False, True),
    ]
    assert specs[1].datatype == str(XSD.decimal)
    assert parse_params_header(["none"]) == []


@pytest.mark.parametrize("line", ["treatment (colour)", "x (IRI, sometimes)", "a (IRI); a (IRI)", "(IRI)"])
def test_bad_headers_are_errors(line: str) -> None:
    with pytest.raises(QueryError):
        parse_params_header([line])


def test_undeclared_parameter_is_an_error() -> None:
    with pytest.raises(QueryError, match=r"does not declare parameter\(s\) colour"):
        npc_kg.query("criteria-for-treatment", colour="red")
    with pytest.raises(QueryError, match="declared: none"):
        npc_kg.query("SELECT ?s WHERE { ?s ?p ?o } ORDER BY ?s", s="x")


def test_required_parameter_missing() -> None:
    with pytest.raises(QueryError, match="needs parameter 'term'"):
        npc_kg.query("term-mappings")


def test_default_is_used() -> None:
    bindings = bind_params(named_query("criteria-for-treatment"), {})
    assert bindings == {"treatment": URIRef(NPC.SalvageSurgery)}


def test_curies_and_iris() -> None:
    assert expand_curie("npc:SalvageSurgery") == NPC.SalvageSurgery
    assert expand_curie("MONDO:0015459") == URIRef("http://purl.obolibrary.org/obo/MONDO_0015459")
    assert expand_curie("<https://example.org/x>") == URIRef("https://example.org/x")
    assert expand_curie("https://example.org/x") == URIRef("https://example.org/x")
    with pytest.raises(QueryError, match="unknown prefix 'nope'"):
        expand_curie("nope:x")
    for bad in ("https://example.org/a> <b", "not an iri", 'https://e.org/"x'):
        with pytest.raises(QueryError):
            expand_curie(bad)


def test_literal_types() -> None:
    decimal = ParamSpec("m", "literal", str(XSD.decimal))
    assert to_term(decimal, 60) == Literal("60", datatype=XSD.decimal)
    assert to_term(decimal, Decimal("0.5")) == Literal("0.5", datatype=XSD.decimal)
    integer = ParamSpec("n", "literal", str(XSD.integer))
    assert to_term(integer, "7") == Literal("7", datatype=XSD.integer)
    date = ParamSpec("d", "literal", str(XSD.date))
    assert to_term(date, "2023-09-01") == Literal("2023-09-01", datatype=XSD.date)
    for spec, bad in ((decimal, "sixty"), (decimal, "NaN"), (integer, "1.5"), (integer, True), (date, "yesterday")):
        with pytest.raises(QueryError, match="not a valid"):
            to_term(spec, bad)


def test_sparql_term_escaping() -> None:
    assert sparql_term(Literal('a"b\\c\nd')) == '"a\\"b\\\\c\\nd"'
    assert sparql_term(Literal("x", lang="en")) == '"x"@en'
    assert sparql_term(Literal("1", datatype=XSD.integer)) == f'"1"^^<{XSD.integer}>'
    with pytest.raises(QueryError):
        sparql_term(URIRef("http://a> . <b"))


def test_injection_attempt_stays_one_literal_in_values() -> None:
    attack = 'x" } ; DROP ALL ; #'
    query = "SELECT ?label WHERE { ?s <http://www.w3.org/2000/01/rdf-schema#label> ?label } ORDER BY ?label"
    injected = inject_values(query, {"label": Literal(attack)})
    algebra = translateQuery(parseQuery(injected)).algebra  # still one SELECT query, no update
    assert algebra.name == "SelectQuery"
    assert attack in [str(term) for term in _values(algebra)]


def _values(node: object) -> list[object]:
    found: list[object] = []
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if "res" in item and isinstance(item["res"], list):
                found.extend(value for row in item["res"] for value in row.values())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return found


def test_values_go_into_the_where_group_not_comments_or_strings() -> None:
    query = (
        "# a comment with { a brace\n"
        "PREFIX ex: <http://example.org/{odd}>\n"
        'SELECT ?s WHERE { ?s ex:p "{" } ORDER BY ?s'
    )
    injected = inject_values(query, {"s": URIRef("http://example.org/s")})
    assert 'WHERE {\n  VALUES (?s) { (<http://example.org/s>) }\n ?s ex:p "{" }' in injected
    construct = "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }"
    assert inject_values(construct, {"s": URIRef("http://a")}).startswith("CONSTRUCT { ?s ?p ?o } WHERE {\n  VALUES")


def test_resolve_name_file_and_text(tmp_path) -> None:  # type: ignore[no-untyped-def]
    assert resolve("sources").name == "sources"
    path = tmp_path / "mine.rq"
    path.write_text("# title: mine\n# description: d\n# params: none\nASK { ?s ?p ?o }\n", encoding="utf-8")
    assert resolve(str(path)).title == "mine"
    assert npc_kg.query(str(path)) is True
    with pytest.raises(QueryError, match="unknown named query 'no-such-query'"):
        resolve("no-such-query")
