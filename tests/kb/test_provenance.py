"""Every quote in the graph is verbatim: an exact substring of its source's text file.

The text files live in ``npc_kg.resources.seeds_dir()`` (``NPC_KG_SEEDS``, default
``../shared/seeds/``). No normalisation is allowed, so
characters such as the U+2010 hyphen of "3-year", en dashes, no-break spaces (U+00A0) and thin
spaces (U+2009) must be kept: a quote is a byte-exact substring of its source, white space
included (issue 14). In CI (``CI`` set) missing seed texts fail the test instead of skipping it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from rdflib import Graph, URIRef
from rdflib.term import Node

from npc_kg.namespace import KB, NPC, OA


def _quotes(graph: Graph) -> list[tuple[Node, Node, str]]:
    """(resource, source, exact) for every oa:SpecificResource with a selector."""
    out = []
    for resource, selector in graph.subject_objects(OA.hasSelector):
        source = graph.value(resource, OA.hasSource)
        for exact in graph.objects(selector, OA.exact):
            out.append((resource, source, str(exact)))
    return out


def test_graph_has_quotes(kg: Graph) -> None:
    assert len(_quotes(kg)) >= 50


def test_every_quote_names_a_source_with_a_text_file(kg: Graph) -> None:
    for _resource, source, exact in _quotes(kg):
        assert isinstance(source, URIRef), f"quote {exact!r} has no oa:hasSource"
        assert kg.value(source, NPC.sourceTextFile) is not None, f"{source} has no npc:sourceTextFile"


def test_every_quote_is_verbatim(kg: Graph, seeds: Path) -> None:
    texts: dict[str, str] = {}
    failures = []
    for _resource, source, exact in _quotes(kg):
        name = str(kg.value(source, NPC.sourceTextFile))
        if name not in texts:
            path = seeds / name
            assert path.is_file(), f"{source}: source text {path} is missing"
            texts[name] = path.read_text(encoding="utf-8")
        if exact not in texts[name]:
            failures.append(f"{source}: {exact!r}")
    assert not failures, "quotes that are not verbatim substrings of their source:\n" + "\n".join(failures)


def test_quotes_keep_the_sources_characters(kg: Graph) -> None:
    """The U+2010 hyphens and en dashes of seed 001 are kept, not replaced by ASCII."""
    quotes = {exact for _r, source, exact in _quotes(kg) if source == KB["source-001"]}
    assert any("3\u2010year" in q for q in quotes)
    assert any("4\u2013100\u2009months" in q for q in quotes)
    assert any("(n\u2009=\u200972)" in q for q in quotes)  # thin spaces, as in the source
    quotes_000 = {exact for _r, source, exact in _quotes(kg) if source == KB["source-000"]}
    assert any("\u00a0" in q for q in quotes_000)  # no-break spaces, as in the source


def test_items_are_reported_in_the_source_they_quote(kg: Graph) -> None:
    from rdflib.namespace import PROV

    for item, resource in kg.subject_objects(PROV.wasDerivedFrom):
        reported = set(kg.objects(item, NPC.reportedIn))
        quoted = kg.value(resource, OA.hasSource)
        if reported:
            assert quoted in reported, f"{item} quotes {quoted} but is reported in {reported}"


@pytest.mark.slow
def test_missing_seeds_fail_in_ci(tmp_path: Path) -> None:
    """With CI set, the seeds fixture fails (not skips) when the folder does not exist."""
    import subprocess
    import sys

    test = tmp_path / "test_probe.py"
    test.write_text(
        "from tests.kb.conftest import seeds  # noqa: F401\n\ndef test_probe(seeds):\n    assert seeds.is_dir()\n",
        encoding="utf-8",
    )
    repo = Path(__file__).resolve().parents[2]
    env = {**__import__("os").environ, "CI": "1", "NPC_KG_SEEDS": str(tmp_path / "absent"), "PYTHONPATH": str(repo)}
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(tmp_path), str(test)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert run.returncode == 1, run.stdout + run.stderr
    assert "seed texts not found" in run.stdout
    assert "skipped" not in run.stdout
    assert "1 error" in run.stdout or "1 failed" in run.stdout
