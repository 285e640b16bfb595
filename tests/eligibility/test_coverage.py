"""The examples and test data cover every verdict, criterion status and missing data item."""

from __future__ import annotations

from rdflib import Graph

from npc_kg.core.rules import Criterion
from npc_kg.namespace import NPC, SH
from npc_kg.shacl.engines import package_engines
from npc_kg.shacl.shapes import shapes_graph
from tests.packdata import kind_count


def criteria_for() -> list[Criterion]:
    """The criteria of the treatment the package's shapes implement."""
    return package_engines().criteria()


def test_examples_cover_each_verdict_contraindication_and_missing_item(helpers) -> None:
    verdicts, violated, missing_alone = set(), set(), set()
    for path in helpers.example_files():
        expected = helpers.expectations(path)
        verdicts.add(expected.verdict)
        broken = [c for c, s in expected.statuses.items() if s == "violated"]
        violated.update(broken)
        if expected.verdict == "indeterminate" and len(expected.missing) == 1:
            missing_alone.add(expected.missing[0])
    assert verdicts == {"eligible", "ineligible", "indeterminate"}
    contraindications = {str(c.iri) for c in criteria_for() if c.kind == "contraindication"}
    assert len(contraindications) == kind_count(NPC.Contraindication) > 0  # issue 11: the count is the data's
    assert contraindications <= violated
    needed = {str(item) for item in shapes_graph().objects(None, NPC.missingDataItem)}
    assert needed == missing_alone, "one example per needed data item, each indeterminate"


def test_every_criterion_fails_passes_and_goes_unknown_in_test_data(helpers) -> None:
    seen: dict[str, set[str]] = {}
    for path in helpers.valid_files():
        for criterion, status in helpers.expectations(path).statuses.items():
            seen.setdefault(criterion, set()).add(status)
    for criterion in criteria_for():
        assert seen.get(str(criterion.iri)) == {"satisfied", "violated", "unknown"}, criterion.iri


def test_every_result_shape_names_a_kb_criterion_and_a_severity(kg: Graph) -> None:
    shapes = shapes_graph()
    criteria = {str(c.iri) for c in criteria_for()}
    implemented = set()
    for shape, criterion in shapes.subject_objects(NPC.criterion):
        assert str(criterion) in criteria, f"{shape}: unknown criterion {criterion}"
        severity = shapes.value(shape, SH.severity)
        assert severity in (SH.Violation, SH.Warning, SH.Info), shape
        has_target = any(shapes.value(shape, p) is not None for p in (SH.targetClass, SH.targetNode, SH.targetObjectsOf))
        assert has_target, f"{shape}: a criterion shape needs a target"
        assert shapes.value(shape, SH.message) is not None, f"{shape}: needs sh:message"
        if severity == SH.Warning:
            assert shapes.value(shape, NPC.missingDataItem) is not None, f"{shape}: warning without npc:missingDataItem"
        if severity == SH.Violation:
            implemented.add(str(criterion))
    assert implemented == criteria, "every KB criterion of salvage surgery has a Violation shape"


def test_shapes_stay_in_shacl_core() -> None:
    shapes = shapes_graph()
    for predicate in (SH.sparql, SH.select, SH.ask, SH.js, SH.rule, SH.target):
        assert (None, predicate, None) not in shapes, predicate


def test_targeted_shapes_of_the_patient_model_have_field_names() -> None:
    shapes = shapes_graph()
    for node_shape in [*shapes.subjects(SH.targetClass, NPC.Patient), *shapes.subjects(SH.targetObjectsOf, NPC.hasFinding)]:
        if shapes.value(node_shape, NPC.criterion) is not None:
            continue
        for prop in shapes.objects(node_shape, SH.property):
            assert shapes.value(prop, SH.name) is not None, prop
