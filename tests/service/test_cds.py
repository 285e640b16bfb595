"""CDS Hooks: discovery, request checks (412 without prefetch), cards from assessments, report links."""

from __future__ import annotations

from pathlib import Path

import pytest

import npc_kg
from npc_kg.namespace import NPC
from npc_kg.service import ServiceConfig, create_app
from npc_kg.service.cds import (
    INDICATORS,
    SUMMARY_LIMIT,
    cards_for,
    discovery,
    order_codes,
    out_of_scope_card,
)
from npc_kg.service.reports import ReportStore

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples" / "patients"
SERVICE = "/cds-services/npc-kg-salvage-surgery"


def request_body(**changes):
    body = {
        "hook": "patient-view", "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
        "fhirServer": "https://ehr.invalid/fhir", "fhirAuthorization": {"access_token": "never-read"},
        "context": {"userId": "Practitioner/1", "patientId": "p1"},
        "prefetch": {"patient": {"resourceType": "Patient", "id": "p1"},
                     "conditions": {"resourceType": "Bundle", "type": "searchset", "entry": []},
                     "observations": {"resourceType": "Bundle", "type": "searchset", "entry": []},
                     "procedures": {"resourceType": "Bundle", "type": "searchset", "entry": []}},
    }
    body.update(changes)
    return body


def test_discovery_lists_patient_view_with_the_four_prefetch_templates(client) -> None:
    response = client.get("/cds-services")
    assert response.status_code == 200
    [service] = response.json()["services"]
    assert service["hook"] == "patient-view" and service["id"] == "npc-kg-salvage-surgery"
    assert set(service["prefetch"]) == {"patient", "conditions", "observations", "procedures"}
    assert service["prefetch"]["conditions"] == "Condition?patient={{context.patientId}}"
    assert "never calls fhirServer" in service["description"] and "fhirAuthorization" in service["description"]


def test_order_select_only_when_a_site_mapping_gives_the_order_code(tmp_path: Path) -> None:
    assert [s["hook"] for s in discovery()["services"]] == ["patient-view"], "no checked order code ships"
    site = tmp_path / "site.yaml"
    site.write_text("cds_hooks:\n  order_select:\n    - {treatment: 'npc:SalvageSurgery', system: 'https://example.org/orders',"
                    " code: 'ORD-1', display: 'local order'}\n", encoding="utf-8")
    app = create_app(ServiceConfig(mappings=(site,)))
    hooks = [s["hook"] for s in app.state.discovery["services"]]
    assert hooks == ["patient-view", "order-select"]
    assert order_codes([{"cds_hooks": {"order_select": [{"treatment": "npc:Other", "system": "s", "code": "c"}]}}],
                       str(NPC.SalvageSurgery)) == []


@pytest.mark.parametrize(("change", "status"), [
    ({"prefetch": None}, 412),
    ({"prefetch": {"patient": {"resourceType": "Patient"}}}, 412),
    ({"hook": "order-select"}, 400),
    ({"context": {}}, 400),
])
def test_bad_requests_get_json_errors(client, change, status) -> None:
    body = request_body(**change)
    if body.get("prefetch") is None:
        del body["prefetch"]
    response = client.post(SERVICE, json=body)
    assert response.status_code == status
    assert response.json()["status"] == status and response.json()["error"]


def test_unknown_service_and_bad_json(client) -> None:
    assert client.post("/cds-services/nope", json=request_body()).status_code == 404
    assert client.post(SERVICE, content=b"{not json", headers={"content-type": "application/json"}).status_code == 400


@pytest.mark.parametrize(("name", "verdict"), [
    ("eligible", "eligible"), ("ineligible-ci-4-frailty", "ineligible"), ("indeterminate", "indeterminate"),
])
def test_cards_from_example_patients(name: str, verdict: str) -> None:
    [a] = npc_kg.assess(EXAMPLES / f"{name}.ttl")
    [card] = cards_for(a, "http://127.0.0.1:8000/reports/abc", ttl_minutes=15)
    assert len(card["summary"]) < SUMMARY_LIMIT and verdict.upper() in card["summary"]
    assert card["indicator"] == INDICATORS[verdict]
    assert card["source"]["label"] == f"npc-kg knowledge base {npc_kg.__version__}"
    assert card["source"]["url"].startswith("https://w3id.org/npc-kg/ontology/")
    assert card["links"] == [{"label": "Full report (HTML, expires in 15 min)", "url": "http://127.0.0.1:8000/reports/abc",
                              "type": "absolute"}]
    detail = card["detail"]
    assert "**Criteria**" in detail and "**Missing data**" in detail
    for row in a.criteria:
        assert row.status in detail
    if verdict == "indeterminate":
        assert "frailty: record it present or absent" in detail
    if verdict == "ineligible":
        assert "> 4 years old, frail" in detail, "the quote of the violated criterion"


def test_indicators_cover_every_verdict() -> None:
    from npc_kg.core.rules import VERDICTS

    assert set(INDICATORS) == set(VERDICTS)
    assert INDICATORS["ineligible"] == "warning" and INDICATORS["out-of-scope"] == "info"


def test_out_of_scope_card_says_the_service_does_not_apply() -> None:
    [card] = out_of_scope_card(str(NPC.SalvageSurgery), "no nasopharyngeal carcinoma is recorded")
    assert card["indicator"] == "info" and card["summary"].startswith("npc-kg does not apply")
    assert len(card["summary"]) < SUMMARY_LIMIT


@pytest.mark.parametrize("reason", [
    "the recorded disease is " + "nasopharyngeal carcinoma of an unrecorded histological subtype, " * 4,
    "x" * 60 + " " + "nasopharyngeal " * 12,  # the cut falls inside a word
    "a" * 300,  # one word longer than the summary: cut inside it, there is no boundary
])
def test_a_long_out_of_scope_summary_is_cut_between_words(reason: str) -> None:
    """It was cut mid-word at 139 characters; CDS Hooks asks for a summary under 140."""
    [card] = out_of_scope_card(str(NPC.SalvageSurgery), reason)
    summary = card["summary"]
    full = " ".join(f"npc-kg does not apply: {reason}".split())
    assert len(summary) < SUMMARY_LIMIT and summary.endswith("…")
    head = summary[:-1]
    assert full.startswith(head)
    if " " in full[SUMMARY_LIMIT // 2: SUMMARY_LIMIT - 1]:  # a word boundary in the second half of the room
        assert full[len(head)] in " ,;:-", "the cut falls between words"
        assert not head.endswith((" ", ",")), "no dangling separator before the ellipsis"
    assert len(head) >= SUMMARY_LIMIT // 2, "the summary keeps most of its room"


def test_a_short_summary_is_kept_whole() -> None:
    text = "npc-kg does not apply: " + "w" * (SUMMARY_LIMIT - 24)
    assert len(text) == SUMMARY_LIMIT - 1
    [card] = out_of_scope_card(str(NPC.SalvageSurgery), text.removeprefix("npc-kg does not apply: "))
    assert card["summary"] == text


def test_reports_expire_and_are_bounded() -> None:
    now = [0.0]
    store = ReportStore(ttl=60, capacity=2, clock=lambda: now[0])
    first = store.put("<p>1</p>")
    assert store.get(first) == "<p>1</p>"
    now[0] = 61
    assert store.get(first) is None and len(store) == 0
    tokens = [store.put(str(i)) for i in range(3)]
    assert store.get(tokens[0]) is None and store.get(tokens[2]) == "2", "the oldest goes first"
    assert len(set(tokens)) == 3 and all(len(t) >= 32 for t in tokens)


def test_a_lazy_report_is_rendered_once_when_first_asked_for() -> None:
    from npc_kg.service.reports import LazyReport

    calls = []
    store = ReportStore(ttl=60, capacity=2)
    token = store.put(LazyReport(lambda: calls.append(1) or "<p>report</p>"))
    assert calls == [], "storing renders nothing"
    stored = store.get(token)
    assert callable(stored) and stored() == "<p>report</p>" and stored() == "<p>report</p>"
    assert calls == [1]
