"""The prefix map: ontology, package and JSON-LD context agree, and spell prefixes as bioregistry does."""

from __future__ import annotations

import bioregistry
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from npc_kg.kg.prefixes import converter, prefix_map

# prefix -> (bioregistry resource, URI prefix). MESH and ICD10: bioregistry has no preferred
# prefix; "MESH" is its OBO-context spelling, "ICD10" a registered synonym of "icd10".
EXPECTED = {
    "MONDO": ("mondo", "http://purl.obolibrary.org/obo/MONDO_"),
    "MESH": ("mesh", "http://id.nlm.nih.gov/mesh/"),
    "NCIT": ("ncit", "http://purl.obolibrary.org/obo/NCIT_"),
    "DOID": ("doid", "http://purl.obolibrary.org/obo/DOID_"),
    "HP": ("hp", "http://purl.obolibrary.org/obo/HP_"),
    "UBERON": ("uberon", "http://purl.obolibrary.org/obo/UBERON_"),
    "ICD10": ("icd10", "https://icd.who.int/browse10/2019/en#/"),
    "NCBITaxon": ("ncbitaxon", "http://purl.obolibrary.org/obo/NCBITaxon_"),
    "OBI": ("obi", "http://purl.obolibrary.org/obo/OBI_"),
    "STATO": ("stato", "http://purl.obolibrary.org/obo/STATO_"),
    "SEPIO": ("sepio", "http://purl.obolibrary.org/obo/SEPIO_"),
    "ECO": ("eco", "http://purl.obolibrary.org/obo/ECO_"),
}


@pytest.mark.parametrize("prefix", sorted(EXPECTED))
def test_prefix_spelling_and_uri_prefix(prefix: str) -> None:
    _, uri_prefix = EXPECTED[prefix]
    assert prefix_map()[prefix] == uri_prefix
    local = "0000001"
    assert converter().expand(f"{prefix}:{local}") == uri_prefix + local
    assert converter().compress(uri_prefix + local) == f"{prefix}:{local}"


@pytest.mark.parametrize("prefix", sorted(EXPECTED))
def test_matches_bioregistry(prefix: str) -> None:
    key, uri_prefix = EXPECTED[prefix]
    resource = bioregistry.get_resource(key)
    assert resource is not None
    assert bioregistry.normalize_prefix(prefix) == key
    preferred = resource.get_preferred_prefix()
    if preferred is not None:
        assert prefix == preferred
    else:
        assert prefix in resource.get_synonyms() and prefix.lower() == key
    # the URI prefix is the resource's own, or one bioregistry lists for it
    assert uri_prefix == resource.get_uri_prefix() or uri_prefix in resource.get_uri_prefixes()
    assert bioregistry.parse_iri(uri_prefix + "0000001") == (key, "0000001")


def test_mesh_matches_obo_context() -> None:
    remap = bioregistry.get_context("obo").prefix_remapping
    assert remap["mesh"] == "MESH"


def test_no_prefix_bound_twice() -> None:
    uri_prefixes = list(prefix_map().values())
    assert len(uri_prefixes) == len(set(uri_prefixes))


@settings(max_examples=200, deadline=None)
@given(prefix=st.sampled_from(sorted(EXPECTED)), local=st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.]{0,15}", fullmatch=True))
def test_expand_compress_round_trip(prefix: str, local: str) -> None:
    curie = f"{prefix}:{local}"
    iri = converter().expand(curie)
    assert iri == EXPECTED[prefix][1] + local
    assert converter().compress(iri) == curie


def test_checked_in_prefix_map_is_up_to_date() -> None:
    """mappings/prefix-map.json is what scripts/build_prefix_map.py makes from bioregistry now."""
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parents[2] / "scripts" / "build_prefix_map.py"
    run = subprocess.run([sys.executable, str(script), "--check"], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr


def test_every_prefix_a_data_file_binds_agrees_with_the_map() -> None:
    """The @prefix lines of the ontology, imports and knowledge base, and the JSON-LD context, use the one map."""
    import json
    import re

    from npc_kg.kg.load import ontology_files
    from npc_kg.resources import data_path

    pattern = re.compile(r"^@prefix\s+([A-Za-z][\w.-]*):\s*<([^>]*)>", re.MULTILINE)
    known = prefix_map()
    checked = 0
    for path in ontology_files():
        for prefix, iri in pattern.findall(path.read_text(encoding="utf-8")):
            assert prefix in known, f"{path.name}: @prefix {prefix}: is not in the prefix map"
            assert known[prefix] == iri, f"{path.name}: {prefix}: <{iri}> but the map says <{known[prefix]}>"
            checked += 1
    context = json.loads(data_path("ontology", "context.jsonld").read_text(encoding="utf-8"))["@context"]
    for key, value in context.items():
        if isinstance(value, str) and not key.startswith("@"):
            assert known.get(key) == value, key
            checked += 1
    assert checked > 50


def test_synonyms_and_case_variants_from_bioregistry() -> None:
    from npc_kg.kg.prefixes import expand, standardize_curie

    assert standardize_curie("mondo:0015459") == "MONDO:0015459"
    assert standardize_curie("mesh:D009303") == "MESH:D009303"  # MONDO's spelling
    assert standardize_curie("ORPHA:150") == "Orphanet:150"  # bioregistry's preferred prefix
    assert standardize_curie("ICD-10:C11") == "ICD10:C11"
    assert standardize_curie("icd10cm:C11") == "ICD10CM:C11"
    assert expand("ICD10:C11") != expand("ICD10CM:C11")
    for record in converter().records:
        if record.prefix in ("MONDO", "NCIT", "HP"):
            assert bioregistry.normalize_prefix(record.prefix) is not None
