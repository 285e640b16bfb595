"""Nanopublications (``npc-kg export --format nanopub``): structure per the nanopub guidelines, trusty URIs
checked with nanopub's own ``verify_trusty``, optional signing, and never a network connection."""

from __future__ import annotations

import socket
import warnings
from pathlib import Path

import pytest
from rdflib import RDF, BNode, ConjunctiveGraph, Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, PROV

import npc_kg
from npc_kg.exporters.nanopub import ITEM_CLASSES, build_nanopubs
from npc_kg.namespace import NPC, OA
from tests.linking.conftest import run_cli

NP = "http://www.nanopub.org/nschema#"
EPOCH = "1764547200"  # 2025-12-01T00:00:00Z


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing here may open a socket: nanopublications are built and checked offline, never published."""

    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("a nanopub test tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("np") / "nanopubs"
    mp = pytest.MonkeyPatch()
    mp.setenv("SOURCE_DATE_EPOCH", EPOCH)
    try:
        npc_kg.export("nanopub", out)
    finally:
        mp.undo()
    return out


def _read(path: Path) -> ConjunctiveGraph:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        graph = ConjunctiveGraph()
    graph.parse(path, format="trig")
    graph.bind("npx", "http://purl.org/nanopub/x/")
    return graph


def _items(kg: Graph) -> set[URIRef]:
    return {i for cls in ITEM_CLASSES for i in kg.subjects(RDF.type, cls) if isinstance(i, URIRef)}


def test_one_nanopub_per_item(folder: Path, kg: Graph) -> None:
    files = sorted(p.name for p in folder.glob("*.trig"))
    items = _items(kg)
    assert len(files) == len(items) == 60  # 33 figures, 7 associations, 12 statements, 8 criteria
    assert {f.removesuffix(".trig") for f in files} == {str(i).rsplit("/", 1)[1] for i in items}
    index = (folder / "index.tsv").read_text(encoding="utf-8").splitlines()
    assert index[0] == "item\tnanopub\tfile" and len(index) == 61


def test_trusty_uris_verify_with_nanopubs_own_code(folder: Path) -> None:
    from nanopub.sign_utils import verify_trusty
    from nanopub.utils import extract_np_metadata

    uris = set()
    for path in folder.glob("*.trig"):
        graph = _read(path)
        meta = extract_np_metadata(graph)
        assert str(meta.np_uri).startswith("http://purl.org/np/RA"), path.name
        assert verify_trusty(graph, str(meta.np_uri), meta.namespace)
        assert meta.signature is None  # unsigned by default
        uris.add(str(meta.np_uri))
    assert len(uris) == 60


def test_a_changed_nanopub_fails_verify_trusty(folder: Path) -> None:
    from nanopub.sign_utils import verify_trusty
    from nanopub.utils import MalformedNanopubError, extract_np_metadata

    path = folder / "fig-001-os-3y.trig"
    text = path.read_text(encoding="utf-8").replace("0.587", "0.687")
    tampered = folder.parent / "tampered.trig"
    tampered.write_text(text, encoding="utf-8")
    graph = _read(tampered)
    meta = extract_np_metadata(graph)
    with pytest.raises(MalformedNanopubError):
        verify_trusty(graph, str(meta.np_uri), meta.namespace)


@pytest.mark.parametrize(
    "name", ["fig-001-dss-3y", "ci-4-age-frailty-condition-organ", "assoc-001-rn23-os", "stmt-000-third-course-ineffective"]
)
def test_structure_follows_the_nanopub_guidelines(folder: Path, kg: Graph, name: str) -> None:
    graph = _read(folder / f"{name}.trig")
    uri = next(iter(graph.subjects(RDF.type, URIRef(NP + "Nanopublication"))))
    contexts = {c.identifier: c for c in graph.contexts()}
    heads = [c for c in contexts.values() if (uri, RDF.type, URIRef(NP + "Nanopublication")) in c]
    assert len(heads) == 1
    head = heads[0]
    parts = {p: head.value(uri, URIRef(NP + p)) for p in ("hasAssertion", "hasProvenance", "hasPublicationInfo")}
    # four distinct graphs, all under the nanopublication's URI, and nothing else
    names = {head.identifier, *parts.values()}
    assert len(names) == 4 and set(contexts) == names
    assert all(str(n).startswith(str(uri)) for n in names)
    assert len(head) == 4  # the head holds only the nanopublication's own structure
    assertion, provenance, pubinfo = (contexts[parts[p]] for p in ("hasAssertion", "hasProvenance", "hasPublicationInfo"))
    assert len(assertion) > 0
    assert (parts["hasAssertion"], None, None) in provenance  # provenance is about the assertion
    assert (uri, None, None) in pubinfo  # pubinfo is about the nanopublication
    assert not any(isinstance(t, BNode) for q in graph.quads() for t in q[:3])  # no blank nodes
    item = URIRef(f"https://w3id.org/npc-kg/kb/{name}")
    assert (item, RDF.type, None) in assertion
    # provenance: the source, the verbatim quote, and the item's text issues
    [quote] = [
        str(q)
        for r in kg.objects(item, PROV.wasDerivedFrom)
        for s in kg.objects(r, OA.hasSelector)
        for q in kg.objects(s, OA.exact)
    ]
    assert Literal(quote) in set(provenance.objects(None, OA.exact))
    assert set(provenance.objects(parts["hasAssertion"], PROV.hadPrimarySource)) == set(kg.objects(item, NPC.reportedIn))
    assert set(provenance.objects(parts["hasAssertion"], NPC.textIssue)) == set(kg.objects(item, NPC.textIssue))
    # pubinfo: version, licence, creation time from SOURCE_DATE_EPOCH
    created = pubinfo.value(uri, DCTERMS.created)
    assert isinstance(created, Literal) and str(created) in ("2025-12-01T00:00:00Z", "2025-12-01T00:00:00+00:00")
    assert pubinfo.value(uri, DCTERMS.license) == URIRef("https://creativecommons.org/licenses/by/4.0/")
    assert str(pubinfo.value(uri, URIRef("http://purl.org/pav/version"))) == npc_kg.__version__


def test_source_date_epoch_makes_the_build_reproducible(folder: Path, kg: Graph, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    again = {n.name: n.uri for n in build_nanopubs(kg)}
    index = dict(line.split("\t")[0:2] for line in (folder / "index.tsv").read_text(encoding="utf-8").splitlines()[1:])
    assert {f"kb:{k}": v for k, v in again.items()} == index


def test_signed_with_the_users_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from Crypto.PublicKey import RSA
    from nanopub.sign_utils import verify_signature, verify_trusty
    from nanopub.utils import extract_np_metadata

    key = RSA.generate(2048)
    (tmp_path / "id_rsa.pem").write_bytes(key.export_key())
    args = ("export", "--format", "nanopub", "-o", "signed", "--sign", "id_rsa.pem")
    result = run_cli(tmp_path, *args, env={"SOURCE_DATE_EPOCH": EPOCH})
    assert result.returncode == 0, result.stderr
    secret = key.export_key().decode().splitlines()[1]
    assert secret not in result.stdout + result.stderr
    graph = _read(tmp_path / "signed" / "ci-3-distant-metastasis.trig")
    meta = extract_np_metadata(graph)
    assert meta.signature is not None and meta.algorithm is not None
    assert verify_signature(graph, meta.namespace)
    assert verify_trusty(graph, str(meta.np_uri), meta.namespace)


def test_bad_key_and_non_empty_folder_exit_2(tmp_path: Path) -> None:
    (tmp_path / "key.pem").write_text("not a key\n", encoding="utf-8")
    bad = run_cli(tmp_path, "export", "--format", "nanopub", "-o", "out", "--sign", "key.pem")
    assert bad.returncode == 2 and "key.pem" in bad.stderr and "not an RSA private key" in bad.stderr
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x.txt").write_text("x", encoding="utf-8")
    full = run_cli(tmp_path, "export", "--format", "nanopub", "-o", "full")
    assert full.returncode == 2 and "new or empty" in full.stderr
    assert sorted(p.name for p in (tmp_path / "full").iterdir()) == ["x.txt"]
    wrong = run_cli(tmp_path, "export", "--format", "ttl", "-o", "x.ttl", "--sign", "key.pem")
    assert wrong.returncode == 2 and "--sign" in wrong.stderr


def test_the_files_are_byte_identical_across_processes(folder: Path, tmp_path: Path) -> None:
    """Under SOURCE_DATE_EPOCH, another process (another string-hash seed) writes the same bytes:
    the graphs of a TriG file come in a fixed order, not the order of the store's sets."""
    result = run_cli(tmp_path, "export", "--format", "nanopub", "-o", "again",
                     env={"SOURCE_DATE_EPOCH": EPOCH, "PYTHONHASHSEED": "12345"})
    assert result.returncode == 0, result.stderr
    names = sorted(p.name for p in folder.iterdir())
    assert names == sorted(p.name for p in (tmp_path / "again").iterdir())
    for name in names:
        assert (tmp_path / "again" / name).read_bytes() == (folder / name).read_bytes(), name
    text = (folder / "ci-3-distant-metastasis.trig").read_text(encoding="utf-8")
    order = [line.split()[0] for line in text.splitlines() if line.endswith(" {")]
    assert order == ["sub:Head", "sub:assertion", "sub:provenance", "sub:pubinfo"]
