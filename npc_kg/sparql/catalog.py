"""Named queries: the ``queries/*.rq`` files, their headers, and resolving a name, path or SPARQL text."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from npc_kg.errors import InputError, QueryError
from npc_kg.resources import data_path
from npc_kg.sparql.params import ParamSpec, parse_params_header
from npc_kg.suggest import unknown

__all__ = ["NamedQuery", "check_named", "list_queries", "named_query", "resolve", "read_query_file"]

_HEADER = re.compile(r"^#\s*(title|description|params)\s*:\s?(.*)$", re.IGNORECASE)
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


@dataclass(frozen=True)
class NamedQuery:
    """A SPARQL query with its header: title, description and declared parameters."""

    name: str
    text: str
    title: str = ""
    description: str = ""
    params: tuple[ParamSpec, ...] = field(default_factory=tuple)
    path: Path | None = None
    declared: bool = True
    """False for ad-hoc SPARQL text, which declares no header and so accepts no parameters."""

    def param(self, name: str) -> ParamSpec | None:
        """Return the declared parameter ``name`` or None."""
        return next((spec for spec in self.params if spec.name == name), None)


def _parse(text: str, name: str, where: str, path: Path | None) -> NamedQuery:
    fields: dict[str, list[str]] = {"title": [], "description": [], "params": []}
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped:
            continue
        if not stripped.startswith("#"):
            break
        match = _HEADER.match(stripped)
        if match:
            fields[match.group(1).lower()].append(match.group(2).strip())
    declared = bool(fields["params"])
    return NamedQuery(
        name=name,
        text=text,
        title=" ".join(fields["title"]),
        description=" ".join(fields["description"]),
        params=tuple(parse_params_header(fields["params"], where)),
        path=path,
        declared=declared,
    )


def read_query_file(path: str | Path) -> NamedQuery:
    """Read a ``.rq`` file and its header."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError("no such query file", path=str(file)) from None
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(f"cannot read query file: {error}", path=str(file)) from None
    return _parse(text, file.stem, str(file), file)


def _queries_dir() -> Path:
    return data_path("queries")


def list_queries() -> list[NamedQuery]:
    """Return the named queries (``queries/*.rq``, not the QC folder), sorted by name."""
    return [read_query_file(path) for path in sorted(_queries_dir().glob("*.rq"))]


def named_query(name: str) -> NamedQuery:
    """Return the named query ``name`` (file ``queries/<name>.rq``) or raise QueryError."""
    path = _queries_dir() / f"{name}.rq"
    if not _NAME.match(name) or not path.is_file():
        raise QueryError(unknown("named query", name, [query.name for query in list_queries()]))
    return read_query_file(path)


def resolve(name_or_sparql: str | Path) -> NamedQuery:
    """Resolve a named query, a path to a ``.rq`` file, or SPARQL text."""
    if isinstance(name_or_sparql, Path):
        return read_query_file(name_or_sparql)
    if not isinstance(name_or_sparql, str):
        raise QueryError(f"a query is a name, a .rq file or SPARQL text, not {type(name_or_sparql).__name__}")
    text = name_or_sparql.strip()
    if not text:
        raise QueryError("empty query")
    if _NAME.match(text) and not text.lower().endswith(".rq"):
        return named_query(text)
    if "\n" not in text and text.lower().endswith(".rq"):
        return read_query_file(text)
    return _parse(name_or_sparql, "<text>", "<query text>", None)


def check_named(names: list[str]) -> None:
    """Check the package's named queries ``names`` once (:func:`npc_kg.sparql.safety.parse`), the verdicts
    kept in the user cache (keyed by the query files), so a fresh process runs them without parsing."""
    from npc_kg.kg.load import cached
    from npc_kg.sparql.safety import parse, remember, verdict

    queries = [named_query(name) for name in names]

    def build() -> list[object]:
        return [verdict(parse(query.text)) for query in queries]

    for parsed in cached("query-checks", [q.path for q in queries if q.path is not None], build):
        remember(parsed)  # type: ignore[arg-type]
