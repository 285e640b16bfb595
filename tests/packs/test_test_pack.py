"""Issue 11: the TEST-ONLY criteria pack (tests/data/packs/fictional-test-therapy) runs through every
command and evaluator with no Python change.

The pack is a fictional treatment with two indications and two contraindications over existing
finding classes and one finding class of its own (tp:FictionalTestMarker). Its patients live in
tests/data/pack-patients/{valid,invalid}; each file's header says what to expect.
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest
from rdflib import RDF, Graph, URIRef

import npc_kg
from npc_kg.cli import main
from npc_kg.errors import InputError, PatientModelError
from npc_kg.kg.packs import using_packs
from npc_kg.namespace import NPC
from npc_kg.shacl.engines import engines_for
from tests.packdata import PACK_PATIENTS, TEST_NS, TEST_PACK, TEST_TREATMENT, criteria_count, kind_count, pack_criteria

TP = TEST_NS
VALID = sorted((PACK_PATIENTS / "valid").glob("*.ttl"))
INVALID = sorted((PACK_PATIENTS / "invalid").glob("*.ttl"))
MARKER = TP + "FictionalTestMarker"


def expected(path: Path) -> tuple[str, dict[str, str], set[str]]:
    """``(verdict, {criterion IRI: status}, {missing finding IRI})`` from the file's header."""
    text = path.read_text(encoding="utf-8")
    curie = {"tp:": TP, "npc:": str(NPC)}

    def full(term: str) -> str:
        prefix = term[: term.index(":") + 1]
        return curie[prefix] + term[len(prefix):]

    verdict = re.search(r"^# expect-verdict: (\w+)", text, re.M)
    statuses = {full(c): s for c, s in re.findall(r"^# expect: (\S+) (\w+)", text, re.M)}
    missing = {full(m) for m in re.findall(r"^# expect-missing: (\S+)", text, re.M)}
    assert verdict is not None, path
    return verdict.group(1), statuses, missing


def test_the_pack_is_what_the_issue_asks() -> None:
    criteria = pack_criteria(TEST_PACK)
    assert kind_count(NPC.Indication, TEST_PACK) >= 2 and kind_count(NPC.Contraindication, TEST_PACK) >= 2
    graph = Graph().parse(TEST_PACK / "kb" / "criteria.ttl")
    concerned = {str(f) for c in criteria for f in graph.objects(URIRef(c), NPC.concernsFinding)}
    assert MARKER in concerned, "the pack's own finding class is concerned by a criterion"
    assert "TEST FIXTURE" in (TEST_PACK / "pack.ttl").read_text(encoding="utf-8")
    assert len(VALID) >= 4 and len(INVALID) >= 2


def test_the_evaluators_take_every_shape_of_the_pack() -> None:
    """The local engine runs the closures (no silent fallback) and the SPARQL engine compiles every shape."""
    engines = engines_for([TEST_PACK])
    engines.closures()  # raises Unsupported if the closures refused a shape
    assert not engines.sparql.fallback
    assert TEST_TREATMENT in engines.treatments()
    assert {str(c.iri) for c in engines.criteria(TEST_TREATMENT)} == set(pack_criteria(TEST_PACK))


@pytest.mark.parametrize("engine", ["local", "reference"])
@pytest.mark.parametrize("path", VALID, ids=lambda p: p.stem)
def test_assess_gives_the_expected_rows(path: Path, engine: str) -> None:
    verdict, statuses, missing = expected(path)
    [result] = npc_kg.assess(path, TEST_TREATMENT, engine=engine, packs=[TEST_PACK])
    assert result.treatment == TEST_TREATMENT
    assert result.verdict == verdict
    assert {row.criterion: row.status for row in result.criteria} == statuses
    if missing:
        assert {str(item) for item in result.missing} >= missing


def test_assess_without_treatment_reports_each_loaded_treatment() -> None:
    results = npc_kg.assess(PACK_PATIENTS / "valid" / "eligible.ttl", packs=[TEST_PACK])
    assert {r.treatment for r in results} == {TEST_TREATMENT, str(NPC.SalvageSurgery)}
    plain = PACK_PATIENTS / "valid" / "marker-missing.ttl"  # no finding of the pack's own class
    without = npc_kg.assess(plain)
    assert {r.treatment for r in without} == {str(NPC.SalvageSurgery)}, "the pack is not loaded unless asked"
    with pytest.raises(InputError):
        npc_kg.assess(plain, TEST_TREATMENT)
    with pytest.raises(PatientModelError):  # the pack's finding class is unknown without the pack
        npc_kg.assess(PACK_PATIENTS / "valid" / "eligible.ttl")


@pytest.mark.parametrize("path", INVALID, ids=lambda p: p.stem)
def test_invalid_patients_break_the_model_with_the_pack_finding(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = path.read_text(encoding="utf-8")
    code = int(re.search(r"^# expect-exit: (\d+)", text, re.M).group(1))  # type: ignore[union-attr]
    message = re.search(r"^# expect-error: (.+)$", text, re.M).group(1)  # type: ignore[union-attr]
    with pytest.raises(PatientModelError) as raised:
        npc_kg.assess(path, TEST_TREATMENT, packs=[TEST_PACK])
    assert message in "\n".join(raised.value.errors or [str(raised.value)])
    assert main(["assess", str(path), "--pack", str(TEST_PACK), "--treatment", TEST_TREATMENT]) == code
    assert message in capsys.readouterr().err


@pytest.mark.parametrize("fmt", ["text", "json", "ttl", "html"])
def test_every_assess_output_format(fmt: str, tmp_path: Path) -> None:
    out = tmp_path / f"out.{fmt}"
    argv = ["assess", str(PACK_PATIENTS / "valid" / "marker-absent.ttl"), "--pack", str(TEST_PACK),
            "--treatment", TEST_TREATMENT, "--format", fmt, "-o", str(out)]
    assert main(argv) == 0
    text = out.read_text(encoding="utf-8")
    if fmt == "json":
        [item] = json.loads(text)
        assert item["treatment"] == TEST_TREATMENT and item["verdict"] == "ineligible"
        assert len(item["criteria"]) == criteria_count(TEST_PACK)
    elif fmt == "ttl":
        graph = Graph().parse(data=text, format="turtle")
        [assessment] = graph.subjects(RDF.type, NPC.Assessment) if (None, RDF.type, NPC.Assessment) in graph else \
            graph.subjects(NPC.assessedTreatment, URIRef(TEST_TREATMENT))
        assert graph.value(assessment, NPC.verdict) == NPC.Ineligible
        assert len(list(graph.objects(assessment, NPC.criterionResult))) == criteria_count(TEST_PACK)
    else:
        assert "ineligible" in text.lower() and "fictional test marker" in text.lower(), fmt
        assert "test indication 2" in text.lower(), fmt


def pyshacl_answer(path: Path) -> dict[str, tuple[str, dict[str, str]]]:
    """pySHACL on the cohort as written, with the pack loaded: the differential's answer."""
    from npc_kg.assessment.assess import reference_statuses

    graph = Graph().parse(path, format="nt")
    with using_packs([TEST_PACK]):
        found = reference_statuses(graph, TEST_TREATMENT, strict=False)
    out = {}
    for patient, statuses in found.items():
        statuses = dict(statuses)
        verdict = statuses.pop("verdict")
        out[patient] = (verdict, statuses)
    return out


@pytest.fixture(scope="module")
def cohort(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """80 synthetic patients of the test pack's findings (synth draws them from its criteria)."""
    path = tmp_path_factory.mktemp("pack-cohort") / "cohort.nt"
    assert npc_kg.synth(80, 5, path, treatment=TEST_TREATMENT, packs=[TEST_PACK]) == 80
    return path


def read_rows(path: Path) -> dict[str, tuple[str, dict[str, str]]]:
    by_local = {c.rsplit("/", 1)[-1]: c for c in pack_criteria(TEST_PACK)}
    with path.open(newline="", encoding="utf-8") as handle:
        return {row["patient"]: (row["verdict"], {by_local[k]: v for k, v in row.items() if k in by_local})
                for row in csv.DictReader(handle)}


@pytest.fixture(scope="module")
def truth(cohort: Path) -> dict[str, tuple[str, dict[str, str]]]:
    return pyshacl_answer(cohort)


@pytest.mark.parametrize("engine", ["local", "sparql", "reference"])
def test_assess_cohort_on_every_evaluator_agrees_with_pyshacl(cohort: Path, truth: dict, engine: str,
                                                              tmp_path: Path) -> None:
    out = tmp_path / "rows.csv"
    summary = npc_kg.assess_cohort(cohort, out, engine=engine, treatment=TEST_TREATMENT, packs=[TEST_PACK])
    assert summary.rows == 80
    got = read_rows(out)
    assert set(got) == set(truth)
    differ = [p for p in truth if got[p] != truth[p]]
    assert not differ, f"{len(differ)} patients differ from pySHACL, e.g. {differ[0]}: {got[differ[0]]} vs {truth[differ[0]]}"
    verdicts = {verdict for verdict, _ in got.values()}
    assert verdicts == {"eligible", "ineligible", "indeterminate"}, verdicts
    header = out.read_text(encoding="utf-8").splitlines()[0].split(",")
    assert [h for h in header if h in {c.rsplit("/", 1)[-1] for c in pack_criteria(TEST_PACK)}], header


def test_the_closures_themselves_agree_with_pyshacl(cohort: Path, truth: dict) -> None:
    """The closures called directly (the local engine may hand a batch on): the same rows as pySHACL."""
    from npc_kg.cohort.evaluate import batch_quads
    from npc_kg.cohort.reader import iter_batches
    from npc_kg.core.rules import rows_of

    engines = engines_for([TEST_PACK])
    closures = engines.closures()
    got = {}
    with using_packs([TEST_PACK]):
        for batch in iter_batches(cohort, "nt", batch_size=30):
            quads, batch = batch_quads(batch)
            patients, hits = closures.hits(closures.index(quads))
            for row in rows_of(patients, hits, engines.criteria(TEST_TREATMENT), engines.plan.implemented, batch.roots):
                got[row.patient] = (row.verdict, dict(row.statuses))
    assert got == truth


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet"])
def test_every_cohort_output_format(cohort: Path, fmt: str, tmp_path: Path) -> None:
    out = tmp_path / f"rows.{fmt}"
    argv = ["assess-cohort", str(cohort), "--out", str(out), "--format", fmt, "--pack", str(TEST_PACK),
            "--treatment", TEST_TREATMENT]
    assert main(argv) == 0
    if fmt == "csv":
        rows = list(csv.DictReader(out.open(encoding="utf-8")))
    elif fmt == "jsonl":
        rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines() if line.strip()]
    else:
        import pandas as pd

        rows = pd.read_parquet(out).to_dict("records")
    assert len(rows) == 80
    assert {"ind-2-marker-present", "ci-2-frailty-or-renal"} <= set(rows[0])


def test_assess_cohort_needs_a_treatment_when_several_are_loaded(cohort: Path, tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["assess-cohort", str(cohort), "--out", str(tmp_path / "x.csv"), "--pack", str(TEST_PACK)])
    err = capsys.readouterr().err
    assert code == 2 and TEST_TREATMENT.rsplit("/", 1)[-1] in err and "SalvageSurgery" in err
    code = main(["assess-cohort", str(cohort), "--out", str(tmp_path / "x.csv"), "--pack", str(TEST_PACK),
                 "--treatment", TP + "FictionalTestTherapi"])
    err = capsys.readouterr().err
    assert code == 2 and "FictionalTestTherapy" in err, "the closest treatment is suggested"
    assert not (tmp_path / "x.csv").exists()


@pytest.mark.parametrize("spelling", ["tp:FictionalTestTherapy", f"<{TEST_TREATMENT}>", TEST_TREATMENT])
def test_treatment_in_the_packs_own_curie_or_as_listed(cohort: Path, tmp_path: Path, spelling: str) -> None:
    """The pack's own prefix, and the ``<IRI>`` the list of choices prints, name the treatment."""
    out = tmp_path / "x.csv"
    assert main(["assess-cohort", str(cohort), "--out", str(out), "--pack", str(TEST_PACK), "--treatment", spelling]) == 0
    assert "ind-2-marker-present" in out.read_text(encoding="utf-8").splitlines()[0]


def test_unknown_treatment_prefix_is_suggested(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["assess", str(VALID[0]), "--pack", str(TEST_PACK), "--treatment", "MODNO:0015459"]) == 2
    err = capsys.readouterr().err
    assert "unknown prefix 'MODNO'" in err and "'MONDO'" in err and "Traceback" not in err


def test_named_queries_see_the_pack() -> None:
    rows = npc_kg.query("criteria-for-treatment", treatment=TEST_TREATMENT, packs=[TEST_PACK])
    assert {row["criterion"] for row in rows} == set(pack_criteria(TEST_PACK))
    assert npc_kg.query("criteria-for-treatment", treatment=TEST_TREATMENT) == []
    sources = {row["source"] for row in npc_kg.query("sources", packs=[TEST_PACK]) if "source" in row}
    assert TP + "source-fictional" in sources


def test_query_cli_with_the_pack(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["query", "criteria-for-treatment", "--param", f"treatment={TEST_TREATMENT}", "--pack", str(TEST_PACK),
                 "--format", "json"])
    out = capsys.readouterr().out
    assert code == 0
    assert {row["criterion"] for row in json.loads(out)} == set(pack_criteria(TEST_PACK))


@pytest.mark.parametrize("fmt", ["nt", "ttl", "csv"])
def test_synth_draws_the_pack_finding(fmt: str, tmp_path: Path) -> None:
    out = tmp_path / f"cohort.{fmt}"
    assert main(["synth", "--n", "30", "--seed", "2", "-o", str(out), "--pack", str(TEST_PACK),
                 "--treatment", TEST_TREATMENT]) == 0
    text = out.read_text(encoding="utf-8")
    if fmt == "csv":
        assert "test_marker" in text.splitlines()[0], "the column named by the pack's csv.yaml"
    else:
        assert MARKER in text or "FictionalTestMarker" in text
    rows = tmp_path / "rows.csv"
    assert npc_kg.assess_cohort(out, rows, treatment=TEST_TREATMENT, packs=[TEST_PACK]).rows == 30
    marker = {status for _, statuses in read_rows(rows).values() for c, status in statuses.items()
              if c.endswith("ind-2-marker-present")}
    assert {"satisfied", "violated"} <= marker, "the pack finding is read back from the synthetic file"


def test_patient_from_dict_takes_the_pack_finding() -> None:
    from npc_kg.patient import patient_from_dict

    patient = {"id": "T-1", "findings": {"local_recurrence": "present", "fictional_test_marker": "absent",
                                         "distant_metastasis": "absent", "frailty": "absent",
                                         "renal_insufficiency": "absent"}}
    with using_packs([TEST_PACK]):
        graph = patient_from_dict(patient)
    assert (None, RDF.type, URIRef(MARKER)) in graph
    [result] = npc_kg.assess(graph, TEST_TREATMENT, packs=[TEST_PACK])
    assert result.verdict == "ineligible"


def test_export_carries_the_pack_and_names_it(tmp_path: Path) -> None:
    out = tmp_path / "kg.ttl"
    assert main(["export", "--format", "ttl", "-o", str(out), "--pack", str(TEST_PACK)]) == 0
    graph = Graph().parse(out)
    assert (URIRef(TEST_TREATMENT), None, None) in graph
    assert set(pack_criteria(TEST_PACK)) <= {str(s) for s in graph.subjects(RDF.type, NPC.EligibilityCriterion)}
    from rdflib import OWL
    from rdflib.namespace import DCTERMS, SH

    ontologies = set(graph.subjects(RDF.type, OWL.Ontology))
    parts = {str(p) for o in ontologies for p in graph.objects(o, DCTERMS.hasPart)}
    assert {"https://example.org/npc-kg-test-pack", "https://w3id.org/npc-kg/packs/salvage-surgery"} <= parts
    shapes = {str(s) for kind in (SH.NodeShape, SH.PropertyShape) for s in graph.subjects(RDF.type, kind)}
    assert any(s.startswith(TP) for s in shapes), "the pack's shapes are exported too"


def test_a_pack_finding_without_csv_yaml_gets_a_derived_column() -> None:
    """The skeleton ships no csv.yaml: its finding class gets the snake_case column (docs/packs.md)."""
    from npc_kg.cohort.csv_mapping import load_mapping
    from tests.packdata import SKELETON

    with using_packs([SKELETON]):
        columns = load_mapping().columns()
    assert "my_new_finding" in columns
    with using_packs([TEST_PACK]):
        columns = load_mapping().columns()
    assert "test_marker" in columns and "fictional_test_marker" not in columns, "the pack's csv.yaml names it"
    assert "my_new_finding" not in load_mapping().columns()


def test_info_lists_the_pack_and_its_treatment(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["info", "--json", "--pack", str(TEST_PACK)]) == 0
    summary = json.loads(capsys.readouterr().out)
    text = json.dumps(summary)
    assert "https://example.org/npc-kg-test-pack" in text and TEST_TREATMENT in text
    assert summary["criteria"] == criteria_count() + criteria_count(TEST_PACK)


def test_no_treatment_is_named_in_python() -> None:
    """The stop-hook rule: no treatment (neither the package's nor the test pack's) is spelled in the
    package's Python outside npc_kg/namespace.py; a treatment is data."""
    package = Path(npc_kg.__file__).resolve().parent
    pattern = re.compile(r"SalvageSurgery|salvage|FictionalTest|npc-kg-test-pack", re.IGNORECASE)
    found = [f"{path.relative_to(package)}:{number}" for path in sorted(package.rglob("*.py"))
             if path.name != "namespace.py"
             for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if pattern.search(line)]
    assert not found, found
