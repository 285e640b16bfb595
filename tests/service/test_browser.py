"""The HTML report and the upload page in headless Chromium (Selenium, Debian's chromedriver).

Each page loads with no console error; the verdict, the criteria table and the chart are
visible; the upload form returns a report. Screenshots go to the test's temporary folder.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from npc_kg.cli import main
from tests.packdata import criteria_count

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples" / "patients"

pytestmark = pytest.mark.browser


def console_errors(driver) -> list[str]:
    return [entry["message"] for entry in driver.get_log("browser") if entry.get("level") == "SEVERE"]


def check_report(driver, verdict: str) -> None:
    from selenium.webdriver.common.by import By

    shown = driver.find_element(By.CSS_SELECTOR, "[data-verdict]")
    assert shown.is_displayed() and shown.text.lower() == verdict
    table = driver.find_element(By.CSS_SELECTOR, "table.criteria")
    assert table.is_displayed() and len(table.find_elements(By.CSS_SELECTOR, "tbody tr")) == criteria_count()
    chart = driver.find_element(By.CSS_SELECTOR, "figure.chart svg")
    assert chart.is_displayed() and chart.size["width"] > 300 and chart.size["height"] > 100


def test_report_loads_without_errors_and_shows_verdict_criteria_chart(browser, tmp_path: Path, capsys) -> None:
    report = tmp_path / "report.html"
    assert main(["assess", str(EXAMPLES / "ineligible-ci-4-frailty.ttl"), "--format", "html", "-o", str(report)]) == 0
    browser.get(report.as_uri())
    check_report(browser, "ineligible")
    assert console_errors(browser) == []
    browser.save_screenshot(str(tmp_path / "report.png"))
    assert (tmp_path / "report.png").stat().st_size > 10_000


def test_upload_form_returns_a_report(browser, live_server: str, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(f"{live_server}/")
    assert browser.find_element(By.TAG_NAME, "h1").text == "npc-kg: assess a patient"
    assert console_errors(browser) == []
    browser.save_screenshot(str(tmp_path / "upload.png"))
    browser.find_element(By.ID, "file").send_keys(str(EXAMPLES / "indeterminate.ttl"))
    browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    WebDriverWait(browser, 60).until(expected_conditions.presence_of_element_located((By.CSS_SELECTOR, "[data-verdict]")))
    check_report(browser, "indeterminate")
    assert console_errors(browser) == []
    browser.save_screenshot(str(tmp_path / "uploaded-report.png"))
    assert (tmp_path / "uploaded-report.png").stat().st_size > 10_000
