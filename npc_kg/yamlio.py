"""YAML data files (mappings, a pack's fragments): read with errors that name the file and line, never a
value, and a site file's keyed entries merged into the shipped ones."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from npc_kg.errors import InputError

__all__ = ["merge_keyed", "read_yaml", "yaml_paths"]


def yaml_paths(value: Any, what: str) -> list[Path]:
    """The files of ``value``, a file (str or path) or several; an :class:`InputError` naming ``what``
    (the argument, "mapping=") for anything else."""
    if isinstance(value, str | os.PathLike):
        return [Path(value)]
    if isinstance(value, Iterable) and not isinstance(value, Mapping | bytes):
        items = list(value)
        if all(isinstance(item, str | os.PathLike) for item in items):
            return [Path(item) for item in items]
    raise InputError(f"{what} takes a YAML file or a list of them (str or pathlib.Path), not {type(value).__name__}")


def read_yaml(path: str | Path, what: str, error: type[InputError] = InputError) -> Any:
    """The parsed YAML document of ``path`` (``yaml.safe_load``: no Python objects).

    ``what`` names the file in messages ("FHIR mapping file"); a missing, unreadable or malformed
    file raises ``error`` (an :class:`~npc_kg.errors.InputError` class) with the file and, for a
    syntax error, its line.
    """
    import yaml  # only when a mapping is read: keeps `import npc_kg` light

    where = str(path)
    try:
        return yaml.safe_load(Path(where).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise error(f"no such {what}", path=where) from None
    except OSError as failure:
        raise error(f"cannot read the {what}: {failure.strerror or type(failure).__name__}", path=where) from None
    except UnicodeDecodeError:
        raise error(f"the {what} is not UTF-8", path=where) from None
    except yaml.YAMLError as failure:
        mark = getattr(failure, "problem_mark", None)
        raise error(f"invalid YAML in the {what}", path=where, line=mark.line + 1 if mark else None) from None


def merge_keyed(base: Iterable[Mapping[str, Any]], extra: Any, key: str, *, where: str, section: str,
                error: type[InputError] = InputError, fieldwise: bool = False,
                stamp: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
    """A site file's ``section`` (a list of entries named by ``key``) merged into the shipped entries.

    The one rule of every site mapping: a new name adds the entry, ``remove: true`` drops the
    shipped one, a known name replaces it (``fieldwise``: its fields are merged into the shipped
    entry's instead). ``stamp`` is added to every entry the site file gives (e.g. where it came from).
    """
    merged = {str(entry.get(key)): dict(entry) for entry in base}
    if extra is None:
        return list(merged.values())
    if not isinstance(extra, list):
        raise error(f"{section} must be a list", path=where)
    for entry in extra:
        if not isinstance(entry, dict) or entry.get(key) in (None, ""):
            raise error(f"every entry of {section} needs a {key!r}", path=where)
        name = str(entry[key])
        if entry.get("remove"):
            merged.pop(name, None)
            continue
        own = {**{k: v for k, v in entry.items() if k != "remove"}, **(stamp or {})}
        merged[name] = {**merged.get(name, {}), **own} if fieldwise else own
    return list(merged.values())
