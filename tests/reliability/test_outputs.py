"""Outputs (issue 15 item 8) and workflow fixes (item 12): devices, FIFOs and symlinks refused,
``-`` is standard output, same-file outputs refused, partial files private and removed on
SIGTERM; several files to ``assess`` each get a result or an error; closest-choice hints; the
endpoint base-URL hint."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from npc_kg.atomic import atomic_output, check_output_path
from npc_kg.cli import main
from npc_kg.errors import OutputError
from npc_kg.sparql.backends.remote import endpoint_hint
from npc_kg.suggest import closest, unknown

from .conftest import DATA, REPO

EXAMPLE = str(REPO / "examples" / "patients" / "eligible.ttl")
INELIGIBLE = str(REPO / "examples" / "patients" / "ineligible.ttl")


def test_dev_null_is_refused_and_left_alone(capsys: pytest.CaptureFixture[str]) -> None:
    before = os.stat("/dev/null")
    assert main(["assess", EXAMPLE, "-o", "/dev/null"]) == 2
    assert "is a device" in capsys.readouterr().err
    after = os.stat("/dev/null")
    assert stat.S_ISCHR(after.st_mode) and after.st_ino == before.st_ino


@pytest.mark.parametrize("kind", ["fifo", "symlink"])
def test_fifo_and_symlink_outputs_are_refused(kind: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "out.txt"
    if kind == "fifo":
        os.mkfifo(target)
    else:
        (tmp_path / "real.txt").write_text("keep", encoding="utf-8")
        target.symlink_to(tmp_path / "real.txt")
    assert main(["assess", EXAMPLE, "-o", str(target)]) == 2
    assert "refusing to replace it" in capsys.readouterr().err
    assert stat.S_ISFIFO(target.lstat().st_mode) if kind == "fifo" else target.is_symlink()
    if kind == "symlink":
        assert (tmp_path / "real.txt").read_text(encoding="utf-8") == "keep"
    with pytest.raises(OutputError):
        check_output_path(target)


def test_dash_is_standard_output(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["assess", EXAMPLE, "-o", "-", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["verdict"] == "eligible"
    assert main(["query", "sources", "-o", "-"]) == 0
    assert capsys.readouterr().out
    assert not (tmp_path / "-").exists()


def test_attrition_equal_to_out_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cohort = tmp_path / "c.ttl"
    cohort.write_text(Path(EXAMPLE).read_text(encoding="utf-8"), encoding="utf-8")
    out = tmp_path / "v.csv"
    code = main(["assess-cohort", str(cohort), "--out", str(out), "--attrition", str(out)])
    assert code == 2 and "name the same file" in capsys.readouterr().err
    assert not out.exists()


@pytest.mark.parametrize("case", ["sidecar-is-a-folder", "attrition-is-the-sidecar", "report-is-the-sidecar",
                                  "sidecar-is-the-input", "attrition-sidecar-is-a-folder"])
def test_sidecars_are_checked_before_any_output_is_written(case: str, tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    cohort = tmp_path / "c.ttl"
    cohort.write_text(Path(EXAMPLE).read_text(encoding="utf-8"), encoding="utf-8")
    out, attrition = tmp_path / "v.csv", tmp_path / "a.csv"
    argv = ["assess-cohort", str(cohort), "--out", str(out)]
    if case == "sidecar-is-a-folder":
        (tmp_path / "v.csv.prov.json").mkdir()
    elif case == "attrition-is-the-sidecar":
        argv += ["--attrition", str(tmp_path / "v.csv.prov.json")]
    elif case == "report-is-the-sidecar":
        argv += ["--report", str(tmp_path / "v.csv.prov.json")]
    elif case == "sidecar-is-the-input":
        cohort.rename(tmp_path / "v.csv.prov.json")
        argv[1] = str(tmp_path / "v.csv.prov.json")
    else:
        (tmp_path / "a.csv.prov.json").mkdir()
        argv += ["--attrition", str(attrition)]
    expected = {"sidecar-is-a-folder": "v.csv.prov.json: is a directory",
                "attrition-is-the-sidecar": "the rows' provenance sidecar name the same file",
                "report-is-the-sidecar": "the rows' provenance sidecar name the same file",
                "sidecar-is-the-input": "v.csv.prov.json: refusing to overwrite an input file",
                "attrition-sidecar-is-a-folder": "a.csv.prov.json: is a directory"}[case]
    assert main(argv) == 2
    assert expected in capsys.readouterr().err
    assert not out.exists() and not attrition.exists(), "nothing is written when an output is refused"


def test_partial_file_is_private_then_gets_the_umask_mode(tmp_path: Path) -> None:
    target = tmp_path / "out.txt"
    with atomic_output(target) as handle:
        partial = [p for p in tmp_path.iterdir() if p != target]
        assert len(partial) == 1 and stat.S_IMODE(partial[0].stat().st_mode) == 0o600
        handle.write("x")
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~mask
    assert sorted(tmp_path.iterdir()) == [target]


def test_sigterm_mid_write_leaves_no_partial_file(tmp_path: Path) -> None:
    """A slow ``assess-cohort`` killed with SIGTERM exits 143 and leaves no hidden partial output."""
    cohort = tmp_path / "cohort.nt"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    subprocess.run([sys.executable, "-m", "npc_kg", "synth", "--n", "5000", "--out", str(cohort)], env=env, check=True,
                   capture_output=True)
    out = tmp_path / "out"
    out.mkdir()
    process = subprocess.Popen([sys.executable, "-m", "npc_kg", "assess-cohort", str(cohort), "--out", str(out / "v.csv"),
                                "--batch-size", "200"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while not any(out.iterdir()) and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert process.poll() is None, "the run ended before it could be interrupted"
    process.send_signal(signal.SIGTERM)
    _out, err = process.communicate(timeout=60)
    assert process.returncode == 143, err
    assert list(out.iterdir()) == []


def test_main_gives_back_the_callers_sigterm_handler(capsys: pytest.CaptureFixture[str]) -> None:
    """``main()`` handles SIGTERM while it runs only: a program (or pytest) that calls it keeps its own
    handler; before, the CLI's stayed and turned a later SIGTERM into an exception in unrelated code."""
    def own(_signum: int, _frame: object) -> None:
        raise AssertionError("not sent")

    before = signal.signal(signal.SIGTERM, own)
    try:
        assert main(["assess", EXAMPLE, "--format", "json"]) == 0
        assert signal.getsignal(signal.SIGTERM) is own
    finally:
        signal.signal(signal.SIGTERM, before)
    capsys.readouterr()


def test_several_files_each_reported(capsys: pytest.CaptureFixture[str]) -> None:
    bad = str(DATA / "m-iri-spaces.ttl")
    code = main(["assess", EXAMPLE, bad, INELIGIBLE, "--format", "json"])
    out, err = capsys.readouterr()
    assert code == 2  # the highest code of any file
    assert [a["verdict"] for a in json.loads(out)] == ["eligible", "ineligible"]
    assert "m-iri-spaces.ttl" in err and "1 of 3 file(s) could not be assessed" in err


def test_closest_choices_are_suggested(capsys: pytest.CaptureFixture[str]) -> None:
    assert closest("patient-prognosi", ["patient-prognosis", "sources"])[0] == "patient-prognosis"
    assert "did you mean 'json'" in unknown("format", "jsn", ["text", "json", "ttl"])
    assert main(["query", "patient-prognosi"]) == 2
    assert "did you mean 'patient-prognosis'" in capsys.readouterr().err
    with pytest.raises(SystemExit) as info:
        main(["assess", EXAMPLE, "--format", "jsn"])
    assert info.value.code == 2 and "did you mean 'json'" in capsys.readouterr().err


def test_endpoint_base_url_gets_a_hint() -> None:
    assert "/query" in endpoint_hint("http://127.0.0.1:7878/", 404)
    assert "/query" in endpoint_hint("http://127.0.0.1:7878", 405)
    assert endpoint_hint("http://127.0.0.1:7878/query", 404) == ""


@pytest.mark.parametrize("argv", [["assess", EXAMPLE], ["export", "--format", "ttl", "-o", "-"]])
def test_a_full_standard_output_is_an_output_error(argv: list[str]) -> None:
    with open("/dev/full", "w") as full:
        done = subprocess.run([sys.executable, "-m", "npc_kg", *argv], stdout=full, stderr=subprocess.PIPE, text=True,
                              timeout=120, check=False)
    assert done.returncode == OutputError.exit_code
    assert "No space left on device" in done.stderr and "internal error" not in done.stderr
    assert "Traceback" not in done.stderr and "Exception ignored" not in done.stderr


@pytest.mark.parametrize("parts", [("ontology", "npc-kg.ttl"), ("shapes", "patient.ttl"), ("queries", "sources.rq"),
                                   ("mappings", "prefixes.yaml"), ("examples", "patients", "eligible.ttl")])
def test_synth_and_export_never_replace_the_packages_own_files(parts: tuple[str, ...]) -> None:
    import npc_kg
    from npc_kg.resources import data_path

    target = data_path(*parts)
    before = target.read_bytes()
    try:
        with pytest.raises(OutputError, match="refusing to overwrite"):
            npc_kg.synth(3, 1, target, fmt="ttl")
        with pytest.raises(OutputError, match="refusing to overwrite"):
            npc_kg.export("ttl", target)
        assert target.read_bytes() == before
    finally:  # should the guard break, the checkout is not left damaged
        if target.read_bytes() != before:
            target.write_bytes(before)
