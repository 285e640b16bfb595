"""What the knowledge base says: criteria, sources, populations, flags, associations, statements."""

from __future__ import annotations

from decimal import Decimal

import pytest
from rdflib import RDF, RDFS, Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, PROV, SKOS, XSD

from npc_kg.namespace import KB, NPC, OA

MESH_DISEASE = URIRef("http://id.nlm.nih.gov/mesh/D004194")

CRITERIA = {
    "ind-1-uncontrolled-or-recurrent-disease": (NPC.Indication, 1, {NPC.ResidualOrRecurrentDisease}),
    "ind-2-local-no-skull-base-or-cranial-nerve": (
        NPC.Indication, 2, {NPC.LocalRecurrence, NPC.SkullBaseBoneDestruction, NPC.CranialNervePalsy},
    ),
    "ind-3-no-distant-metastasis": (NPC.Indication, 3, {NPC.DistantMetastasis}),
    "ci-1-skull-base-or-cranial-nerve": (NPC.Contraindication, 1, {NPC.SkullBaseBoneDestruction, NPC.CranialNervePalsy}),
    "ci-2-neck-lesion-adherent": (NPC.Contraindication, 2, {NPC.NeckLesionAdherentToDeepTissueOrSkin}),
    "ci-3-distant-metastasis": (NPC.Contraindication, 3, {NPC.DistantMetastasis}),
    "ci-4-age-frailty-condition-organ": (
        NPC.Contraindication, 4,
        {NPC.AdvancedAge, NPC.Frailty, NPC.PoorGeneralCondition, NPC.HepaticInsufficiency, NPC.RenalInsufficiency},
    ),
    "ci-5-other-contraindication": (NPC.Contraindication, 5, {NPC.OtherContraindicationToSurgery}),
}  # fmt: skip


def _quote(graph: Graph, item: URIRef) -> str:
    resource = graph.value(item, PROV.wasDerivedFrom)
    return str(graph.value(graph.value(resource, OA.hasSelector), OA.exact))


# ---------------------------------------------------------------------------------------------
# Criteria
# ---------------------------------------------------------------------------------------------


def test_exactly_the_documented_criteria(kg: Graph) -> None:
    criteria = set(kg.subjects(RDF.type, NPC.EligibilityCriterion))
    assert criteria == {KB[name] for name in CRITERIA}


@pytest.mark.parametrize("name", sorted(CRITERIA))
def test_criterion(kg: Graph, name: str) -> None:
    kind, ordinal, findings = CRITERIA[name]
    item = KB[name]
    assert kg.value(item, NPC.criterionKind) == kind
    assert kg.value(item, NPC.ordinal) == Literal(ordinal)
    assert set(kg.objects(item, NPC.appliesToTreatment)) == {NPC.SalvageSurgery}
    assert set(kg.objects(item, NPC.concernsFinding)) == findings
    assert kg.value(item, NPC.reportedIn) == KB["source-000"]
    assert kg.value(item, SKOS.definition) is not None
    label = str(kg.value(item, RDFS.label))
    assert label.startswith(("indication", "contraindication"))



def test_garbled_markers_are_kept_in_quotes(kg: Graph) -> None:
    assert _quote(kg, KB["ci-3-distant-metastasis"]).startswith("3There")
    assert _quote(kg, KB["ci-1-skull-base-or-cranial-nerve"]).startswith("1 patients")


def test_contraindication_4_is_flagged_illegible_and_has_no_age_threshold(kg: Graph) -> None:
    item = KB["ci-4-age-frailty-condition-organ"]
    assert NPC.IllegibleText in set(kg.objects(item, NPC.textIssue))
    note = str(kg.value(item, SKOS.editorialNote))
    assert "illegible" in note and "4 years old" in note
    assert _quote(kg, item) == "4 years old, frail, poor general condition or hepatic and renal insufficiency."
    assert (item, NPC.age, None) not in kg
    numbers = [o for o in kg.objects(item, None) if isinstance(o, Literal) and o.datatype in (XSD.integer, XSD.decimal)]
    assert numbers == [Literal(4)], "the only number of contraindication 4 is its ordinal"


# ---------------------------------------------------------------------------------------------
# Sources and study
# ---------------------------------------------------------------------------------------------


def test_sources(kg: Graph) -> None:
    assert set(kg.subjects(RDF.type, NPC.Source)) == {KB["source-000"], KB["source-001"]}
    web, article = KB["source-000"], KB["source-001"]
    assert kg.value(web, NPC.sourceType) == NPC.HospitalWebPage
    assert str(kg.value(web, DCTERMS.publisher)) == "Jiaozuo Zhonghai TCM Tumor Hospital"
    assert kg.value(web, DCTERMS.date) == Literal("2023-09-01", datatype=XSD.date)
    assert str(kg.value(web, NPC.sourceTextFile)) == "000_c7dc0f13dcfd3df4.txt"
    assert NPC.TruncatedSource in set(kg.objects(web, NPC.textIssue))
    assert "Patient evaluation" in str(kg.value(web, SKOS.editorialNote))

    assert kg.value(article, NPC.sourceType) == NPC.PeerReviewedArticle
    assert {str(c) for c in kg.objects(article, DCTERMS.creator)} == {"Yanrong Luo", "Boning Cai", "Bo Li", "Lei Du", "Lin Ma"}
    assert str(kg.value(article, NPC.doi)) == "10.1002/cam4.71604"
    assert str(kg.value(article, NPC.pmcid)) == "PMC12906979"
    assert str(kg.value(article, NPC.trialRegistration)) == "ChiCTR2500098189"
    assert str(kg.value(article, DCTERMS.publisher)) == "Cancer Medicine"
    assert kg.value(article, DCTERMS.date) == Literal("2026-02-15", datatype=XSD.date)
    assert str(kg.value(article, NPC.sourceUrl)) == "https://tomesphere.com/paper/PMC12906979"
    assert str(kg.value(article, NPC.sourceTextFile)) == "001_caf19db2f7281bf8.txt"
    assert "Over 10 Years" in str(kg.value(article, DCTERMS.title))


def test_study(kg: Graph) -> None:
    study = KB["study-luo-2026"]
    assert (study, RDF.type, NPC.RetrospectiveCohortStudy) in kg
    assert kg.value(study, NPC.reportedIn) == KB["source-001"]
    assert "PLA General Hospital" in str(kg.value(study, SKOS.definition))


def test_unreliable_annotation_is_flagged_not_mapped(kg: Graph) -> None:
    article = KB["source-001"]
    assert NPC.UnreliableAnnotation in set(kg.objects(article, NPC.textIssue))
    assert "D004194" in str(kg.value(article, SKOS.editorialNote))
    for predicate in (SKOS.exactMatch, SKOS.closeMatch, SKOS.broadMatch, SKOS.narrowMatch, SKOS.relatedMatch):
        # no npc-kg term maps to it (MONDO:0000001 'disease' does, in the MONDO import: MONDO's own mapping)
        assert not [s for s in kg.subjects(predicate, MESH_DISEASE) if str(s).startswith("https://w3id.org/npc-kg/")]


# ---------------------------------------------------------------------------------------------
# Populations and figures
# ---------------------------------------------------------------------------------------------

POPULATION_OF = {
    "fig-000-two-course-rt-response": {NPC.LocalRecurrence},
    "fig-000-primary-recurrence-surgery-survival-5y": {NPC.LocalRecurrence, NPC.RecurrenceAfterRadiotherapy},
    "fig-000-neck-surgery-survival-5y": {NPC.RegionalRecurrence},
    "fig-000-nasopharyngeal-and-cervical-recurrence-os-5y": {NPC.LocoregionalRecurrence},
    "fig-000-multiple-node-metastasis": {NPC.RegionalRecurrence, NPC.RecurrenceAfterRadiotherapy},
    "fig-001-os-5y": {NPC.RecurrenceAfterRadiotherapy},
}


@pytest.mark.parametrize("figure", sorted(POPULATION_OF))
def test_population_conditions(kg: Graph, figure: str) -> None:
    population = kg.value(KB[figure], NPC.population)
    assert set(kg.objects(population, NPC.condition)) == POPULATION_OF[figure]


def test_population_sizes_only_where_stated(kg: Graph) -> None:
    sizes = {p: int(s) for p, s in kg.subject_objects(NPC.populationSize)}  # type: ignore[call-overload]
    assert sizes == {KB["pop-001-cohort"]: 95, KB["pop-001-rt-group"]: 72, KB["pop-001-non-rt-group"]: 23}


def test_interventions(kg: Graph) -> None:
    expect = {
        "fig-000-two-course-rt-response": NPC.SecondCourseRadiotherapy,
        "fig-000-cervical-two-course-rt-os-5y": NPC.NeckSecondCourseRadiotherapy,
        "fig-000-primary-recurrence-surgery-survival-5y": NPC.NasopharyngealSalvageSurgery,
        "fig-000-neck-surgery-survival-5y": NPC.NeckSalvageSurgery,
        "fig-001-rt-os": NPC.SecondCourseRadiotherapy,
        "fig-001-non-rt-os": NPC.NonRadiotherapySalvage,
    }
    for figure, cls in expect.items():
        assert kg.value(KB[figure], NPC.intervention) == cls, figure


def test_rt_comparison_has_no_time_point_and_is_flagged(kg: Graph) -> None:
    for group in ("rt", "non-rt"):
        for outcome in ("os", "pfs", "dss"):
            figure = KB[f"fig-001-{group}-{outcome}"]
            assert kg.value(figure, NPC.timeHorizonMonths) is None
            assert NPC.UnstatedTimePoint in set(kg.objects(figure, NPC.textIssue))
            assert kg.value(figure, SKOS.editorialNote) is not None
            assert kg.value(figure, NPC.comparator) is not None


def test_unclear_nodal_recurrence_rate_is_flagged(kg: Graph) -> None:
    figure = KB["fig-000-cervical-node-recurrence-rate"]
    assert kg.value(figure, NPC.value) == Literal(Decimal("0.91"))
    assert {NPC.UnclearTranslation, NPC.StrayMarker} <= set(kg.objects(figure, NPC.textIssue))
    assert _quote(kg, figure).startswith("1 the recurrence rate")


def test_figures_of_001_name_the_study(kg: Graph) -> None:
    for figure in kg.subjects(NPC.reportedIn, KB["source-001"]):
        if (figure, RDF.type, NPC.EvidenceFigure) in kg:
            assert kg.value(figure, NPC.study) == KB["study-luo-2026"], figure


# ---------------------------------------------------------------------------------------------
# Associations and statements
# ---------------------------------------------------------------------------------------------

BOTH = {NPC.UnivariateAnalysis, NPC.MultivariateAnalysis}
ASSOCIATIONS = {
    # factor, outcome: direction, analyses, independent
    (NPC.SecondCourseRadiotherapy, NPC.OverallSurvival): (NPC.BetterOutcome, BOTH, True),
    (NPC.SecondCourseRadiotherapy, NPC.ProgressionFreeSurvival): (NPC.BetterOutcome, BOTH, True),
    # the analysis type only where the text names it (issue 14): only re-irradiation's sentence does
    (NPC.SalvageSurgery, NPC.OverallSurvival): (NPC.BetterOutcome, set(), False),
    (NPC.AdvancedRNCategory, NPC.OverallSurvival): (NPC.WorseOutcome, set(), True),
    (NPC.AdvancedRNCategory, NPC.ProgressionFreeSurvival): (NPC.WorseOutcome, set(), True),
    (NPC.LocalRecurrence, NPC.ProgressionFreeSurvival): (NPC.WorseOutcome, set(), False),
    (NPC.RegionalRecurrence, NPC.ProgressionFreeSurvival): (NPC.WorseOutcome, set(), False),
}  # fmt: skip


def test_associations(kg: Graph) -> None:
    found = {}
    for item in kg.subjects(RDF.type, NPC.PrognosticAssociation):
        key = (kg.value(item, NPC.prognosticFactor), kg.value(item, NPC.outcome))
        assert key not in found, f"two associations for {key}"
        found[key] = (
            kg.value(item, NPC.direction),
            set(kg.objects(item, NPC.analysis)),
            kg.value(item, NPC.independent).toPython(),  # type: ignore[union-attr]
        )
        assert kg.value(item, NPC.population) == KB["pop-001-cohort"]
        assert kg.value(item, NPC.study) == KB["study-luo-2026"]
        assert kg.value(item, NPC.reportedIn) == KB["source-001"]
    assert found == ASSOCIATIONS
    surgery = next(kg.subjects(NPC.prognosticFactor, NPC.SalvageSurgery))
    assert "independent" in str(kg.value(surgery, SKOS.editorialNote))


def _statements(kg: Graph) -> list[URIRef]:
    return [s for s in kg.subjects(RDF.type, NPC.Statement) if isinstance(s, URIRef)]


@pytest.mark.parametrize(
    ("intervention", "claim", "condition", "comparator"),
    [
        (NPC.ThirdCourseRadiotherapy, NPC.Ineffective, NPC.RelapseOrRemnantAfterSecondCourse, None),
        (NPC.SalvageSurgery, NPC.Effective, NPC.ResidualOrRecurrentDisease, None),
        (NPC.SalvageSurgery, NPC.Superior, NPC.ResidualOrRecurrentDisease, NPC.SecondCourseRadiotherapy),
        (NPC.SecondCourseRadiotherapy, NPC.CausesHarm, NPC.LocalRecurrence, None),
        (NPC.NeckSecondCourseRadiotherapy, NPC.CausesHarm, NPC.RegionalRecurrence, None),
        (NPC.Radiotherapy, NPC.Effective, NPC.NasopharyngealCarcinoma, None),
        (NPC.Radiotherapy, NPC.Ineffective, NPC.ResidualDiseaseAfterFirstRadicalRadiotherapy, None),
        (NPC.Radiotherapy, NPC.Ineffective, NPC.RecurrenceAfterRadiotherapy, None),
        (NPC.Radiotherapy, NPC.Ineffective, NPC.RelapseOrRemnantAfterSecondCourse, None),
        (NPC.SecondCourseRadiotherapy, NPC.Effective, NPC.RecurrenceAfterRadiotherapy, NPC.NonRadiotherapySalvage),
    ],
)
def test_statement(kg: Graph, intervention: URIRef, claim: URIRef, condition: URIRef, comparator: URIRef | None) -> None:
    matches = [
        s
        for s in _statements(kg)
        if kg.value(s, NPC.intervention) == intervention
        and claim in set(kg.objects(s, NPC.claim))
        and condition in set(kg.objects(s, NPC.condition))
        and kg.value(s, NPC.comparator) == comparator
    ]
    assert matches


def test_causes_of_death_statement(kg: Graph) -> None:
    item = KB["stmt-001-most-common-causes-of-death"]
    assert set(kg.objects(item, NPC.cause)) == {NPC.MassiveHemorrhage, NPC.DistantMetastasisOutcome}
    assert kg.value(item, NPC.reportedIn) == KB["source-001"]


def test_dss_below_os_is_flagged(kg: Graph) -> None:
    """Seed 001 gives DSS below OS for the same group and time; the figures are kept and flagged."""
    for name in ("fig-001-dss-3y", "fig-001-dss-5y", "fig-001-rt-dss"):
        figure = KB[name]
        assert NPC.InconsistentFigures in set(kg.objects(figure, NPC.textIssue)), name
        assert "lower than" in str(kg.value(figure, SKOS.editorialNote)), name
    flagged = set(kg.subjects(NPC.textIssue, NPC.InconsistentFigures))
    assert flagged == {KB["fig-001-dss-3y"], KB["fig-001-dss-5y"], KB["fig-001-rt-dss"]}


def test_survival_rate_mappings_say_what_is_true(kg: Graph) -> None:
    """OBI's survival rate is exact only for overall survival; close for the other survival rates."""
    obi = URIRef("http://purl.obolibrary.org/obo/OBI_0000789")
    assert set(kg.subjects(SKOS.exactMatch, obi)) == {NPC.OverallSurvivalRate}
    assert set(kg.subjects(SKOS.closeMatch, obi)) == {
        NPC.SurvivalRate, NPC.ProgressionFreeSurvivalRate, NPC.DiseaseSpecificSurvivalRate,
    }  # fmt: skip
    for figure in kg.subjects(NPC.statistic, NPC.OverallSurvivalRate):
        assert kg.value(figure, NPC.outcome) == NPC.OverallSurvival, figure
    for statistic, outcome in (
        (NPC.ProgressionFreeSurvivalRate, NPC.ProgressionFreeSurvival),
        (NPC.DiseaseSpecificSurvivalRate, NPC.DiseaseSpecificSurvival),
    ):
        figures = list(kg.subjects(NPC.statistic, statistic))
        assert figures and all(kg.value(f, NPC.outcome) == outcome for f in figures)


def test_no_definition_on_external_terms(kg: Graph) -> None:
    """npc-kg's wording goes on its own classes; an external term keeps only its own label."""
    for term in set(kg.subjects(SKOS.definition, None)):
        assert isinstance(term, URIRef)
        assert str(term).startswith("https://w3id.org/npc-kg/"), term
