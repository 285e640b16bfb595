"""What the sources report for a patient: prognosis, evidence figures and statements.

The named queries ``queries/patient-prognosis.rq``, ``patient-evidence.rq`` and
``patient-statements.rq`` run through :mod:`npc_kg.sparql` (its catalog and its safety check:
no ``SERVICE``, no remote ``FROM``) on private pyoxigraph stores of bounded size. A store holds
the knowledge graph, the triples of the input that no patient reaches (for example classes the
data declares) and, each in a named graph of its own, the graphs of up to :data:`PATIENTS_PER_STORE`
patients: every triple whose subject is reachable from the patient along the data's edges (its
finding records and what they point to). A patient's queries run over the union of the first two
and its own graph only, so they never see another patient's records, and their rows equal those
of a run over the knowledge graph plus that patient's data alone. The cost per patient does not
grow with the number of patients in the file: a query's cost grows with the size of its store
(pyoxigraph walks every term of the store for a zero-length path), and adding and removing each
patient's triples instead leaves removed quads behind that slow later queries. Nothing is written
to disk and nothing goes over the network.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

import pyoxigraph as ox
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.term import Node

from npc_kg.namespace import ENGINE
from npc_kg.sparql.backends.base import Solutions
from npc_kg.sparql.backends.oxigraph_backend import OxigraphBackend
from npc_kg.sparql.bounded import watched
from npc_kg.sparql.catalog import check_named, named_query
from npc_kg.sparql.terms import to_oxigraph

__all__ = ["EXPLANATIONS", "PATIENTS_PER_STORE", "RECORDS", "Explainer", "duplicate_records", "json_value", "merge_rows"]

EXPLANATIONS = ("patient-prognosis", "patient-evidence", "patient-statements")
"""The named queries that explain an assessment, each with one parameter: ``patient``."""
RECORDS = "criterion-records"
"""The named query of the finding records behind each criterion (and the resources they came from)."""

_LIST_VARIABLES = {"analysis": "analyses", "textIssue": "text_issues", "condition": "conditions"}
"""Multi-valued query columns and the JSON key of their list."""
PATIENTS_PER_STORE = 64
"""Patients whose graphs share one store (a bound on the store's size, so on a query's cost)."""
_SHARED = str(ENGINE) + "graph/shared"
_PATIENT_GRAPH = str(ENGINE) + "graph/patient/"


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


def json_value(node: Node | None) -> Any:
    """A query value as JSON: numbers by datatype (an ``xsd:decimal`` is a float), IRIs as strings."""
    if node is None:
        return None
    if isinstance(node, Literal):
        value = node.toPython()
        if isinstance(value, Decimal):
            return float(value)  # by datatype: an xsd:decimal is a JSON number with a fraction ("0.0" -> 0.0)
        if isinstance(value, bool | int | float | str):
            return value
        return str(node)
    return str(node)


def merge_rows(solutions: Solutions) -> list[dict[str, Any]]:
    """Merge a query's rows into one dict per item.

    Rows are merged on the first projected variable (and ``basis``, when projected). The
    multi-valued columns become sorted lists under a plural key; every other variable becomes a
    snake_case key holding its first bound value (None if never bound).
    """
    variables = solutions.variables
    key_variables = [variables[0], *(["basis"] if "basis" in variables else [])]
    merged: dict[tuple[str, ...], dict[str, Any]] = {}
    for solution in solutions.rows:
        values = dict(zip(variables, solution, strict=True))
        key = tuple(str(values[v]) for v in key_variables)
        row = merged.setdefault(key, {})
        for variable, node in values.items():
            if variable in _LIST_VARIABLES:
                items = row.setdefault(_LIST_VARIABLES[variable], [])
                if node is not None and str(node) not in items:
                    items.append(str(node))
                    items.sort()
            elif row.get(_snake(variable)) is None:
                row[_snake(variable)] = json_value(node)
    return list(merged.values())


def _reachable(graph: Graph, start: Node, skip: set[Node] | frozenset[Node] = frozenset()) -> set[Node]:
    """The subjects of ``graph`` reachable from ``start`` along its edges (``start`` included), not through ``skip``."""
    seen = {start}
    frontier = [start]
    while frontier:
        node = frontier.pop()
        for obj in graph.objects(node, None):
            if isinstance(obj, URIRef | BNode) and obj not in seen and obj not in skip:
                seen.add(obj)
                frontier.append(obj)
    return seen


def duplicate_records(graph: Graph, patient: Node) -> set[Node]:
    """The records of ``patient`` that repeat another record: the same edge from the patient, the same
    description (every predicate and object), and no other edge pointing to them. All but the first
    (in term order) of each such group are returned.

    The explanation queries are ``SELECT DISTINCT`` over the knowledge graph's terms and never project
    or count a record, so a repeated record adds no row; leaving the repeats out makes a patient who
    has a finding recorded many times (for example once per visit) cost what one record costs.
    """
    groups: dict[tuple[Node, frozenset[tuple[Node, Node]]], list[Node]] = {}
    for predicate, record in graph.predicate_objects(patient):
        if not isinstance(record, URIRef | BNode) or record == patient:
            continue
        description = frozenset(graph.predicate_objects(record))
        if not description or any(obj == record for _p, obj in description):
            continue
        groups.setdefault((predicate, description), []).append(record)
    duplicates: set[Node] = set()
    for records in groups.values():
        if len(records) < 2:
            continue
        for record in sorted(records, key=str)[1:]:
            pointed_to = sum(1 for _ in zip(graph.subject_predicates(record), range(2), strict=False))
            if pointed_to == 1:  # by the patient only
                duplicates.add(record)
    return duplicates


class Explainer:
    """The explanation queries of a file's patients, each over the knowledge graph and its own data."""

    def __init__(self, graph: Graph, patients: Sequence[Node], *, kg_ntriples: bytes | None = None) -> None:
        if kg_ntriples is None:
            from npc_kg.kg.load import kg_ntriples as package_kg

            kg_ntriples = package_kg()
        self.kg = kg_ntriples
        self.graph = graph
        self.patients = list(dict.fromkeys(patients))
        self.repeats = {patient: duplicate_records(graph, patient) for patient in self.patients}
        self.own = {patient: _reachable(graph, patient, self.repeats[patient]) for patient in self.patients}
        reached = set().union(*self.own.values(), *self.repeats.values()) if self.own else set()
        self.shared = _quads(graph, (s for s in set(graph.subjects()) if s not in reached), _SHARED)
        self.groups = {patient: number // PATIENTS_PER_STORE for number, patient in enumerate(self.patients)}
        self.graphs: dict[Node, str] = {}
        self._backends: dict[int, OxigraphBackend] = {}
        self._texts = {name: named_query(name).text for name in (*EXPLANATIONS, RECORDS)}
        check_named([*EXPLANATIONS, RECORDS])  # the safety check's verdicts, from the user cache

    def _backend(self, patient: Node) -> OxigraphBackend:
        """The store that holds ``patient``'s graph: built for its group of patients, replacing the previous one."""
        group = self.groups[patient]
        backend = self._backends.get(group)
        if backend is None:
            store = ox.Store()
            store.bulk_load(self.kg, format=ox.RdfFormat.N_TRIPLES)
            quads = list(self.shared)
            first = group * PATIENTS_PER_STORE
            for number, member in enumerate(self.patients[first:first + PATIENTS_PER_STORE], first):
                name = self.graphs[member] = f"{_PATIENT_GRAPH}{number}"
                quads += _quads(self.graph, self.own[member], name, self.repeats[member])
            store.bulk_extend(quads)
            # The package's own queries, linear in a patient's findings and bounded by the input limits
            # (npc_kg.limits): they run in this process, without the query timeout's fork (docs/reliability.md).
            backend = OxigraphBackend(store=store, include_kg=False, timeout=None)
            self._backends = {group: backend}
        return backend

    def rows(self, name: str, patient: Node) -> list[dict[str, Any]]:
        """The merged rows of the named query ``name`` for ``patient`` (see :func:`merge_rows`)."""
        return self.all_rows(patient, (name,))[name]

    def all_rows(self, patient: Node, names: Sequence[str] = EXPLANATIONS) -> dict[str, list[dict[str, Any]]]:
        """The merged rows of each named query for ``patient``, over the knowledge graph, the shared triples
        and that patient's graph."""
        backend = self._backend(patient)
        scope = [None, _SHARED, self.graphs[patient]]
        with watched("the explanation queries of a patient"):
            return {name: merge_rows(backend.select(self._texts[name], {"patient": patient}, default_graph=scope))
                    for name in names}

    def records(self, patient: Node) -> list[dict[str, Node | None]]:
        """The rows of ``queries/criterion-records.rq`` for ``patient`` (one per criterion and record), unmerged."""
        backend = self._backend(patient)
        with watched("the criterion-records query of a patient"):
            found = backend.select(self._texts[RECORDS], {"patient": patient},
                                   default_graph=[None, _SHARED, self.graphs[patient]])
        return [dict(zip(found.variables, row, strict=True)) for row in found.rows]

    def explain(self, patient: Node, label: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """The prognosis and the evidence (figures, then statements) of ``patient``; ``label(iri)`` names a population."""
        found = self.all_rows(patient)
        prognosis = [_ordered(r, ("association", "label", "basis")) for r in found["patient-prognosis"]]
        figures = [
            _ordered({"type": "figure", **r, "population_label": label(r.get("population"))}, ("type", "figure", "label"))
            for r in found["patient-evidence"]
        ]
        statements = [_ordered({"type": "statement", **r}, ("type", "statement", "label")) for r in found["patient-statements"]]
        return prognosis, figures + statements


def _quads(graph: Graph, subjects: Iterable[Node], name: str, skip: set[Node] | frozenset[Node] = frozenset()) -> list[ox.Quad]:
    target = ox.NamedNode(name)
    out = []
    for subject in subjects:
        s = to_oxigraph(subject)
        for pred, obj in graph.predicate_objects(subject):
            if obj in skip:
                continue
            out.append(ox.Quad(s, ox.NamedNode(str(pred)), to_oxigraph(obj), target))  # type: ignore[arg-type]
    return out


def _ordered(row: Mapping[str, Any], first: Sequence[str]) -> dict[str, Any]:
    keys = [k for k in first if k in row] + sorted(k for k in row if k not in first)
    return {k: row[k] for k in keys}
