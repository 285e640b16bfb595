"""`npc-kg assess`: formats, exit codes, messages; never a traceback."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from rdflib import RDF, Graph

from npc_kg.cli import main
from npc_kg.namespace import NPC, SH
from tests.packdata import criteria_count


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(["assess", *argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def two_examples(helpers) -> list[str]:
    folder = helpers.REPO / "examples" / "patients"
    return [str(folder / "eligible.ttl"), str(folder / "ineligible-ci-3-distant-metastasis.ttl")]


def test_text_output_shows_verdict_criteria_quotes_missing_and_evidence(helpers, capsys) -> None:
    code, out, err = run([str(helpers.REPO / "examples" / "patients" / "indeterminate.ttl")], capsys)
    assert code == 0 and err == ""
    assert "Verdict:   INDETERMINATE" in out
    assert "? unknown   contraindication 3: distant metastasis" in out
    assert '"3There were distant metastasis."' in out
    assert "Missing data" in out and "npc:DistantMetastasis" in out and "npc:Frailty" in out
    assert "advanced nodal disease (rN2-3) predicts worse overall survival" in out
    assert "Evidence, ranked" in out and "hospital web page" in out


def test_json_output_combines_files_in_the_documented_shape(two_examples, capsys) -> None:
    code, out, err = run([*two_examples, "--format", "json"], capsys)
    assert code == 0 and err == ""
    data = json.loads(out)
    assert [d["verdict"] for d in data] == ["eligible", "ineligible"]
    for item in data:
        assert list(item) == ["patient", "treatment", "verdict", "criteria", "missing", "prognosis", "evidence",
                              "provenance", "source_id", "out_of_scope"]
        assert item["treatment"] == str(NPC.SalvageSurgery)
        assert len(item["criteria"]) == criteria_count()  # issue 11: the pack's criteria, counted in its data


def test_ttl_output_parses_and_links_rows_to_validation_results(two_examples, capsys) -> None:
    code, out, _ = run([*two_examples, "--format", "ttl"], capsys)
    assert code == 0
    graph = Graph().parse(data=out, format="turtle")
    assert len(set(graph.subjects(RDF.type, NPC.Assessment))) == 2
    violated = [row for row in graph.subjects(NPC.criterionStatus, NPC.Violated)]
    assert len(violated) == 2  # indication 3 and contraindication 3 of the second patient
    for row in violated:
        [result] = graph.objects(row, NPC.producedBy)
        assert (result, RDF.type, SH.ValidationResult) in graph
        assert graph.value(result, SH.resultSeverity) == SH.Violation


def test_treatment_option(helpers, capsys) -> None:
    path = str(helpers.REPO / "examples" / "patients" / "eligible.ttl")
    code, out, _ = run([path, "--treatment", "npc:NasopharyngealSalvageSurgery", "--format", "json"], capsys)
    assert code == 0 and json.loads(out)[0]["treatment"] == str(NPC.NasopharyngealSalvageSurgery)
    code, out, err = run([path, "--treatment", "bogus"], capsys)
    assert code == 2 and out == "" and "treatment 'bogus'" in err


def test_missing_file_exits_2_naming_it(tmp_path: Path, capsys) -> None:
    missing = tmp_path / "nope.ttl"
    code, out, err = run([str(missing)], capsys)
    assert code == 2 and out == ""
    assert f"{missing}: no such file" in err


def test_unknown_extension_exits_2(tmp_path: Path, capsys) -> None:
    odd = tmp_path / "patient.txt"
    odd.write_text("@prefix npc: <https://w3id.org/npc-kg/> .\n<urn:p> a npc:Patient .\n")
    code, out, err = run([str(odd)], capsys)
    assert code == 2 and out == ""
    assert f"{odd}: unknown RDF file extension '.txt'" in err


def test_syntax_error_names_file_and_line_but_not_the_text(tmp_path: Path, capsys) -> None:
    bad = tmp_path / "bad.ttl"
    bad.write_text('@prefix npc: <https://w3id.org/npc-kg/> .\n<urn:p> a npc:Patient ;\n  npc:age "SECRET-77"\n  npc:x 1 .\n')
    code, out, err = run([str(bad)], capsys)
    assert code == 2 and out == ""
    assert f"{bad}:4:" in err
    assert "SECRET-77" not in err


def test_data_errors_of_several_files_are_listed_together(helpers, capsys) -> None:
    invalid = helpers.REPO / "tests" / "data" / "patients" / "invalid"
    files = [str(invalid / "age-out-of-range.ttl"), str(invalid / "status-missing.ttl")]
    code, out, err = run(files, capsys)
    assert code == 3 and out == ""
    assert "age-out-of-range.ttl" in err and "status-missing.ttl" in err


def test_real_entry_point_has_no_traceback(helpers, tmp_path: Path) -> None:
    bad = tmp_path / "bad.ttl"
    bad.write_text("this is not turtle")
    good = helpers.REPO / "examples" / "patients" / "eligible.ttl"
    for argv, expected in (([str(bad)], 2), ([str(good), "--format", "json"], 0)):
        command = [sys.executable, "-c", "import sys; from npc_kg.cli import main; sys.exit(main(sys.argv[1:]))", "assess", *argv]
        proc = subprocess.run(command, capture_output=True, text=True, check=False)
        assert proc.returncode == expected, proc.stderr
        assert "Traceback" not in proc.stderr
