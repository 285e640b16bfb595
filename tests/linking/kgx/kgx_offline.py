"""Run the ``kgx`` command line offline, against the Biolink model files the biolink-model package installs.

kgx 2.7.0 fetches two things from GitHub when it starts: the Biolink model YAML and predicate
mapping (bmt's ``Toolkit()`` defaults) and its JSON-LD contexts (``biolink``, ``monarch_context``,
``obo_context`` in kgx's ``config.yml``). This launcher, run with the Python of the kgx virtual
environment (``.venv/tools`` of the repository, made by ``.ci/run``), points all of them at local files first:

- the Biolink schema: ``biolink_model/schema/biolink_model.yaml`` of the installed biolink-model;
- bmt's predicate mapping: an empty mapping (kgx's validate and transform do not use it);
- the three JSON-LD contexts: the Biolink model's own prefix map,
  ``biolink_model/prefixmaps/biolink_model_prefix_map.json``, as an ``@context``;

and refuses every socket connection, so a run that would reach the network fails instead.

Usage: ``.venv/tools/bin/python kgx_offline.py validate -i tsv nodes.tsv edges.tsv`` (the
arguments are kgx's own).
"""

from __future__ import annotations

import atexit
import json
import shutil
import socket
import sys
import tempfile
from pathlib import Path


def _refuse(*_args: object, **_kwargs: object) -> None:
    raise OSError("kgx_offline: network access refused")


socket.socket.connect = _refuse  # type: ignore[method-assign,assignment]
socket.create_connection = _refuse  # type: ignore[assignment]

import biolink_model  # noqa: E402
import bmt.toolkit  # noqa: E402

BIOLINK = Path(next(iter(biolink_model.__path__))).resolve()
SCHEMA = BIOLINK / "schema" / "biolink_model.yaml"
PREFIX_MAP = BIOLINK / "prefixmaps" / "biolink_model_prefix_map.json"


class _PredicateMap:
    text = "predicate mappings: []\n"


def _local_get(url: str, *_args: object, **_kwargs: object) -> _PredicateMap:
    if url != "local:predicate-mappings":
        raise OSError(f"kgx_offline: refused to fetch {url}")
    return _PredicateMap()


bmt.toolkit.requests.get = _local_get  # type: ignore[attr-defined,assignment]
bmt.toolkit.Toolkit.__init__.__defaults__ = (str(SCHEMA), "local:predicate-mappings")  # type: ignore[misc]

import kgx.config  # noqa: E402

_folder = tempfile.mkdtemp(prefix="kgx-offline-")
atexit.register(shutil.rmtree, _folder, ignore_errors=True)  # never left behind in /tmp
_context = Path(_folder) / "biolink-context.jsonld"
_context.write_text(json.dumps({"@context": json.loads(PREFIX_MAP.read_text(encoding="utf-8"))}), encoding="utf-8")
kgx.config.get_config()["jsonld-context"] = {name: str(_context) for name in ("biolink", "monarch_context", "obo_context")}

from kgx.cli import cli  # noqa: E402

if __name__ == "__main__":
    sys.argv[0] = "kgx"
    cli()
