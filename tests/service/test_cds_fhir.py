"""CDS Hooks on real FHIR: POST /cds-services/{id} reads mCODE-shaped prefetches through npc_kg.fhir.

The prefetches are made from the NPC patient bundles of tests/data/fhir/valid (synthetic: no
patient is real), split as an EHR sends them: the Patient, and one searchset Bundle each of
Conditions, Observations and Procedures. The expected verdicts are those of expected.yaml.
"""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import pytest
import yaml

import npc_kg
from npc_kg.service import ServiceConfig, create_app
from npc_kg.service.cds import INDICATORS, SUMMARY_LIMIT, prefetch_bundle

REPO = Path(__file__).resolve().parents[2]
FHIR = REPO / "tests" / "data" / "fhir"
VALID = FHIR / "valid"
EXPECTED = yaml.safe_load((VALID / "expected.yaml").read_text(encoding="utf-8"))
SITE = FHIR / "site-mapping.yaml"
SERVICE = "/cds-services/npc-kg-salvage-surgery"
SEARCHSETS = {"conditions": "Condition", "observations": "Observation", "procedures": "Procedure"}


def prefetch_of(name: str, *, outcome: bool = False) -> tuple[str, dict[str, Any]]:
    """(patient id, prefetch) of a valid bundle, as the EHR fills the four templates."""
    bundle = json.loads((VALID / name).read_text(encoding="utf-8"))
    resources = [(entry.get("fullUrl"), entry["resource"]) for entry in bundle["entry"]]
    [patient] = [r for _u, r in resources if r["resourceType"] == "Patient"]
    prefetch: dict[str, Any] = {"patient": patient}
    for key, kind in SEARCHSETS.items():
        entries = [{"fullUrl": url, "resource": r, "search": {"mode": "match"}} for url, r in resources
                   if r["resourceType"] == kind]
        if outcome:
            entries.append({"resource": {"resourceType": "OperationOutcome", "issue": [
                {"severity": "information", "code": "informational"}]}, "search": {"mode": "outcome"}})
        prefetch[key] = {"resourceType": "Bundle", "type": "searchset", "total": len(entries), "entry": entries}
    return patient["id"], prefetch


def hook_request(name: str, **options: Any) -> dict[str, Any]:
    patient_id, prefetch = prefetch_of(name, **options)
    return {"hook": "patient-view", "hookInstance": "2b0d1c6e-8f0a-4d55-9b4e-0f4a3c1d2e11",
            "fhirServer": "http://127.0.0.1:9/fhir",  # a closed port: any call to it would fail the request
            "fhirAuthorization": {"access_token": "never-read", "token_type": "Bearer", "scope": "patient/*.read",
                                  "subject": "npc-kg"},
            "context": {"userId": "Practitioner/example", "patientId": patient_id}, "prefetch": prefetch}


@pytest.fixture(scope="module")
def site_client():
    from starlette.testclient import TestClient

    with TestClient(create_app(ServiceConfig(mappings=(SITE,)))) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def plain_client():
    from starlette.testclient import TestClient

    with TestClient(create_app()) as test_client:
        yield test_client


@pytest.mark.parametrize("name", [
    "eligible.json", "ineligible-ci-4-frailty.json", "ineligible-ci-3-bone-metastasis.json",
    "ineligible-ci-1-cranial-nerve.json", "absent-refuted-bone-only.json", "regional-c77-not-distant.json",
])
def test_patient_view_answers_cards_from_the_fhir_prefetch(site_client, name: str) -> None:
    expected = EXPECTED[name]
    assert expected.get("mapping") == "site-mapping.yaml"
    verdict = expected["verdict"]
    response = site_client.post(SERVICE, json=hook_request(name))
    assert response.status_code == 200, response.text
    [card] = response.json()["cards"]
    assert card["indicator"] == INDICATORS[verdict]
    assert len(card["summary"]) < SUMMARY_LIMIT and verdict.upper() in card["summary"]
    assert card["source"]["label"] == f"npc-kg knowledge base {npc_kg.__version__}"
    detail = card["detail"]
    assert "**Criteria**" in detail and "**Missing data**" in detail
    for status in set(expected["criteria"].values()):
        assert f"**{status}**" in detail
    if expected["missing"]:
        assert "record it present or absent" in detail and "- none" not in detail
    else:
        assert "**Missing data**\n\n- none" in detail
    if verdict == "ineligible":
        assert "  > " in detail, "the quote of the violated criterion"
    [link] = card["links"]
    assert link["type"] == "absolute" and "/reports/" in link["url"]
    page = site_client.get(link["url"])
    assert page.status_code == 200 and f'data-verdict="{verdict}"' in page.text
    if name == "ineligible-ci-3-bone-metastasis.json":  # the narrower code, bridged as configuration, is named
        assert "npc-ineligible-ci-3-bone-metastasis" in page.text


def test_verdict_of_every_valid_bundle_matches_its_expected_result(site_client) -> None:
    """Each NPC bundle read with the site mapping gets, from the service, the verdict recorded for it."""
    checked = 0
    for name, expected in EXPECTED.items():
        if expected.get("mapping") != "site-mapping.yaml" or name.startswith(("bundle-", "single-")):
            continue
        [card] = site_client.post(SERVICE, json=hook_request(name)).json()["cards"]
        verdict = expected["verdict"]
        if verdict == "out-of-scope":
            assert card["summary"].startswith("npc-kg does not apply"), name
        else:
            assert verdict.upper() in card["summary"], name
        assert card["indicator"] == INDICATORS[verdict], name
        checked += 1
    assert checked >= 25


def test_out_of_scope_patient_gets_the_info_card(site_client) -> None:
    for name in ("out-of-scope-no-cancer.json", "out-of-scope-broader-code.json", "out-of-scope-refuted-npc.json"):
        response = site_client.post(SERVICE, json=hook_request(name))
        assert response.status_code == 200, response.text
        [card] = response.json()["cards"]
        assert card["indicator"] == "info"
        assert card["summary"].startswith("npc-kg does not apply") and len(card["summary"]) < SUMMARY_LIMIT
        assert "does not apply to this patient" in card["detail"]
        assert "ELIGIBLE" not in card["summary"] and "links" not in card, "no eligibility verdict, no report"
        assert card["source"]["label"].startswith("npc-kg knowledge base")


def test_the_site_mapping_decides_what_is_recorded(plain_client) -> None:
    """Without the site's mapping the five findings with no public code are not recorded: indeterminate."""
    [card] = plain_client.post(SERVICE, json=hook_request("eligible.json")).json()["cards"]
    assert "INDETERMINATE" in card["summary"] and card["indicator"] == INDICATORS["indeterminate"]
    assert "record it present or absent" in card["detail"]


def test_searchset_outcome_entries_are_left_out(site_client) -> None:
    body = hook_request("eligible.json", outcome=True)
    [card] = site_client.post(SERVICE, json=body).json()["cards"]
    assert "ELIGIBLE" in card["summary"] and "INELIGIBLE" not in card["summary"]
    bundle = prefetch_bundle(body["prefetch"])
    assert all(e["resource"]["resourceType"] != "OperationOutcome" for e in bundle["entry"])
    assert bundle["type"] == "collection" and bundle["entry"][0]["resource"]["resourceType"] == "Patient"


def test_the_service_never_calls_fhir_server(site_client, monkeypatch: pytest.MonkeyPatch) -> None:
    """No socket is opened while a request is answered (fhirServer and fhirAuthorization are in the request)."""
    opened: list[Any] = []
    real = socket.socket.connect

    def connect(self: socket.socket, address: Any) -> Any:
        opened.append(address)
        return real(self, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket, "create_connection", lambda *a, **k: opened.append(a) or pytest.fail("network"))
    response = site_client.post(SERVICE, json=hook_request("ineligible-ci-4-frailty.json"))
    assert response.status_code == 200 and opened == []


@pytest.mark.parametrize(("change", "status", "words"), [
    (lambda b: b["prefetch"].update(conditions=None), 412, "prefetch.conditions is not a FHIR Bundle"),
    (lambda b: b["prefetch"].update(procedures={"resourceType": "Procedure"}), 412, "never calls fhirServer"),
    (lambda b: b["prefetch"]["observations"].update(entry=[1]), 400, "entry[0] is not a JSON object"),
    (lambda b: b["context"].update(patientId="someone-else"), 400, "another patient"),
    (lambda b: b["prefetch"]["conditions"]["entry"].append(b["prefetch"]["conditions"]["entry"][0]), 422,
     "same id"),
    (lambda b: b["prefetch"]["conditions"]["entry"].append({"resource": {
        "resourceType": "Condition", "id": "c-9", "subject": {"reference": "Patient/not-in-the-prefetch"}}}),
     422, "cannot be read as FHIR"),
])
def test_bad_prefetches_get_json_errors_naming_no_value(site_client, change: Any, status: int, words: str) -> None:
    body = hook_request("eligible.json")
    change(body)
    response = site_client.post(SERVICE, json=body)
    assert response.status_code == status, response.text
    error = response.json()
    assert error["status"] == status and words in error["error"]
    assert "npc-eligible" not in error["error"], "no patient value in the error"


ORDER = {"system": "https://example.org/site-orders", "code": "ORD-1"}


def order_request(name: str, selected: dict[str, str] | None, *, others: tuple[dict[str, str], ...] = ()) -> dict[str, Any]:
    """An order-select request whose draft orders are ServiceRequests with ``selected`` (selected) and ``others``."""
    body = hook_request(name)
    body["hook"] = "order-select"
    drafts = [("sr-selected", selected)] if selected is not None else []
    drafts += [(f"sr-other-{n}", coding) for n, coding in enumerate(others)]
    body["context"]["draftOrders"] = {"resourceType": "Bundle", "type": "collection", "entry": [
        {"resource": {"resourceType": "ServiceRequest", "id": rid, "status": "draft", "intent": "proposal",
                      "code": {"coding": [coding]}, "subject": {"reference": f"Patient/{body['context']['patientId']}"}}}
        for rid, coding in drafts]}
    body["context"]["selections"] = ["ServiceRequest/sr-selected"] if selected is not None else []
    return body


@pytest.fixture(scope="module")
def order_client(tmp_path_factory: pytest.TempPathFactory):
    from starlette.testclient import TestClient

    site = tmp_path_factory.mktemp("orders") / "site-orders.yaml"
    site.write_text(SITE.read_text(encoding="utf-8") + "\ncds_hooks:\n  order_select:\n"
                    f"    - {{treatment: 'npc:SalvageSurgery', system: '{ORDER['system']}', code: '{ORDER['code']}',"
                    " display: 'local order code (test)'}\n", encoding="utf-8")
    with TestClient(create_app(ServiceConfig(mappings=(site,)))) as client:
        yield client


def test_order_select_answers_when_the_selected_draft_order_is_the_sites_order(order_client) -> None:
    services = order_client.get("/cds-services").json()["services"]
    assert [s["hook"] for s in services] == ["patient-view", "order-select"]
    order = services[1]
    assert "never calls fhirServer" in order["description"]
    response = order_client.post(f"/cds-services/{order['id']}", json=order_request("ineligible-ci-4-frailty.json", ORDER))
    assert response.status_code == 200, response.text
    assert "INELIGIBLE" in response.json()["cards"][0]["summary"]


@pytest.mark.parametrize("selected, others", [
    ({"system": ORDER["system"], "code": "ORD-2"}, ()),  # another order of the site
    ({"system": "https://example.org/other-site", "code": ORDER["code"]}, ()),  # the same code in another system
    (None, (ORDER,)),  # the treatment's order is a draft, but not the one selected
])
def test_order_select_gives_no_cards_when_no_selected_order_is_the_treatments(order_client, selected: Any,
                                                                              others: Any) -> None:
    body = order_request("ineligible-ci-4-frailty.json", selected, others=others)
    response = order_client.post("/cds-services/npc-kg-salvage-surgery-order", json=body)
    assert response.status_code == 200, response.text
    assert response.json() == {"cards": []}


@pytest.mark.parametrize("change, words", [
    (lambda b: b["context"].pop("selections"), "context.selections"),
    (lambda b: b["context"].__setitem__("selections", "ServiceRequest/sr-selected"), "context.selections"),
    (lambda b: b["context"].pop("draftOrders"), "context.draftOrders"),
    (lambda b: b["context"].__setitem__("draftOrders", {"resourceType": "ServiceRequest"}), "context.draftOrders"),
])
def test_order_select_without_its_context_gets_400(order_client, change: Any, words: str) -> None:
    body = order_request("ineligible-ci-4-frailty.json", ORDER)
    change(body)
    response = order_client.post("/cds-services/npc-kg-salvage-surgery-order", json=body)
    assert response.status_code == 400 and words in response.json()["error"]


def test_order_select_is_not_listed_without_an_order_code() -> None:
    from starlette.testclient import TestClient

    with TestClient(create_app(ServiceConfig(mappings=(SITE,)))) as client:  # a site mapping with no order code
        assert [s["hook"] for s in client.get("/cds-services").json()["services"]] == ["patient-view"]
        body = order_request("ineligible-ci-4-frailty.json", ORDER)
        assert client.post("/cds-services/npc-kg-salvage-surgery-order", json=body).status_code == 404


def test_the_form_reads_a_fhir_bundle_with_the_service_mapping(site_client) -> None:
    assert 'value="fhir"' in site_client.get("/").text
    text = (VALID / "ineligible-ci-4-frailty.json").read_text(encoding="utf-8")
    response = site_client.post("/report", data={"format": "fhir", "patient": text})
    assert response.status_code == 200, response.text
    assert 'data-verdict="ineligible"' in response.text and "Condition/npc-ineligible-ci-4-frailty" in response.text
    out = site_client.post("/report", data={"format": "fhir",
                                            "patient": (VALID / "out-of-scope-no-cancer.json").read_text(encoding="utf-8")})
    assert out.status_code == 200 and 'data-verdict="out-of-scope"' in out.text
    bad = site_client.post("/report", data={"format": "fhir", "patient": '{"a": 1}'})
    assert bad.status_code == 400 and "not FHIR R4 JSON" in bad.json()["error"]


def test_the_form_never_reads_a_file_the_caller_names(site_client) -> None:
    """Pasted FHIR text with no brace and no newline was taken for a file name and read on the server."""
    for text in (str(VALID / "ineligible-ci-4-frailty.json"), str(VALID), str(VALID / "x.ndjson")):
        response = site_client.post("/report", data={"format": "fhir", "patient": text})
        assert response.status_code == 400 and "not FHIR R4 JSON" in response.json()["error"]
        assert "frailty" not in response.text.lower() and str(VALID) not in response.text
    deep = site_client.post("/report", data={"format": "fhir", "patient": "[" * 200_000})
    assert deep.status_code == 400 and "nested too deeply" in deep.json()["error"]


def test_deeply_nested_json_gets_400(site_client) -> None:
    response = site_client.post("/cds-services/npc-kg-salvage-surgery", content=b"[" * 200_000,
                                headers={"content-type": "application/json"})
    assert response.status_code == 400 and "nested too deeply" in response.json()["error"]


@pytest.mark.parametrize("change, words", [
    (lambda r: r.__setitem__("code", {"coding": [{**ORDER, "code": [ORDER["code"]]}]}), "code should be one text value"),
    (lambda r: r.__setitem__("code", ORDER["code"]), "should be a JSON object (FHIR CodeableConcept)"),
])
def test_order_select_with_an_unreadable_selected_order_gets_400(order_client, change: Any, words: str) -> None:
    """A selected draft order whose code cannot be read was a 500 (a list) or passed as "not ours" (no cards)."""
    body = order_request("ineligible-ci-4-frailty.json", ORDER)
    change(body["context"]["draftOrders"]["entry"][0]["resource"])
    response = order_client.post("/cds-services/npc-kg-salvage-surgery-order", json=body)
    assert response.status_code == 400 and words in response.json()["error"], response.text
    assert ORDER["code"] not in response.json()["error"]
    body = order_request("ineligible-ci-4-frailty.json", ORDER)
    body["context"]["draftOrders"]["entry"].append(5)
    response = order_client.post("/cds-services/npc-kg-salvage-surgery-order", json=body)
    assert response.status_code == 400 and "entry 1 must be an object holding a FHIR resource" in response.json()["error"]


def card_link(client, **headers: str) -> str:
    response = client.post(SERVICE, json=hook_request("eligible.json"), headers=headers)
    assert response.status_code == 200, response.text
    [card] = response.json()["cards"]
    [link] = card["links"]
    return link["url"]


def test_card_links_ignore_the_host_header(plain_client) -> None:
    """The link was built from the Host header, which the caller writes: a clinician would follow it elsewhere."""
    url = card_link(plain_client, host="evil.example:4443")
    assert "evil" not in url
    assert url.startswith("http://testserver/reports/"), "the address the request reached (the test client's server)"
    assert plain_client.get(url).status_code == 200


def test_card_links_use_the_base_url() -> None:
    from starlette.testclient import TestClient

    with TestClient(create_app(ServiceConfig(base_url="https://cds.example.org/npc-kg/"))) as client:
        url = card_link(client, host="evil.example")
        assert url.startswith("https://cds.example.org/npc-kg/reports/") and "evil" not in url
        token = url.rsplit("/", 1)[1]
        assert client.get(f"/reports/{token}").status_code == 200, "the proxy's prefix is not the app's route"


@pytest.mark.server
def test_a_real_server_links_to_the_address_it_listens_on(live_server: str) -> None:
    import urllib.request

    request = urllib.request.Request(f"{live_server}/cds-services/npc-kg-salvage-surgery", method="POST",
                                     data=json.dumps(hook_request("eligible.json")).encode(),
                                     headers={"content-type": "application/json", "host": "evil.example"})
    with urllib.request.urlopen(request, timeout=60) as response:
        [card] = json.loads(response.read())["cards"]
    [link] = card["links"]
    assert link["url"].startswith(f"{live_server}/reports/"), link["url"]  # http://127.0.0.1:<port>
    with urllib.request.urlopen(link["url"], timeout=60) as page:
        assert page.status == 200


@pytest.mark.parametrize(("url", "problem"), [
    ("ftp://cds.example.org", "must be an http or https URL with a host"),
    ("cds.example.org", "must be an http or https URL with a host"),
    ("https://", "must be an http or https URL with a host"),
    ("https://cds.example.org/npc-kg?x=1", "must not have a query (?) or a fragment (#)"),
    ("https://cds.example.org/#top", "must not have a query (?) or a fragment (#)"),
    ("https://user:secret@cds.example.org", "must not hold a user name or password"),
    ("https://cds.example.org:99999", "has a port that is not a number"),
    ("https://cds.example.org/a b", "must be a URL without spaces"),
    ("https://cds.example.org/<script>", "must be a URL without spaces, control characters or any of <>"),
    # urlsplit's ValueError escaped: "internal error: ValueError", exit 1
    ("http://[::1", "is not a URL that can be read"),
    ("http://[zz]/", "is not a URL that can be read"),
    ("https://exa\uff0fmple.org", "is not a URL that can be read"),  # a full-width solidus, "/" under NFKC
    ("http://[::1]]/", "has a host that is not an IPv6 address in brackets"),  # was kept as http://[::1]]
    # non-ASCII and lookalike characters were kept
    ("https://a\u00a0b.example.org", "must be a URL without spaces, control characters"),
    ("https://cds.example.org/\u200b", "must be a URL without spaces, control characters"),
    ("https://cds.example.org/\u2028", "must be a URL without spaces, control characters"),
    ("https://cds.example.org/\x85", "must be a URL without spaces, control characters"),
    ("https://example.org\u3002evil.com", "has a host with an ideographic or full-width full stop"),
    ("https://cds.example.org/caf\u00e9", "has a path with characters a URL cannot hold"),
    ("https://cds.example.org:0", "has a port that is not a number from 1 to 65535"),
])
def test_a_bad_base_url_is_exit_2_with_its_reason(url: str, problem: str, capsys: pytest.CaptureFixture[str],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    import uvicorn

    from npc_kg.cli import main
    from npc_kg.errors import InputError

    def no_server(*args: object, **kwargs: object) -> None:
        pytest.fail("the server was started with a bad --base-url")

    monkeypatch.setattr(uvicorn, "run", no_server)
    assert main(["serve", "--base-url", url, "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert f"--base-url {problem}" in err and "Traceback" not in err
    assert "secret" not in err
    with pytest.raises(InputError, match="base_url"):
        create_app(ServiceConfig(base_url=url))


@pytest.mark.parametrize(("url", "kept"), [
    ("https://cds.example.org", "https://cds.example.org"),
    ("HTTPS://cds.example.org/npc-kg/", "https://cds.example.org/npc-kg"),
    ("http://[::1]:8443/", "http://[::1]:8443"),
    ("https://b\u00fccher.example/npc-kg", "https://xn--bcher-kva.example/npc-kg"),  # IDNA, as a browser sends it
    ("https://cds.example.org:65535/a%20b/", "https://cds.example.org:65535/a%20b"),
])
def test_a_good_base_url_is_kept_without_its_trailing_slash(url: str, kept: str) -> None:
    from npc_kg.service import check_base_url

    assert check_base_url(url) == kept
