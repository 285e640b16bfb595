"""Issue 11: ``npc-kg pack check`` (exit 6 with errors, each naming file, line and field), the generated
building blocks kept up to date, the skeleton, and the refusal of two packs that define the same IRI."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pytest

import npc_kg
from npc_kg.cli import main
from npc_kg.errors import ChecksFailedError, PackError
from npc_kg.kg.pack_check import check_pack
from npc_kg.kg.packs import read_pack
from npc_kg.shacl.blocks import stale_blocks
from tests.packdata import PACK_PATIENTS, PACKAGE_PACK, REPO, SKELETON, TEST_PACK

UNRELATED = REPO / "tests" / "linking" / "data" / "packs" / "unrelated-disease"
PACKS = [PACKAGE_PACK, TEST_PACK, SKELETON]


def test_exit_code_6_is_the_documented_check_code() -> None:
    assert ChecksFailedError.exit_code == 6
    assert "6" in (REPO / "docs" / "packs.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("folder", PACKS, ids=lambda p: p.name)
def test_every_pack_passes_the_check(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The package's pack, the test pack and the skeleton of docs/pack-skeleton."""
    assert main(["pack", "check", str(folder)]) == 0
    assert "0 error(s)" in capsys.readouterr().out


@pytest.mark.parametrize("folder", PACKS, ids=lambda p: p.name)
def test_the_generated_building_blocks_are_up_to_date(folder: Path) -> None:
    """CI check of part 4: shapes/findings.ttl is what ``npc-kg pack blocks`` generates from kb/*.ttl."""
    assert stale_blocks(read_pack(folder)) is None, f"run: npc-kg pack blocks {folder}"


def test_a_knowledge_only_pack_loads_but_fails_the_check(capsys: pytest.CaptureFixture[str]) -> None:
    """The linking test's pack has a criterion without quote or shapes: export and query take it, the check
    lists each gap at the criterion's line."""
    assert main(["pack", "check", str(UNRELATED)]) == 6
    out = capsys.readouterr().out
    where = f"{UNRELATED / 'kb' / 'criteria.ttl'}:8: ex:criterion-unrelated"
    assert f"{where}: no shape of the pack names this criterion" in out
    assert f"{where} (CriterionQuoteShape)" in out
    assert "shapes/findings.ttl: missing; generate it with: npc-kg pack blocks" in out


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    target = tmp_path / "pack"
    shutil.copytree(TEST_PACK, target)
    return target


def test_a_broken_pack_exits_6_naming_file_line_and_field(copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    criteria = copy / "kb" / "criteria.ttl"
    lines = criteria.read_text(encoding="utf-8").splitlines(keepends=True)
    index = next(i for i, line in enumerate(lines) if "npc:criterionKind" in line)
    criteria.write_text("".join(lines[:index] + lines[index + 1:]), encoding="utf-8")
    assert main(["pack", "check", str(copy)]) == 6
    out = capsys.readouterr().out
    assert re.search(rf"error: {re.escape(str(criteria))}:\d+: tp:ind-1-disease-present \(npc:criterionKind\)", out), out
    assert not check_pack(copy).ok


def test_a_turtle_syntax_error_is_named_once_with_its_line(copy: Path) -> None:
    extra = copy / "kb" / "broken.ttl"
    extra.write_text("@prefix npc: <https://w3id.org/npc-kg/> .\nnpc:a npc:b .\n", encoding="utf-8")
    problems = [p for p in check_pack(copy).errors if p.file == str(extra)]
    assert len(problems) == 1 and problems[0].line == 2, problems
    assert str(extra) not in problems[0].message and "cannot parse" in problems[0].message, problems[0].message


def test_a_pack_without_manifest_fails_the_check_and_cannot_load(copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (copy / "pack.ttl").unlink()
    assert main(["pack", "check", str(copy)]) == 6
    assert "pack.ttl" in capsys.readouterr().out
    with pytest.raises(PackError):
        npc_kg.load(packs=[copy])


def test_stale_blocks_are_found_and_regenerated(copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blocks = copy / "shapes" / "findings.ttl"
    blocks.write_text(blocks.read_text(encoding="utf-8").replace("fictional-test-marker", "renamed-marker"),
                      encoding="utf-8")
    assert main(["pack", "blocks", str(copy), "--check"]) == 6
    assert main(["pack", "check", str(copy)]) == 6
    capsys.readouterr()
    assert main(["pack", "blocks", str(copy)]) == 0
    assert blocks.read_text(encoding="utf-8") == (TEST_PACK / "shapes" / "findings.ttl").read_text(encoding="utf-8")
    assert main(["pack", "blocks", str(copy), "--check"]) == 0


def test_two_packs_defining_the_same_iri_are_refused(copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    manifest = copy / "pack.ttl"
    manifest.write_text(manifest.read_text(encoding="utf-8").replace(
        "<https://example.org/npc-kg-test-pack>", "<https://example.org/npc-kg-test-pack-copy>"), encoding="utf-8")
    with pytest.raises(PackError) as raised:
        npc_kg.load(packs=[TEST_PACK, copy])
    listed = "\n".join(raised.value.errors)
    assert "<https://example.org/npc-kg-test-pack/FictionalTestTherapy>" in listed
    assert str(TEST_PACK) in listed and str(copy) in listed, "both packs are named"
    code = main(["assess", str(PACK_PATIENTS / "valid" / "eligible.ttl"), "--pack", str(TEST_PACK), "--pack", str(copy)])
    err = capsys.readouterr().err
    assert code == 2 and "define the same IRI" in err and "Traceback" not in err


def test_a_pack_may_not_redefine_the_package_s_iris(copy: Path) -> None:
    criteria = copy / "kb" / "criteria.ttl"
    criteria.write_text(criteria.read_text(encoding="utf-8").replace("tp:FictionalTestMarker\n    a owl:Class",
                                                                     "npc:Frailty\n    a owl:Class", 1), encoding="utf-8")
    with pytest.raises(PackError) as raised:
        npc_kg.load(packs=[copy])
    assert "https://w3id.org/npc-kg/Frailty" in "\n".join(raised.value.errors)


def test_a_missing_folder_or_a_file_is_a_bad_argument(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "pack.ttl").write_text("", encoding="utf-8")
    assert main(["pack", "check", str(tmp_path / "nope")]) == 2
    assert main(["pack", "check", str(tmp_path / "pack.ttl")]) == 2
    err = capsys.readouterr().err
    assert "nope: no such folder" in err and "pack.ttl: not a folder" in err


@pytest.mark.parametrize(("edit", "message"), [
    (lambda text: text.replace("format: npc-kg-synth/1\n", ""), "starts with format: npc-kg-synth/1"),
    (lambda text: text.replace("  rates:", "  rate:"), "findings: unknown key 'rate'; did you mean 'rates'"),
    (lambda text: text + "extra: 1\n", "unknown key 'extra'"),
    (lambda text: text.replace("absent: 0.3", "absnet: 0.3"), "unknown key 'absnet'; did you mean 'absent'"),
])
def test_a_synth_yaml_with_unknown_keys_fails_the_check(copy: Path, edit: Any, message: str) -> None:
    synth = copy / "synth.yaml"
    synth.write_text(edit(synth.read_text(encoding="utf-8")), encoding="utf-8")
    problems = [p for p in check_pack(copy).errors if p.file == str(synth)]
    assert problems and message in problems[0].message, problems


@pytest.mark.parametrize("packs", [5, [None], [5], [b"folder"]])
def test_packs_of_the_wrong_type_are_a_pack_error(packs: Any) -> None:
    with pytest.raises(PackError, match="packs= takes"):
        npc_kg.load(packs=packs)
