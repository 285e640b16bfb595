"""``npc-kg docs``: static HTML documentation (Jinja2), checked as HTML and in headless Chromium."""

from __future__ import annotations

import shutil
from html.parser import HTMLParser
from pathlib import Path

import pytest
from rdflib import RDF, Graph
from rdflib.namespace import PROV

from npc_kg.namespace import NPC, OA
from tests.linking.conftest import fail_in_ci_else_skip, run_cli


class _Ids(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.ids: list[str] = []
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for key, value in attrs:
            if key == "id" and value:
                self.ids.append(value)
            if key == "href" and value and value.startswith("#"):
                self.links.append(value[1:])


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("docs")
    result = run_cli(folder, "docs", "-o", "site")
    assert result.returncode == 0, result.stderr
    return folder / "site"


def test_files_and_anchors(site: Path) -> None:
    assert sorted(p.name for p in site.iterdir()) == ["index.html", "style.css"]
    parser = _Ids()
    parser.feed((site / "index.html").read_text(encoding="utf-8"))
    assert len(parser.ids) == len(set(parser.ids)), "duplicate ids"
    assert set(parser.links) <= set(parser.ids), sorted(set(parser.links) - set(parser.ids))


def test_every_item_with_its_quote_and_the_mondo_placement(site: Path, kg: Graph) -> None:
    import html

    text = html.unescape((site / "index.html").read_text(encoding="utf-8"))
    for cls in (NPC.EvidenceFigure, NPC.EligibilityCriterion, NPC.PrognosticAssociation, NPC.Statement):
        for item in kg.subjects(RDF.type, cls):
            name = str(item).rsplit("/", 1)[1]
            assert f'id="kb-{name}"' in text, name
            for resource in kg.objects(item, PROV.wasDerivedFrom):
                for selector in kg.objects(resource, OA.hasSelector):
                    for quote in kg.objects(selector, OA.exact):
                        assert str(quote) in text, (name, str(quote)[:40])  # verbatim, no-break spaces included
    assert "is equivalent to\n     <code>MONDO:0015459</code>" in text
    assert "All 37 MONDO ancestors" in text
    assert "MONDO:0002038</code> head and neck carcinoma" in text
    assert 'id="npc-hasFinding"' in text  # properties
    assert "skos:exactMatch <code>NCIT:C3871</code>" in text  # mappings of a class
    assert "Text issue: inconsistent figures (npc:InconsistentFigures)" in text


def test_refuses_a_non_empty_folder(site: Path) -> None:
    result = run_cli(site.parent, "docs", "-o", "site")
    assert result.returncode == 2 and "new or empty" in result.stderr


def _driver(profile: Path):  # type: ignore[no-untyped-def]
    chromedriver = shutil.which("chromedriver")
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromedriver is None or chromium is None:
        fail_in_ci_else_skip("Debian chromium and chromium-driver are needed for the browser check (.ci/run installs them)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     f"--user-data-dir={profile}"):  # not /tmp/org.chromium.*, which Chromium would leave behind
        options.add_argument(argument)
    return webdriver.Chrome(service=Service(chromedriver), options=options)


@pytest.mark.browser
def test_page_in_headless_chromium(site: Path, kg: Graph, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    driver = _driver(tmp_path / "chromium")
    try:
        driver.get((site / "index.html").as_uri())
        assert driver.title.startswith("npc-kg")
        figures = driver.find_elements(By.CSS_SELECTOR, "#figures article.item")
        assert len(figures) == len(set(kg.subjects(RDF.type, NPC.EvidenceFigure)))
        criteria = driver.find_elements(By.CSS_SELECTOR, "#criteria article.item")
        assert len(criteria) == len(set(kg.subjects(RDF.type, NPC.EligibilityCriterion)))
        driver.find_element(By.LINK_TEXT, "MONDO placement").click()
        assert driver.find_element(By.ID, "mondo").is_displayed()
        quote = driver.find_element(By.CSS_SELECTOR, "#kb-fig-001-os-3y blockquote.quote")
        assert "58.7%" in quote.text and quote.value_of_css_property("white-space") == "pre-wrap"  # the stylesheet loaded
        assert driver.find_element(By.ID, "version-iri").text == "https://w3id.org/npc-kg/ontology/0.1.0"
    finally:
        driver.quit()
