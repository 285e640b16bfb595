"""A missing optional dependency is named with the extra that installs it (never an internal error)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from npc_kg.cli import main
from npc_kg.errors import ExternalToolError
from npc_kg.extras import require

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "patients" / "eligible.ttl"


def test_require_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    with pytest.raises(ExternalToolError, match=r"--out \*\.parquet needs pyarrow \(the parquet extra\): "
                                                r"pip install 'npc-kg\[parquet\]'"):
        require("pyarrow", "parquet", "--out *.parquet")
    assert require("json", "none", "never").dumps([]) == "[]"


def test_parquet_without_pyarrow(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    out = tmp_path / "rows.parquet"
    assert main(["assess-cohort", str(EXAMPLE), "--out", str(out)]) == ExternalToolError.exit_code
    err = capsys.readouterr().err
    assert "pip install 'npc-kg[parquet]'" in err and "internal error" not in err
    assert list(tmp_path.iterdir()) == [], "no partial output"


def test_fhir_selectors_without_fhirpathpy(monkeypatch: pytest.MonkeyPatch) -> None:
    from npc_kg.fhir.fhirpath import compile_selector

    monkeypatch.setitem(sys.modules, "fhirpathpy", None)
    with pytest.raises(ExternalToolError, match=r"FHIR input needs fhirpathpy \(the fhir extra\)"):
        compile_selector("Condition.code")


@pytest.mark.parametrize("module", ["fhirpathpy", "orjson"])
def test_fhir_input_without_the_fhir_extra(module: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from npc_kg.assessment.assess import fhir_mapping

    monkeypatch.setitem(sys.modules, module, None)
    with pytest.raises(ExternalToolError, match=rf"FHIR input needs {module} \(the fhir extra\)"):
        fhir_mapping(None)
