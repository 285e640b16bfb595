"""The text report: lines of at most 100 characters, ranked and capped evidence, triggers, how to record."""

from __future__ import annotations

from pathlib import Path

import pytest

from npc_kg.assessment.render import EVIDENCE_CAP, WIDTH, render_text
from npc_kg.cli import main

REPO = Path(__file__).resolve().parents[2]


def test_every_line_fits_and_evidence_is_capped(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["assess", *map(str, sorted((REPO / "examples" / "patients").glob("*.ttl")))]) == 0
    out = capsys.readouterr().out
    assert max(len(line) for line in out.splitlines()) <= WIDTH
    assert "more figures (--format html or json lists them all)" in out
    assert f"    {EVIDENCE_CAP}. " in out and f"    {EVIDENCE_CAP + 1}. " not in out


def test_violated_contraindication_names_the_condition(assessed) -> None:
    a, graph = assessed("ineligible-ci-4-frailty")
    text = render_text([a], graph)
    assert "triggered by: frailty (recorded present, RDF node" in text


def test_missing_data_says_how_to_record_it(assessed) -> None:
    a, graph = assessed("missing-frailty")
    text = render_text([a], graph)
    assert '[ ] frailty (npc:Frailty)' in text
    assert 'dict: "findings": {"frailty": "present"} (or "absent")' in text
    assert "CSV: column frailty = present or absent" in text
    assert "npc:hasFinding [ a npc:Frailty ; npc:findingStatus npc:Present ]" in text.replace("\n          ", " ")
    assert "If every missing item were recorded absent: eligible" in text
    assert "If every missing item were recorded present: ineligible" in text


def test_figures_ranked_patients_situation_first(assessed) -> None:
    a, graph = assessed("ineligible-ci-4-frailty")
    text = render_text([a], graph)
    assert "    1. 5-year survival after salvage surgery for primary recurrence (hospital page)" in text
    assert text.index("1. 5-year survival after salvage surgery") < text.index("whole cohort (Luo 2026)")
