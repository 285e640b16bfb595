"""Locate the data folders (ontology, shapes, packs, queries, mappings, examples) and the source texts.

In a wheel the folders ship inside the package as ``npc_kg/_data/<folder>``; in a source
checkout (editable install, tests) they are the top-level folders of the repository.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["DATA_FOLDERS", "data_path", "data_root", "knowledge_files", "seeds_dir"]

DATA_FOLDERS = ("ontology", "shapes", "packs", "queries", "mappings", "examples", "docs")

_PACKAGE_DIR = Path(__file__).resolve().parent


def data_root() -> Path:
    """Return the folder that holds ``ontology/``, ``shapes/``, ``queries/`` and ``mappings/``."""
    bundled = _PACKAGE_DIR / "_data"
    if (bundled / "ontology").is_dir():
        return bundled
    return _PACKAGE_DIR.parent


def data_path(*parts: str) -> Path:
    """Return the path of a file or folder under the data root, e.g. ``data_path("shapes", "kb.ttl")``."""
    return data_root().joinpath(*parts)


_WRITTEN_BY_HAND = (("ontology", "*.ttl"), ("shapes", "**/*.ttl"), ("queries", "**/*.rq"), ("mappings", "*.yaml"),
                    ("mappings", "*.json"), ("packs", "**/*"), ("examples", "**/*"))


def knowledge_files() -> list[Path]:
    """The package's own files that no output may replace: the ontology, shapes, queries, mapping
    files, packs and examples (generated files, such as the MONDO import or the SSSOM export, are
    written by their own commands)."""
    root = data_root()
    return sorted({path for folder, pattern in _WRITTEN_BY_HAND for path in (root / folder).glob(pattern) if path.is_file()})


def seeds_dir() -> Path:
    """Return the folder of source texts that quotes are checked against.

    Set ``NPC_KG_SEEDS`` to override; the default is ``../shared/seeds/`` next to the
    repository (or, for an installed package, next to the current directory).
    """
    configured = os.environ.get("NPC_KG_SEEDS")
    if configured:
        return Path(configured)
    for base in (_PACKAGE_DIR.parent, Path.cwd()):
        candidate = base.parent / "shared" / "seeds"
        if candidate.is_dir():
            return candidate
    return _PACKAGE_DIR.parent.parent / "shared" / "seeds"

