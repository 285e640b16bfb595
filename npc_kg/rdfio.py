"""Safe RDF parsing: explicit formats, no network, no entity expansion, errors with file and line.

Every RDF input that npc-kg reads goes through :func:`parse_file` or :func:`parse_text`:

- ``Graph.parse`` is always given ``data=`` and an explicit ``format``, never a location, so a
  string cannot make rdflib open a file or fetch a URL;
- RDF/XML with ``<!DOCTYPE`` or ``<!ENTITY`` is refused (entity-expansion attacks);
- JSON-LD whose ``@context`` is a remote reference is refused, except the package's own
  published context, which is substituted from the local copy;
- rdflib's warnings about ill-typed literals, which print the literal's value, are silenced so
  that patient values never reach a log. Ill-typed literals are reported by the SHACL shapes;
- literals keep the lexical form they are written with (:func:`literals_as_written`):
  ``"03"^^xsd:integer`` and ``"3"^^xsd:integer`` stay two RDF terms, as SHACL sees them, whatever
  the process-wide ``rdflib.NORMALIZE_LITERALS`` is (some libraries change it on import).
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import rdflib
from rdflib import Dataset, Graph

from npc_kg.errors import InputError
from npc_kg.namespace import CONTEXT_IRI
from npc_kg.resources import data_path

__all__ = ["FORMATS_BY_SUFFIX", "LOCAL_CONTEXTS", "guess_format", "literals_as_written", "parse_file", "parse_text"]

FORMATS_BY_SUFFIX = {
    ".ttl": "turtle",
    ".turtle": "turtle",
    ".nt": "nt",
    ".ntriples": "nt",
    ".nq": "nquads",
    ".trig": "trig",
    ".jsonld": "json-ld",
    ".json": "json-ld",
    ".rdf": "xml",
    ".owl": "xml",
    ".xml": "xml",
}

LOCAL_CONTEXTS = {
    CONTEXT_IRI: ("ontology", "context.jsonld"),
}
"""Remote JSON-LD contexts that npc-kg resolves from a local copy instead of the network."""

_AS_WRITTEN = threading.Lock()
_as_written_depth = 0
_as_written_saved = True


@contextmanager
def literals_as_written() -> Iterator[None]:
    """Within the block, rdflib keeps each literal's lexical form (``rdflib.NORMALIZE_LITERALS`` off).

    Every parse of data and every SHACL evaluation of npc-kg runs inside it, so the answers do not
    depend on the process-wide flag, which pySHACL flips while it validates and some libraries
    (nanopub) turn off on import. Re-entrant and thread-safe: the flag is restored when the last
    block in the process ends.
    """
    global _as_written_depth, _as_written_saved
    with _AS_WRITTEN:
        if _as_written_depth == 0:
            _as_written_saved = rdflib.NORMALIZE_LITERALS
        _as_written_depth += 1
        rdflib.NORMALIZE_LITERALS = False
    try:
        yield
    finally:
        with _AS_WRITTEN:
            _as_written_depth -= 1
            if _as_written_depth == 0:
                rdflib.NORMALIZE_LITERALS = _as_written_saved
            else:
                rdflib.NORMALIZE_LITERALS = False


_LINE_PATTERNS = (
    re.compile(r"at line (\d+)"),
    re.compile(r"line[: ]+(\d+)", re.IGNORECASE),
)


class _DropLiteralValues(logging.Filter):
    """Drop rdflib's ill-typed-literal warnings, which include the literal's lexical value."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "Failed to convert Literal" not in record.getMessage()


logging.getLogger("rdflib.term").addFilter(_DropLiteralValues())


def guess_format(path: str | Path) -> str:
    """Return the rdflib format name for a file name, or raise :class:`InputError`."""
    suffix = Path(path).suffix.lower()
    try:
        return FORMATS_BY_SUFFIX[suffix]
    except KeyError:
        known = ", ".join(sorted(FORMATS_BY_SUFFIX))
        raise InputError(f"unknown RDF file extension {suffix!r} (known: {known})", path=str(path)) from None


def _line_of(error: BaseException) -> int | None:
    text = str(error)
    for pattern in _LINE_PATTERNS:
        match = pattern.search(text)
        if match:
            return int(match.group(1))
    lines = getattr(error, "lines", None)
    return lines + 1 if isinstance(lines, int) else None


_INPUT_EXCERPTS = (
    re.compile(r"\s*at \^ in:.*$"),  # Turtle/N3: rdflib appends an excerpt of the input
    re.compile(r"(Invalid line)\b.*$"),  # N-Triples/N-Quads: rdflib appends the offending line
    re.compile(r"\s*at line \d+ of <[^>]*>:?"),  # the line number is reported separately
)


def _first_line(error: BaseException) -> str:
    """Return the parser's message without the excerpt of the input it may quote.

    Parsers quote the offending input, which for patient files would put patient values on
    stderr; the file name and line number locate the problem instead.
    """
    text = " ".join(str(error).split())
    for pattern in _INPUT_EXCERPTS:
        text = pattern.sub(lambda m: m.group(1) if m.groups() else "", text)
    return text.strip(" :")[:300] or type(error).__name__


def _line_by_line(text: str, fmt: str) -> int | None:
    """Find the first line of an N-Triples/N-Quads document that does not parse on its own."""
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            (Dataset() if fmt == "nquads" else Graph()).parse(data=line, format=fmt)
        except Exception:
            return number
    return None


def _check_xml(text: str, where: str) -> None:
    head = text[:65536].upper()
    if "<!DOCTYPE" in head or "<!ENTITY" in head:
        raise InputError("RDF/XML with <!DOCTYPE> or <!ENTITY> is refused (entity expansion)", path=where)


def _resolve_contexts(node: Any, where: str) -> Any:
    """Replace known remote @context references with their local copy; refuse any other."""
    if isinstance(node, list):
        return [_resolve_contexts(item, where) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "@context":
            out[key] = _local_context(value, where)
        else:
            out[key] = _resolve_contexts(value, where)
    return out


def _local_context(value: Any, where: str) -> Any:
    if isinstance(value, list):
        return [_local_context(item, where) for item in value]
    if isinstance(value, str):
        if value in LOCAL_CONTEXTS:
            local = data_path(*LOCAL_CONTEXTS[value])
            return json.loads(local.read_text(encoding="utf-8"))["@context"]
        raise InputError(f"remote JSON-LD @context {value!r} is refused; embed the context", path=where)
    if isinstance(value, dict):
        return {k: _resolve_contexts(v, where) if k != "@import" else _local_context(v, where) for k, v in value.items()}
    return value


def parse_text(text: str, fmt: str, *, graph: Graph | None = None, where: str = "<string>") -> Graph:
    """Parse RDF ``text`` of format ``fmt`` into ``graph`` (a new Graph by default)."""
    target = graph if graph is not None else (Dataset() if fmt in ("nquads", "trig") else Graph())
    if fmt == "xml":
        _check_xml(text, where)
    if fmt == "json-ld":
        try:
            document = json.loads(text)
        except json.JSONDecodeError as error:
            raise InputError(f"invalid JSON: {error.msg}", path=where, line=error.lineno) from None
        text = json.dumps(_resolve_contexts(document, where))
    try:
        with literals_as_written():
            target.parse(data=text, format=fmt)
    except InputError:
        raise
    except Exception as error:  # rdflib raises many unrelated types for syntax errors
        line = _line_of(error)
        if line is None and fmt in ("nt", "nquads"):
            line = _line_by_line(text, fmt)
        raise InputError(f"cannot parse {fmt}: {_first_line(error)}", path=where, line=line) from None
    return target


def parse_file(path: str | Path, fmt: str | None = None, *, graph: Graph | None = None) -> Graph:
    """Parse the RDF file at ``path``; the format is guessed from the extension if not given."""
    where = str(path)
    fmt = fmt or guess_format(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError("no such file", path=where) from None
    except IsADirectoryError:
        raise InputError("is a directory, not an RDF file", path=where) from None
    except UnicodeDecodeError as error:
        raise InputError(f"not UTF-8 text ({error.reason})", path=where) from None
    except OSError as error:
        raise InputError(error.strerror or str(error), path=where) from None
    return parse_text(text, fmt, graph=graph, where=where)
