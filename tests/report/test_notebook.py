"""Notebook display: a short repr and the report's HTML fragment."""

from __future__ import annotations

from pathlib import Path

import npc_kg

REPO = Path(__file__).resolve().parents[2]


def test_repr_is_short_and_says_patient_treatment_verdict_counts() -> None:
    [a] = npc_kg.assess(REPO / "examples" / "patients" / "indeterminate.ttl")
    text = repr(a)
    assert len(text) < 300, "not the 33,000-character dataclass repr"
    assert "patient='https://example.org/patients/indeterminate'" in text and "verdict='indeterminate'" in text
    assert "satisfied 5, violated 0, unknown 3; missing 2" in text


def test_repr_html_reuses_the_report_fragment() -> None:
    [a] = npc_kg.assess(REPO / "examples" / "patients" / "ineligible-ci-4-frailty.ttl")
    html = a._repr_html_()
    assert html.startswith('<div class="npc-kg-report"><style>') and html.endswith("</div>")
    assert 'data-verdict="ineligible"' in html and '<table class="criteria">' in html and "<svg" in html
    assert "<html" not in html and "<script" not in html
