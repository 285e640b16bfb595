"""The prefix map: ontology, package and JSON-LD context agree, and spell prefixes as bioregistry does."""

from __future__ import annotations

import bioregistry
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from npc_kg.kg.xrefs import converter, prefix_map

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
