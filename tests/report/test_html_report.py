"""The HTML report: self-contained, verdict, criteria with text+symbol+colour, records, checklist, outcomes, chart."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from npc_kg.assessment.html import fragment, render_html
from npc_kg.assessment.recording import fhir_codes, recording_guide
from npc_kg.cli import main
from npc_kg.namespace import NPC
from tests.packdata import criteria_count

REPO = Path(__file__).resolve().parents[2]


def test_report_is_self_contained_and_needs_no_javascript(assessed) -> None:
    a, graph = assessed("indeterminate")
    html = render_html([a], graph)
    assert html.startswith("<!DOCTYPE html>")
    assert "<script" not in html.lower()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html), "no network resource"
    assert "@import" not in html and not re.search(r"url\((?!#)", html), "only in-page references"
    assert "@page { size: A4" in html and "@media print" in html


def test_verdict_and_criteria_with_text_symbol_and_colour(assessed) -> None:
    a, graph = assessed("ineligible-ci-4-frailty")
    html = render_html([a], graph)
    assert 'data-verdict="ineligible"' in html and "verdict-ineligible" in html
    rows = re.findall(r'<tr class="row-(\w+)">\s*<td class="status status-(\w+)"><span aria-hidden="true">(.)</span> (\w+)</td>',
                      html)
    assert len(rows) == len(a.criteria) == criteria_count()
    for row_class, status_class, symbol, word in rows:
        assert row_class == status_class == word, "the status is a word and a class (colour), never colour alone"
        assert symbol == {"satisfied": "✓", "violated": "✗", "unknown": "?"}[word]
    assert ("violated", "violated", "✗", "violated") in rows


def test_violated_row_names_the_record_that_triggered_it(assessed) -> None:
    a, graph = assessed("ineligible-ci-4-frailty")
    html = render_html([a], graph)
    violated = html.split('<tr class="row-violated">', 1)[1].split("</tr>", 1)[0]
    assert "Triggered by" in violated and "<strong>frailty</strong> — recorded present" in violated
    assert "https://example.org/patients/ci4-frailty" in violated, "where the record came from: its RDF node"
    assert "hepatic insufficiency" not in violated, "only the records that decided it"


def test_quotes_and_sources_with_their_weight(assessed) -> None:
    a, graph = assessed("ineligible-ci-4-frailty")
    html = render_html([a], graph)
    assert "“4 years old, frail, poor general condition or hepatic and renal insufficiency.”" in html
    assert "hospital web page (weight 1)" in html and "peer-reviewed journal article (weight 2)" in html


def test_missing_data_checklist_says_how_to_record_each_item(assessed) -> None:
    a, graph = assessed("indeterminate")
    html = render_html([a], graph)
    checklist = html.split('<ul class="checklist">', 1)[1].split("</ul>", 1)[0]
    assert checklist.count("<li>") == len(a.missing) == 2
    assert "&#34;frailty&#34;: &#34;present&#34;" in checklist or '"frailty": "present"' in checklist
    assert "column <code>frailty</code>" in checklist and "column <code>distant_metastasis</code>" in checklist
    assert "a npc:Frailty ; npc:findingStatus npc:Present" in checklist
    exact = _exact_codes(REPO / "mappings" / "fhir-codes.sssom.tsv")
    for finding in ("npc:Frailty", "npc:DistantMetastasis"):
        assert exact[finding], f"the code table maps {finding} exactly"
        assert all(f"<code>{code}</code>" in checklist for code in exact[finding]), finding


def _exact_codes(table: Path) -> dict[str, list[str]]:
    """The codes that the SSSOM code table maps with skos:exactMatch, by npc-kg class."""
    codes: dict[str, list[str]] = {}
    lines = [line for line in table.read_text(encoding="utf-8").splitlines() if line and not line.startswith("#")]
    header = lines[0].split("\t")
    for line in lines[1:]:
        row = dict(zip(header, line.split("\t"), strict=False))
        if row["predicate_id"] == "skos:exactMatch" and not row.get("predicate_modifier"):
            codes.setdefault(row["object_id"], []).append(row["subject_id"])
    return codes


def test_recording_guide_reads_fhir_codes_from_an_sssom_file(tmp_path: Path) -> None:
    table = tmp_path / "codes.sssom.tsv"
    table.write_text("#curie_map:\n#  npc: https://w3id.org/npc-kg/\n"
                     "subject_id\tsubject_label\tpredicate_id\tobject_id\tobject_label\n"
                     "EX:123\tan example code\tskos:exactMatch\tnpc:Frailty\tfrailty\n", encoding="utf-8")
    codes = fhir_codes(table)
    assert [(c.code, c.label, c.predicate) for c in codes[str(NPC.Frailty)]] == [("EX:123", "an example code", "skos:exactMatch")]
    assert fhir_codes(tmp_path / "absent.tsv") == {}
    guide = recording_guide(str(NPC.Frailty), patient="https://example.org/p")
    assert guide.dict_key == "frailty" and guide.csv_column == "frailty"
    package_codes = _exact_codes(REPO / "mappings" / "fhir-codes.sssom.tsv")["npc:Frailty"]
    assert set(package_codes) <= {code.code for code in guide.fhir}, "the package's code table, not a Python list"


@pytest.mark.parametrize(("name", "absent", "present"), [
    ("indeterminate", "eligible", "ineligible"),
    ("missing-residual-or-recurrent-disease", "ineligible", "eligible"),
])
def test_range_of_outcomes_reassesses_with_the_missing_items(assessed, name: str, absent: str, present: str) -> None:
    a, graph = assessed(name)
    html = render_html([a], graph)
    outcomes = html.split('<table class="outcomes">', 1)[1].split("</table>", 1)[0]
    assert re.search(rf"<td>absent</td><td class=\"verdict-cell\"><strong>{absent}</strong>", outcomes)
    assert re.search(rf"<td>present</td><td class=\"verdict-cell\"><strong>{present}</strong>", outcomes)


def test_chart_is_inline_svg_with_intervals_points_weights_and_n(assessed) -> None:
    a, graph = assessed("ineligible-ci-4-frailty")
    html = render_html([a], graph)
    svg = html.split('<figure class="chart">', 1)[1].split("</figure>", 1)[0]
    assert svg.lstrip().startswith("<svg") and 'role="img"' in svg
    assert "n = 95" in svg and "n not stated" in svg
    assert "peer-reviewed journal article (weight 2)" in svg and "hospital web page (weight 1)" in svg
    assert "range reported" in svg
    assert render_html([a], graph) == html, "deterministic output"


def test_evidence_is_ranked_situation_first_then_weight(assessed) -> None:
    a, graph = assessed("ineligible-ci-4-frailty")
    html = render_html([a], graph)
    table = html.split('<table class="evidence">', 1)[1].split("</table>", 1)[0]
    labels = re.findall(r"<tr><td>\d+</td><td>([^<]+)", table)
    first = labels.index("5-year survival after salvage surgery for primary recurrence (hospital page)")
    cohort = labels.index("5-year overall survival, whole cohort (Luo 2026)")
    general = labels.index("recurrence rate of cervical lymph-node metastasis after radiotherapy (hospital page)")
    assert first < cohort < general, "two matched conditions, then one (peer-reviewed), then none"


def test_text_is_escaped() -> None:
    import npc_kg

    [a] = npc_kg.assess(REPO / "examples" / "patients" / "eligible.ttl")
    evil = a.criteria[0].__class__(**{**a.criteria[0].__dict__, "message": "<script>alert(1)</script>"})
    import dataclasses

    html = fragment(dataclasses.replace(a, criteria=(evil, *a.criteria[1:])))
    assert "<script>alert" not in html and "&lt;script&gt;" in html


def test_cli_writes_html_atomically_and_never_over_an_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    patient = tmp_path / "p.ttl"
    patient.write_text((REPO / "examples" / "patients" / "eligible.ttl").read_text(encoding="utf-8"), encoding="utf-8")
    out = tmp_path / "report.html"
    assert main(["assess", str(patient), "--format", "html", "-o", str(out)]) == 0
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == [], "no temporary file left"
    assert main(["assess", str(patient), "--format", "html", "-o", str(patient)]) == 2
    assert "refusing to overwrite an input" in capsys.readouterr().err
