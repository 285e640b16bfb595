"""IRIs used by npc-kg's Python code: the only module that spells them out.

``NPC`` lists every term of ``ontology/npc-kg.ttl``. It is an rdflib ``DefinedNamespace`` with
``_fail = True``, so a mistyped term raises at import or attribute access, and
``tests/test_namespace.py`` checks the list against the ontology both ways. Regenerate the
list with ``python -m npc_kg.namespace`` after adding a term to the ontology.
"""

from __future__ import annotations

from rdflib import Namespace, URIRef
from rdflib.namespace import DefinedNamespace

__all__ = [
    "BASE",
    "BIOLINK",
    "CC_BY_4",
    "CONTEXT_IRI",
    "DEFAULT_GRAPH_IRI",
    "ENGINE",
    "IMPORTS",
    "KB",
    "KBSH",
    "MONDO_IMPORT_IRI",
    "NANOPUB_TEMP",
    "NO_BASE_IRI",
    "NPC",
    "OA",
    "OBO",
    "OIO",
    "ONTOLOGY_IRI",
    "OWLREADY",
    "PATIENT",
    "PREFIXES",
    "RESULT",
    "RFC3986_SYSTEM",
    "SH",
    "curie",
]

BASE = "https://w3id.org/npc-kg/"

ONTOLOGY_IRI = URIRef(BASE + "ontology")

CONTEXT_IRI = BASE + "context.jsonld"
"""Published JSON-LD context; npc-kg resolves it from ``ontology/context.jsonld``, never the network."""

DEFAULT_GRAPH_IRI = BASE + "graph"
"""Named graph that ``npc-kg load`` replaces on a SPARQL server, and queries default to."""

KB = Namespace(BASE + "kb/")
"""Individuals of the knowledge base: criteria, figures, sources, populations."""

KBSH = Namespace(BASE + "shapes/kb/")
"""The knowledge-base shapes (``shapes/kb.ttl``)."""

PATIENT = Namespace(BASE + "patient/")
"""Default namespace for patients built from dicts or CSV rows."""

RESULT = Namespace(BASE + "result/")
"""Namespace for assessment results produced by npc-kg."""

IMPORTS = Namespace(BASE + "imports/")
"""Ontology IRIs of npc-kg's ODK-style imports (``ontology/imports/*.ttl``)."""

MONDO_IMPORT_IRI = URIRef(BASE + "imports/mondo_import")
"""Ontology IRI of ``ontology/imports/mondo_import.ttl``, the MONDO import."""

BIOLINK = Namespace("https://w3id.org/biolink/vocab/")
"""Biolink model predicates (``biolink:treats``) that the ontology uses as annotation properties."""

CC_BY_4 = URIRef("https://creativecommons.org/licenses/by/4.0/")
"""CC BY 4.0, the licence of MONDO (kept on the MONDO import)."""

NANOPUB_TEMP = "http://purl.org/nanopub/temp/npc-kg/"
"""Temporary namespace of a nanopublication before its trusty URI is known (nanopub's convention)."""

OBO = Namespace("http://purl.obolibrary.org/obo/")
"""OBO PURLs: IAO_0000115 (definition) of an imported class."""

OIO = Namespace("http://www.geneontology.org/formats/oboInOwl#")
"""oboInOwl: cross-references and synonyms of imported OBO classes."""

ENGINE = Namespace("urn:npc-kg:engine:")
"""Private IRIs the SPARQL evaluator writes into its own stores (stand-ins for literals); never in an output."""

NO_BASE_IRI = "urn:npc-kg:no-base"
"""The base the RDF readers are given, so that a relative IRI in the input can be told and refused."""

RFC3986_SYSTEM = "urn:ietf:rfc:3986"
"""FHIR's identifier system for a value that is itself a URI (a ConceptMap's identifier)."""

OA = Namespace("http://www.w3.org/ns/oa#")
SH = Namespace("http://www.w3.org/ns/shacl#")

OWLREADY = Namespace("http://www.lesfleursdunormal.fr/static/_downloads/owlready_ontology.owl#")
"""owlready2's own annotations (``python_module`` imports Python code): stripped before reasoning."""

PREFIXES: dict[str, str] = {
    "npc": BASE,
    "kb": str(KB),
    "oa": str(OA),
    "sh": str(SH),
    "prov": "http://www.w3.org/ns/prov#",
    "dcterms": "http://purl.org/dc/terms/",
    "skos": "http://www.w3.org/2004/02/skos/core#",
    "owl": "http://www.w3.org/2002/07/owl#",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
}


def curie(iri: str) -> str:
    """``iri`` as a CURIE of :data:`PREFIXES` (the longest matching namespace wins), or ``<iri>``.

    The project's own short form, for messages and reports; :func:`npc_kg.kg.prefixes.to_curie`
    knows the wider Bioregistry prefixes too but costs an import of half a second.
    """
    for prefix, base in _BY_LENGTH:
        if iri.startswith(base) and len(iri) > len(base):
            return f"{prefix}:{iri[len(base):]}"
    return f"<{iri}>"


_BY_LENGTH = sorted(PREFIXES.items(), key=lambda item: -len(item[1]))


class NPC(DefinedNamespace):
    """Terms of the npc-kg ontology (classes, properties and value individuals)."""

    _NS = Namespace(BASE)
    _fail = True

    Absent: URIRef
    AdvancedAge: URIRef
    AdvancedNodalDisease: URIRef
    AdvancedRNCategory: URIRef
    AnalysisType: URIRef
    Assessment: URIRef
    BetterOutcome: URIRef
    CausesHarm: URIRef
    ClaimType: URIRef
    CohortStudyEvidence: URIRef
    Contraindication: URIRef
    Count: URIRef
    CranialNervePalsy: URIRef
    CriteriaPack: URIRef
    CriterionKind: URIRef
    CriterionResult: URIRef
    CriterionStatus: URIRef
    Cure: URIRef
    CureRate: URIRef
    Descriptive: URIRef
    Disease: URIRef
    DiseaseSpecificSurvival: URIRef
    DiseaseSpecificSurvivalRate: URIRef
    DistantMetastasis: URIRef
    DistantMetastasisOutcome: URIRef
    EffectDirection: URIRef
    Effective: URIRef
    EligibilityCriterion: URIRef
    Eligible: URIRef
    EqualTo: URIRef
    EvidenceFigure: URIRef
    EvidenceItem: URIRef
    EvidenceWeight: URIRef
    ExtranodalInvasion: URIRef
    Finding: URIRef
    FindingStatus: URIRef
    FollowUpRange: URIRef
    Fraction: URIRef
    FractionStatistic: URIRef
    Frailty: URIRef
    GeneralConditionContraindication: URIRef
    GreaterThan: URIRef
    GroupSize: URIRef
    HepaticInsufficiency: URIRef
    HospitalWebPage: URIRef
    IllegibleText: URIRef
    InconsistentFigures: URIRef
    Indeterminate: URIRef
    Indication: URIRef
    Ineffective: URIRef
    Ineligible: URIRef
    LessThan: URIRef
    LocalRecurrence: URIRef
    LocoregionalRecurrence: URIRef
    LowestWeightEvidence: URIRef
    MassiveHemorrhage: URIRef
    MedianFollowUp: URIRef
    Month: URIRef
    MultipleNodeMetastasis: URIRef
    MultivariateAnalysis: URIRef
    NasopharyngealCarcinoma: URIRef
    NasopharyngealSalvageSurgery: URIRef
    NeckLesionAdherentToDeepTissueOrSkin: URIRef
    NeckSalvageSurgery: URIRef
    NeckSecondCourseRadiotherapy: URIRef
    NodalRecurrence: URIRef
    NonRadiotherapySalvage: URIRef
    ObservationalClinicalStudy: URIRef
    OtherContraindicationToSurgery: URIRef
    OutOfScope: URIRef
    Outcome: URIRef
    OverallSurvival: URIRef
    OverallSurvivalRate: URIRef
    PValue: URIRef
    Patient: URIRef
    PeerReviewedArticle: URIRef
    Person: URIRef
    PoorGeneralCondition: URIRef
    Population: URIRef
    PosteriorCervicalTriangleLocation: URIRef
    Present: URIRef
    PrognosticAssociation: URIRef
    ProgressionFreeSurvival: URIRef
    ProgressionFreeSurvivalRate: URIRef
    Proportion: URIRef
    RNCategory: URIRef
    RTCategory: URIRef
    RadicalRadiotherapy: URIRef
    Radiotherapy: URIRef
    RecurrenceAfterRadiotherapy: URIRef
    RecurrentNasopharyngealCarcinoma: URIRef
    RegionalRecurrence: URIRef
    RelapseOrRemnantAfterSecondCourse: URIRef
    Relation: URIRef
    RenalInsufficiency: URIRef
    ResidualDiseaseAfterFirstRadicalRadiotherapy: URIRef
    ResidualOrRecurrentDisease: URIRef
    ResponseRate: URIRef
    RetrospectiveCohortStudy: URIRef
    SalvageSurgery: URIRef
    Satisfied: URIRef
    SecondCourseRadiotherapy: URIRef
    SkullBaseBoneDestruction: URIRef
    Source: URIRef
    SourceType: URIRef
    Statement: URIRef
    StatisticType: URIRef
    StrayMarker: URIRef
    Study: URIRef
    StudyDuration: URIRef
    StudyPeriod: URIRef
    Superior: URIRef
    SurvivalRate: URIRef
    SurvivalStatisticType: URIRef
    TextIssue: URIRef
    ThirdCourseRadiotherapy: URIRef
    Treatment: URIRef
    TreatmentResponse: URIRef
    TruncatedSource: URIRef
    TumorRelatedDeath: URIRef
    UnclearTranslation: URIRef
    Unit: URIRef
    UnivariateAnalysis: URIRef
    Unknown: URIRef
    UnreliableAnnotation: URIRef
    UnspecifiedSurvival: URIRef
    UnstatedTimePoint: URIRef
    Verdict: URIRef
    Violated: URIRef
    WorseOutcome: URIRef
    Year: URIRef
    age: URIRef
    analysis: URIRef
    appliesToTreatment: URIRef
    assessedPatient: URIRef
    assessedTreatment: URIRef
    cause: URIRef
    claim: URIRef
    comparator: URIRef
    concernsFinding: URIRef
    condition: URIRef
    criterion: URIRef
    criterionKind: URIRef
    criterionResult: URIRef
    criterionStatus: URIRef
    direction: URIRef
    doi: URIRef
    ecogPerformanceStatus: URIRef
    evidenceWeight: URIRef
    findingStatus: URIRef
    hasFinding: URIRef
    independent: URIRef
    intervention: URIRef
    lowerBound: URIRef
    message: URIRef
    missingDataItem: URIRef
    monthsSinceRadiotherapy: URIRef
    ontology: URIRef
    ordinal: URIRef
    outcome: URIRef
    pValue: URIRef
    pValueRelation: URIRef
    packTreatment: URIRef
    periodEnd: URIRef
    periodStart: URIRef
    pmcid: URIRef
    population: URIRef
    populationSize: URIRef
    producedBy: URIRef
    prognosticFactor: URIRef
    rN0: URIRef
    rN1: URIRef
    rN2: URIRef
    rN3: URIRef
    rNCategory: URIRef
    rT1: URIRef
    rT2: URIRef
    rT3: URIRef
    rT4: URIRef
    rTCategory: URIRef
    radiotherapyCourses: URIRef
    reportedIn: URIRef
    sourceTextFile: URIRef
    sourceType: URIRef
    sourceUrl: URIRef
    statistic: URIRef
    study: URIRef
    subgroupOf: URIRef
    textIssue: URIRef
    timeHorizonMonths: URIRef
    trialRegistration: URIRef
    unit: URIRef
    upperBound: URIRef
    value: URIRef
    valueRelation: URIRef
    verdict: URIRef
    weightRank: URIRef


def _generate() -> str:
    """Return the body of the NPC class for the current ontology (maintenance helper)."""
    from rdflib import Graph

    from npc_kg.resources import data_path

    graph = Graph()
    graph.parse(data_path("ontology", "npc-kg.ttl"), format="turtle")
    names = sorted(
        {str(s)[len(BASE):] for s in graph.subjects() if isinstance(s, URIRef) and str(s).startswith(BASE)}
        - {"ontology"}
    )
    return "\n".join(f"    {name}: URIRef" for name in names if "/" not in name)


if __name__ == "__main__":  # pragma: no cover
    print(_generate())
