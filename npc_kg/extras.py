"""Optional dependencies (the package's extras): import one, or say which extra installs it."""

from __future__ import annotations

import importlib
from types import ModuleType

from npc_kg.errors import ExternalToolError

__all__ = ["require", "require_fhir"]


def require(module: str, extra: str, what: str) -> ModuleType:
    """Import ``module``; if it is missing, raise :class:`ExternalToolError` naming ``extra``, which installs it.

    ``what`` names the feature that needs it ("HTML reports", "--out *.parquet").
    """
    try:
        return importlib.import_module(module)
    except ImportError:
        package = module.split(".")[0]
        raise ExternalToolError(f"{what} needs {package} (the {extra} extra): pip install 'npc-kg[{extra}]'") from None


def require_fhir() -> None:
    """The fhir extra (fhirpathpy, orjson), which FHIR input needs."""
    for module in ("orjson", "fhirpathpy"):
        require(module, "fhir", "FHIR input")
