"""Read a YAML data file (a mapping, a pack's fragment) with errors that name the file and line, never a value."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from npc_kg.errors import InputError

__all__ = ["read_yaml"]


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
