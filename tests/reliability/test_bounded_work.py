"""Bounded work: limits on input size, findings per patient and JSON nesting; a timeout on every local query.

No test here measures time: each asserts an outcome (an answer, or a clear refusal with exit
code 2) that a quadratic or unbounded implementation would not reach within the CI run.
"""

from __future__ import annotations

import json
import os
import re
import signal
from pathlib import Path

import pytest
from rdflib import URIRef

import npc_kg
from npc_kg import limits
from npc_kg.assessment.explain import EXPLANATIONS, Explainer, duplicate_records
from npc_kg.cli import main
from npc_kg.errors import InputError, LimitError, QueryError, QueryTimeoutError
from npc_kg.patient import read_patient
from npc_kg.sparql.backends.oxigraph_backend import OxigraphBackend
from npc_kg.sparql.backends.rdflib_backend import RdflibBackend
from npc_kg.sparql.bounded import run_bounded

from .conftest import MARKER, REPO

EXAMPLE = REPO / "examples" / "patients" / "eligible.ttl"
CROSS_PRODUCT = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }"
CLASSES = ("SkullBaseBoneDestruction", "CranialNervePalsy", "DistantMetastasis", "Frailty", "HepaticInsufficiency")


@pytest.fixture(autouse=True)
def _no_configured_limits() -> None:
    limits.reset()
    yield
    limits.reset()


def many_findings(n: int, *, distinct: bool = False) -> str:
    """A patient with ``n`` finding records (repeats of a few findings, or each one distinct)."""
    lines = ["@prefix npc: <https://w3id.org/npc-kg/> .", "@prefix ex: <https://example.org/p/> .",
             "@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .",
             "ex:p a npc:Patient ; npc:age 60 ; npc:radiotherapyCourses 1 ; npc:hasFinding ex:r0 .",
             "ex:r0 a npc:LocalRecurrence ; npc:findingStatus npc:Present ; npc:rTCategory npc:rT2 ; "
             "npc:rNCategory npc:rN0 ."]
    for i in range(1, n):
        status = "npc:Present" if i % 3 == 0 else "npc:Absent"
        note = f' ; rdfs:comment "visit {i}"' if distinct else ""
        lines.append(f"ex:p npc:hasFinding ex:f{i} . ex:f{i} a npc:{CLASSES[i % len(CLASSES)]} ; "
                     f"npc:findingStatus {status}{note} .")
    return "\n".join(lines) + "\n"


def test_defaults_are_finite_and_documented() -> None:
    current = limits.current()
    assert current.max_findings == 2000 and current.max_json_depth == 100
    assert current.max_input_bytes == 256 * 1024 * 1024 and current.query_timeout == 60
    assert current.max_query_bytes == 16 * 1024  # about 2 s of rdflib parsing at most (docs/service.md)
    doc = (Path(__file__).resolve().parents[2] / "docs" / "reliability.md").read_text(encoding="utf-8")
    for variable in limits.ENVIRONMENT.values():
        assert variable in doc


def test_a_10000_finding_patient_is_refused_clearly(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "many.ttl"
    path.write_text(many_findings(10_000), encoding="utf-8")
    with pytest.raises(LimitError, match="more than 2000 finding records") as info:
        npc_kg.assess(path)
    assert info.value.exit_code == 2 and "--max-findings" in str(info.value)
    assert main(["assess", str(path)]) == 2
    assert "NPC_KG_MAX_FINDINGS" in capsys.readouterr().err


def test_a_10000_finding_patient_is_answered_under_a_raised_limit(tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    """Raised limit: the repeated records are explained once, so the answer comes (linear work)."""
    path = tmp_path / "many.ttl"
    path.write_text(many_findings(10_000), encoding="utf-8")
    assert main(["assess", str(path), "--max-findings", "20000", "--format", "json"]) == 0
    [answer] = json.loads(capsys.readouterr().out)
    assert answer["verdict"] == "ineligible" and answer["evidence"]


def test_repeated_records_give_the_rows_of_one_record() -> None:
    few, _ = read_patient(many_findings(12))
    many, _ = read_patient(many_findings(600))
    patient = URIRef("https://example.org/p/p")
    assert len(duplicate_records(many, patient)) >= 580  # 599 repeats of 10 distinct records
    assert not duplicate_records(read_patient(many_findings(12, distinct=True))[0], patient)
    for name in EXPLANATIONS:
        assert Explainer(many, [patient]).rows(name, patient) == Explainer(few, [patient]).rows(name, patient)


def test_distinct_records_up_to_the_limit_are_answered() -> None:
    """The worst case under the default limit (every record distinct) still gets an answer."""
    [answer] = npc_kg.assess(many_findings(400, distinct=True))
    assert answer.verdict == "ineligible"


def test_input_size_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "p.ttl"
    path.write_text(many_findings(50), encoding="utf-8")
    monkeypatch.setenv("NPC_KG_MAX_INPUT_BYTES", "1000")
    with pytest.raises(LimitError, match="larger than 1000 bytes"):
        npc_kg.assess(path)
    with pytest.raises(LimitError):
        npc_kg.assess(path.read_text(encoding="utf-8"))
    monkeypatch.setenv("NPC_KG_MAX_INPUT_BYTES", "lots")
    with pytest.raises(InputError, match="NPC_KG_MAX_INPUT_BYTES must be a number"):
        npc_kg.assess(path)


def test_input_size_limit_is_for_inputs_not_the_packages_knowledge(tmp_path: Path) -> None:
    """A limit smaller than the package's own files (shapes, packs) still lets a small patient through."""
    import subprocess
    import sys

    example = Path(__file__).parents[2] / "examples" / "patients" / "eligible.ttl"
    limit = str(example.stat().st_size + 10)
    env = {**os.environ, "NPC_KG_CACHE": str(tmp_path / "cache")}  # no cache: every knowledge file is read
    done = subprocess.run([sys.executable, "-m", "npc_kg", "assess", str(example), "--max-input-size", limit, "--format", "json"],
                          capture_output=True, text=True, env=env, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)[0]["verdict"] == "eligible"


@pytest.mark.parametrize("depth", [150, 100_000])
def test_deeply_nested_jsonld_is_refused(depth: int) -> None:
    text = '{"@id": "https://example.org/p/1", "https://example.org/p": ' + "[" * depth + "1" + "]" * depth + "}"
    with pytest.raises(LimitError, match="nested too deeply"):
        npc_kg.assess(text)


def test_huge_integer_jsonld_is_refused() -> None:
    text = '{\n"@id": "https://example.org/p/1",\n"https://example.org/p": ' + "9" * 5000 + "}"
    with pytest.raises(InputError, match="too many digits") as info:
        npc_kg.assess(text)
    assert info.value.line == 3


@pytest.mark.parametrize("backend", [RdflibBackend, OxigraphBackend], ids=["rdflib", "pyoxigraph"])
def test_a_cross_product_query_is_stopped(backend: type, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NPC_KG_QUERY_TIMEOUT", "1")
    children: list[int] = []
    fork = os.fork

    def recorded() -> int:
        pid = fork()
        if pid:
            children.append(pid)
        return pid

    monkeypatch.setattr(os, "fork", recorded)
    with pytest.raises(QueryTimeoutError, match="ran longer than 1 s and was stopped") as info:
        backend().select(CROSS_PRODUCT)
    assert info.value.exit_code == 2
    assert len(children) == 1
    with pytest.raises(ChildProcessError):
        os.waitpid(children[0], os.WNOHANG)  # the query's process is gone (killed and reaped), not left running


@pytest.mark.parametrize("engine", ["rdflib", "oxigraph"])
def test_cli_query_timeout(engine: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["query", CROSS_PRODUCT, "--backend", engine, "--timeout", "1"]) == 2
    assert "was stopped" in capsys.readouterr().err


def test_queries_still_answer_with_the_timeout() -> None:
    rows = npc_kg.query("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }")
    assert rows[0]["n"] > 1000
    assert run_bounded(lambda: [1, 2], 5) == [1, 2]


def test_an_error_in_the_query_process_comes_back_without_values() -> None:
    def fails() -> None:
        raise ValueError(f"bad term {MARKER}")

    with pytest.raises(npc_kg.errors.QueryError) as info:
        run_bounded(fails, 5)
    assert "ValueError" in str(info.value) and MARKER not in str(info.value)


def test_a_killed_query_process_is_a_clear_error() -> None:
    with pytest.raises(npc_kg.errors.QueryError, match="ended without an answer"):
        run_bounded(lambda: os.kill(os.getpid(), signal.SIGKILL), 5)


# The package's own queries run in-process (a fork each cost 15-80 %): on the command line a timer
# ends the run past --timeout, exit 2, one line, no output left; a library call is not stopped.
TINY = "0.000001"


def _cli(args: list[str], cwd: Path) -> tuple[int, str]:
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "npc_kg", *args], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, "NPC_KG_QUERY_TIMEOUT": TINY}, timeout=300)
    return done.returncode, done.stderr


@pytest.fixture(scope="module")
def hundred(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from npc_kg.cohort.synth import synth

    path = tmp_path_factory.mktemp("hundred") / "p100.nt"
    synth(100, 3, path)
    return path


def test_assess_stops_when_the_package_queries_pass_the_timeout(hundred: Path, tmp_path: Path) -> None:
    code, err = _cli(["assess", str(hundred), "--format", "json", "-o", "out.json"], tmp_path)
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "the explanation queries of a patient ran longer than" in lines[0]
    assert "--timeout" in lines[0] and "Traceback" not in err
    assert list(tmp_path.iterdir()) == [], "no output and no partial file"


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_sparql_cohort_stops_when_its_compiled_queries_pass_the_timeout(hundred: Path, tmp_path: Path,
                                                                          workers: str) -> None:
    code, err = _cli(["assess-cohort", str(hundred), "--engine", "sparql", "--workers", workers, "--batch-size", "20",
                      "--out", "rows.csv"], tmp_path)
    assert code == 2, err
    assert "the compiled shapes on a batch ran longer than" in err and "Traceback" not in err
    if workers == "2":
        assert "a worker process ended before its batch was done" in err
    assert list(tmp_path.iterdir()) == [], "no output and no partial file"


def test_a_library_call_is_not_stopped_by_the_watchdog(hundred: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NPC_KG_QUERY_TIMEOUT", TINY)
    assessments = npc_kg.assess(hundred)
    assert len(assessments) == 100 and all(a.evidence for a in assessments if a.verdict != "out-of-scope")


def test_the_server_is_never_ended_by_the_watchdog(tmp_path: Path) -> None:
    """`npc-kg serve` runs under the CLI, but a request past its time must not end the server."""
    import subprocess
    import sys

    script = (
        "import time, uvicorn\n"
        "from npc_kg.sparql.bounded import watched\n"
        "def run(*args, **kwargs):\n"
        "    with watched('a slow request'):\n"
        "        time.sleep(0.3)\n"
        "    print('served')\n"
        "uvicorn.run = run\n"
        "from npc_kg.cli import main\n"
        "raise SystemExit(main(['serve', '--port', '0']))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "NPC_KG_QUERY_TIMEOUT": TINY})
    assert done.returncode == 0, done.stderr
    assert "served" in done.stdout and "ran longer than" not in done.stderr


@pytest.mark.parametrize("argv", [
    ["assess", "x.ttl", "--timeout", "-5"],
    ["assess", "x.ttl", "--timeout", "nan"],
    ["assess", "x.ttl", "--max-findings", "-1"],
    ["assess-cohort", "x.nt", "--out", "o.csv", "--workers", "0"],
    ["assess-cohort", "x.nt", "--out", "o.csv", "--batch-size", "-2"],
    ["query", "sources", "--timeout", "inf"],
    ["serve", "--port", "99999"],
    ["serve", "--port", "-1"],
    ["serve", "--max-body", "-5"],
    ["serve", "--timeout", "-1"],
])
def test_a_bad_number_is_refused_naming_the_option(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as ended:
        main(argv)
    err = capsys.readouterr().err
    assert ended.value.code == 2 and f"argument {argv[-2]}" in err and "Traceback" not in err


def test_api_query_timeout_limits_an_embedded_query_of_this_call_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """``npc_kg.query(timeout=)`` was read for an endpoint only: on the embedded stores it was ignored."""
    with pytest.raises(QueryTimeoutError, match="ran longer than 1 s and was stopped"):
        npc_kg.query(CROSS_PRODUCT, timeout=1)
    assert npc_kg.query("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }", timeout=0)[0]["n"] > 1000  # 0: no limit
    monkeypatch.setenv("NPC_KG_QUERY_TIMEOUT", "1")  # the limit in force still holds for the next call
    with pytest.raises(QueryTimeoutError, match="ran longer than 1 s"):
        npc_kg.query(CROSS_PRODUCT)


@pytest.mark.parametrize("timeout", ["5", True, -1, float("nan")])
def test_api_query_timeout_of_the_wrong_kind_is_refused(timeout: object) -> None:
    with pytest.raises(QueryError, match="timeout= is a number of seconds"):
        npc_kg.query("sources", timeout=timeout)


@pytest.mark.parametrize(("variable", "value", "problem"), [
    ("NPC_KG_MAX_FINDINGS", "inf", "must be a finite number, 0 or more"),
    ("NPC_KG_MAX_FINDINGS", "1e999", "must be a finite number, 0 or more"),
    ("NPC_KG_MAX_FINDINGS", "2.5", "must be a whole number"),
    ("NPC_KG_MAX_INPUT_BYTES", "abc", "must be a number"),
    ("NPC_KG_QUERY_TIMEOUT", "inf", "must be a finite number, 0 or more"),
])
def test_a_bad_limit_in_the_environment_is_exit_2(variable: str, value: str, problem: str, monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    """``inf`` was an internal error (OverflowError, exit 1), and ``2.5`` findings silently 2."""
    monkeypatch.setenv(variable, value)
    assert main(["assess", str(EXAMPLE), "--format", "json"]) == 2
    assert f"environment variable {variable} {problem}" in capsys.readouterr().err


@pytest.mark.parametrize(("changes", "problem"), [
    ({"max_findings": 2.5}, "the limit max_findings must be a whole number"),
    ({"max_findings": True}, "must be a finite number"),
    ({"query_timeout": "soon"}, "the limit query_timeout must be a number"),
    ({"max_findngs": 3}, "unknown limit 'max_findngs'; did you mean 'max_findings'"),
    ({"max_findings": 10**400}, "must be a finite number"),
])
def test_configure_checks_what_it_is_given(changes: dict[str, object], problem: str) -> None:
    try:
        with pytest.raises(InputError, match=re.escape(problem)):
            limits.configure(**changes)
    finally:
        limits.reset()


def test_a_huge_timeout_is_no_limit_in_practice() -> None:
    """select() refuses a wait of 1e12 s: it was an OverflowError (exit 1) after the query ran."""
    assert npc_kg.query("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }", timeout=1e12)[0]["n"] > 1000


def test_options_for_a_backend_instance_are_refused() -> None:
    """A Backend instance comes with its own timeout and graph: ``timeout=`` beside it was ignored."""
    with pytest.raises(QueryError, match="a Backend instance comes with its own"):
        npc_kg.query("sources", backend=RdflibBackend(), timeout=5)
