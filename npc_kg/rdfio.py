"""Safe RDF parsing: explicit formats, no network, no entity expansion, errors with file and line.

Every RDF input that npc-kg reads goes through :func:`parse_file` or :func:`parse_text`:

- ``Graph.parse`` is always given ``data=`` and an explicit ``format``, never a location, so a
  string cannot make rdflib open a file or fetch a URL;
- RDF/XML with ``<!DOCTYPE`` or ``<!ENTITY`` anywhere is refused (entity-expansion attacks): the
  whole text is scanned, and rdflib parses RDF/XML on ``defusedxml``'s expat reader;
- Turtle, N-Triples, N-Quads, TriG and RDF/XML are first parsed by pyoxigraph, which holds to the
  grammars (valid, absolute IRIs; no literal subjects; escapes that encode characters) and gives
  the line and column of an error; every parsed term is then checked (:func:`check_terms`), so
  JSON-LD and graphs built in Python meet the same rules. Error messages are npc-kg's own words
  and never quote the input (:func:`withhold_input`);
- limits on input size and JSON nesting (:mod:`npc_kg.limits`);
- JSON-LD whose ``@context`` is a remote reference is refused, except the package's own
  published context, which is substituted from the local copy;
- rdflib's warnings that quote input (ill-typed literals, IRIs that "do not look like a valid
  URI"; its UserWarnings about weird booleans and numbers) are silenced so that patient values
  never reach a log. Ill-typed literals are reported by the SHACL shapes, bad IRIs by
  :func:`check_terms`;
- literals keep the lexical form they are written with (:func:`literals_as_written`):
  ``"03"^^xsd:integer`` and ``"3"^^xsd:integer`` stay two RDF terms, as SHACL sees them, whatever
  the process-wide ``rdflib.NORMALIZE_LITERALS`` is (some libraries change it on import).
"""

from __future__ import annotations

import json
import logging
import math
import re
import threading
import warnings
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from functools import lru_cache
from pathlib import Path
from typing import Any
from xml.sax import handler

import rdflib
import rdflib.parser
import rdflib.plugin
from rdflib import BNode, Dataset, Graph, Literal, URIRef
from rdflib.namespace import XMLNS
from rdflib.plugins.parsers.rdfxml import RDFXMLParser

from npc_kg.errors import InputError, LimitError
from npc_kg.namespace import CONTEXT_IRI, NO_BASE_IRI
from npc_kg.resources import data_path
from npc_kg.suggest import unknown

__all__ = ["FORMATS_BY_SUFFIX", "LOCAL_CONTEXTS", "check_terms", "guess_format", "literals_as_written", "parse_file",
           "parse_text", "withhold_input"]

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

class _WithholdInput(logging.Filter):
    """Drop the rdflib warnings that quote the input: ill-typed literals (their lexical value) and
    IRIs that "do not look like a valid URI" (the whole IRI). :func:`check_terms` and the SHACL
    shapes report both without the value."""

    _QUOTING = ("Failed to convert Literal", "does not look like a valid URI")

    def filter(self, record: logging.LogRecord) -> bool:
        message = str(record.msg)
        return not any(marker in message for marker in self._QUOTING)


logging.getLogger("rdflib.term").addFilter(_WithholdInput())
# rdflib's own UserWarnings quote values ("Parsing weird boolean, 'x' ...", "Serializing weird numerical ...").
warnings.filterwarnings("ignore", category=UserWarning, module=r"rdflib(\.|$)")


def guess_format(path: str | Path) -> str:
    """Return the rdflib format name for a file name, or raise :class:`InputError`."""
    suffix = Path(path).suffix.lower()
    try:
        return FORMATS_BY_SUFFIX[suffix]
    except KeyError:
        raise InputError(unknown("RDF file extension", suffix, FORMATS_BY_SUFFIX), path=str(path)) from None


def _line_of(error: BaseException) -> int | None:
    lineno = getattr(error, "lineno", None)  # pyoxigraph's SyntaxError, SAX
    if isinstance(lineno, int) and lineno > 0:
        return lineno
    get_line = getattr(error, "getLineNumber", None)  # xml.sax.SAXParseException
    if callable(get_line):
        try:
            number = get_line()
        except Exception:  # a locator that lost its parser
            number = None
        if isinstance(number, int) and number > 0:
            return number
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
    re.compile(r"^Parser error (at line \d+ |between line \d+ )?(between columns \d+ and \d+|column \d+)?"
               r"(\s*and line \d+ column \d+)?:?\s*"),  # pyoxigraph: the position is reported separately
    re.compile(r"\s*\([^()]*, line \d+\)$|\s*\(line \d+\)$"),  # pyoxigraph: "(file, line N)"
)
_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"|<[^<>]*>|`[^`]*`|«[^»]*»")
_TOKEN_WITH_IRI_CHARACTERS = re.compile(r"\S*[:/#@\\]\S*")


def withhold_input(text: str) -> str:
    """A parser message without any input it quotes: quoted spans, bracketed IRIs and IRI-like tokens
    become ``…``. Patient files must never reach stderr through an error message."""
    text = " ".join(str(text).split())
    for pattern in _INPUT_EXCERPTS:
        text = pattern.sub(lambda m: m.group(1) if m.re.groups == 1 and m.group(1) else "", text)
    text = _QUOTED.sub("…", text)
    text = _TOKEN_WITH_IRI_CHARACTERS.sub(lambda m: m.group(0) if m.group(0).rstrip(":,;.)") in _SAFE_TOKENS else "…", text)
    return text.strip(" :")[:300]


_SAFE_TOKENS = {"\\u", "\\U", "@prefix", "@base", "@context", "@id", "@type", "@import", "rdf:about", "rdf:resource",
                "rdf:ID", "rdf:nodeID", "rdf:datatype", "xml:lang", "<!DOCTYPE>", "<!ENTITY>"}


def _first_line(error: BaseException) -> str:
    """Return the parser's message without the excerpt of the input it may quote (see :func:`withhold_input`)."""
    return withhold_input(str(error)) or type(error).__name__


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


_DTD = re.compile(r"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)


def _check_xml(text: str, where: str) -> None:
    """Refuse a DOCTYPE or ENTITY declaration anywhere in the file, and text that XML 1.0 cannot hold.

    The whole text is scanned (a long comment cannot push a declaration out of sight), and the
    parser itself is ``defusedxml``'s, which refuses a DTD wherever expat meets one.
    """
    match = _DTD.search(text)
    if match:
        line = text.count("\n", 0, match.start()) + 1
        raise InputError("RDF/XML with <!DOCTYPE> or <!ENTITY> is refused (entity expansion); remove the declaration",
                         path=where, line=line)
    if "\x00" in text:
        line = text.count("\n", 0, text.index("\x00")) + 1
        raise InputError("RDF/XML with a NUL character is refused (not XML 1.0; another encoding, such as UTF-16, "
                         "is read as UTF-8: convert the file to UTF-8)", path=where, line=line)


def _json_depth_ok(node: Any, limit: int) -> bool:
    """True if ``node`` nests at most ``limit`` levels of arrays and objects (iterative: no recursion)."""
    stack = [(node, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return False
        stack.extend((child, depth + 1) for child in children)
    return True


def _read_json(text: str, where: str) -> Any:
    from npc_kg.limits import current, how_to_raise

    limit = current().max_json_depth
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        # the message of an unescaped control character ends in " at": the place is the line and column
        raise InputError(f"invalid JSON: {error.msg.removesuffix(' at')}", path=where, line=error.lineno,
                         column=error.colno) from None
    except RecursionError:
        raise LimitError(f"JSON nested too deeply (limit {limit} levels; {how_to_raise('max_json_depth')})",
                         path=where) from None
    except ValueError:  # Python's limit on the digits of an integer
        match = re.search(r"\d{4000,}", text)
        line = text.count("\n", 0, match.start()) + 1 if match else None
        raise InputError("invalid JSON: a number has too many digits", path=where, line=line) from None
    if not _json_depth_ok(document, limit):
        raise LimitError(f"JSON nested too deeply (limit {limit} levels; {how_to_raise('max_json_depth')})",
                         path=where)
    return document


def _nothing_for_json_ld(document: Any) -> bool:
    """True for a JSON object of which a JSON-LD processor reads nothing: no ``@`` key, no IRI key."""
    return isinstance(document, dict) and not any(
        key.startswith("@") or _ABSOLUTE_KEY.match(key) for key in document)


_ABSOLUTE_KEY = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


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
        raise InputError("a remote JSON-LD @context is refused (nothing is fetched while patient data is read); "
                         "embed the context in the document", path=where)
    if isinstance(value, dict):
        return {k: _resolve_contexts(v, where) if k != "@import" else _local_context(v, where) for k, v in value.items()}
    return value


_OXIGRAPH_FORMATS = {"turtle": "TURTLE", "nt": "N_TRIPLES", "nquads": "N_QUADS", "trig": "TRIG", "xml": "RDF_XML"}

_PROBLEMS = (
    (re.compile(r"escape sequence|unicode character|code point.*surrogate", re.IGNORECASE),
     "an escape sequence (\\u or \\U) does not encode a valid character"),
    (re.compile(r"scheme|relative IRI|base IRI", re.IGNORECASE),
     "an IRI is relative or has no scheme; write the full IRI (or declare @base / xml:base)"),
    (re.compile(r"IRI", re.IGNORECASE),
     "an IRI is not valid (spaces, braces, quotes, '<', '>', '^', '`', '|' and '\\' are not allowed in IRIs)"),
    (re.compile(r"not a valid subject|subject of a triple must", re.IGNORECASE),
     "a subject must be an IRI or a blank node, not a literal"),
    (re.compile(r"predicate", re.IGNORECASE), "a predicate must be an IRI"),
    (re.compile(r"language", re.IGNORECASE), "a language tag is not valid"),
    (re.compile(r"prefix", re.IGNORECASE), "a prefix is used but not declared"),
)


def _problem(error: BaseException) -> str:
    """What is wrong, in npc-kg's words (never the parser's, which may quote the input)."""
    text = str(error)
    for pattern, wording in _PROBLEMS:
        if pattern.search(text):
            return wording
    return withhold_input(text) or "syntax error"


def _column_of(error: BaseException) -> int | None:
    offset = getattr(error, "offset", None)
    return offset if isinstance(offset, int) and offset > 0 else None


def _strict_check(data: bytes, fmt: str, where: str) -> None:
    """Parse with pyoxigraph, which holds to the RDF grammars: IRIs valid and absolute, no literal
    subjects, escapes that encode characters. Its error gives the line and column."""
    import pyoxigraph as ox

    try:
        for _quad in ox.parse(data, format=getattr(ox.RdfFormat, _OXIGRAPH_FORMATS[fmt])):
            pass
    except SyntaxError as error:
        line = _line_of(error)
        raise InputError(f"cannot parse {fmt}: {_problem(error)}", path=where, line=line,
                         column=_column_of(error) if line is not None else None) from None
    except (ValueError, OSError) as error:
        raise InputError(f"cannot parse {fmt}: {_problem(error)}", path=where) from None


def _surrogate_line(text: str) -> int | None:
    match = re.search("[\ud800-\udfff]", text)
    return text.count("\n", 0, match.start()) + 1 if match else None


def parse_text(text: str, fmt: str, *, graph: Graph | None = None, where: str = "<string>", limited: bool = True) -> Graph:
    """Parse RDF ``text`` of format ``fmt`` into ``graph`` (a new Graph by default).

    Raises :class:`InputError` (naming ``where``, the line and what is wrong, never the input) for
    anything that is not well-formed RDF, and :class:`LimitError` for input over a limit
    (:mod:`npc_kg.limits`; ``limited=False`` for knowledge files). Relative IRIs are refused: they
    would resolve against the working folder, so the answer would depend on where npc-kg runs.
    """
    from npc_kg.limits import current, how_to_raise

    target = graph if graph is not None else (Dataset() if fmt in ("nquads", "trig") else Graph())
    limit = current().max_input_bytes
    if limited and len(text) > limit:
        raise LimitError(f"input larger than {limit} bytes ({how_to_raise('max_input_bytes')})", path=where)
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError:
        raise InputError("the text holds a lone surrogate (\\uD800-\\uDFFF), which is not a character",
                         path=where, line=_surrogate_line(text)) from None
    if fmt == "xml":
        _check_xml(text, where)
    elif fmt in _OXIGRAPH_FORMATS:
        _strict_check(data, fmt, where)
    if fmt == "json-ld":
        document = _read_json(text, where)
        if isinstance(document, dict) and "resourceType" in document and "@context" not in document:
            raise InputError("FHIR JSON, not RDF: this reads RDF; npc-kg assess, assess-cohort and serve (and load, "
                             "for a patient file) read FHIR", path=where)
        if _nothing_for_json_ld(document):
            raise InputError("neither JSON-LD (no @context, no @-keyword, no IRI key) nor FHIR (no resourceType): "
                             "give JSON-LD with an @context (docs/patient-model.md) or FHIR R4 JSON", path=where)
        text = json.dumps(_resolve_contexts(document, where))
    before = set(target) if graph is not None and len(graph) else None
    try:
        with literals_as_written():
            # a relative IRI resolves under NO_BASE_IRI, and check_terms refuses it
            target.parse(data=text, format="npc-kg-xml" if fmt == "xml" else fmt, publicID=NO_BASE_IRI)
    except InputError:
        raise
    except RecursionError:
        raise InputError(f"cannot parse {fmt}: nested too deeply", path=where) from None
    except Exception as error:  # rdflib raises many unrelated types for syntax errors
        line = _line_of(error)
        if line is None and fmt in ("nt", "nquads"):
            line = _line_by_line(text, fmt)
        raise InputError(f"cannot parse {fmt}: {_problem(error)}", path=where, line=line) from None
    if fmt == "xml":
        _strict_check(data, fmt, where)  # after the guarded parse: pyoxigraph would expand entities
    check_terms(target if before is None else (t for t in target if t not in before), where)
    return target


def parse_file(path: str | Path, fmt: str | None = None, *, graph: Graph | None = None, limited: bool = True) -> Graph:
    """Parse the RDF file at ``path``; the format is guessed from the extension if not given.

    ``limited``: the input-size limit applies (patient data, a user's data files); the package's
    and the packs' knowledge files are read with ``limited=False``.
    """
    from npc_kg.limits import current, how_to_raise

    where = str(path)
    if Path(path).is_dir():  # said before the extension: a folder has none to guess from
        raise InputError("is a directory, not an RDF file", path=where)
    if not fmt and not Path(path).exists():
        raise InputError("no such file", path=where)
    fmt = fmt or guess_format(path)
    limit = current().max_input_bytes if limited else math.inf
    try:
        size = Path(path).stat().st_size
        if size > limit:
            raise LimitError(f"file larger than {limit} bytes ({how_to_raise('max_input_bytes')})", path=where)
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        raise InputError("no such file", path=where) from None
    except IsADirectoryError:
        raise InputError("is a directory, not an RDF file", path=where) from None
    except OSError as error:
        raise InputError(error.strerror or str(error), path=where) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw.count(b"\n", 0, error.start) + 1
        column = error.start - (raw.rfind(b"\n", 0, error.start) + 1) + 1
        raise InputError(f"not UTF-8 text (byte {error.start + 1}, column {column}: {error.reason}); "
                         "convert the file to UTF-8", path=where, line=line) from None
    if text.startswith("\ufeff"):
        text = text[1:]  # a UTF-8 byte order mark
    return parse_text(text, fmt, graph=graph, where=where, limited=limited)


# ---------------------------------------------------------------------------------------------
# Terms: what rdflib lets through and later steps (pyoxigraph, serialisers) cannot hold
# ---------------------------------------------------------------------------------------------


@lru_cache(maxsize=65536)
def _iri_problem(iri: str) -> str | None:
    if iri.startswith(NO_BASE_IRI):
        return "a relative IRI (write the full IRI, or declare @base)"
    try:
        iri.encode("utf-8")
        _ox_named_node(iri)
    except (ValueError, UnicodeEncodeError):
        return "an IRI that is not valid (spaces, braces, quotes or no scheme)"
    return None


def _ox_named_node(iri: str) -> Any:
    import pyoxigraph as ox

    return ox.NamedNode(iri)


def _literal_problem(literal: Literal) -> str | None:
    try:
        str(literal).encode("utf-8")
    except UnicodeEncodeError:
        return "a literal holding a lone surrogate (\\uD800-\\uDFFF)"
    if literal.language is not None and not _LANGUAGE.fullmatch(literal.language):
        return "a literal with an invalid language tag"
    if literal.datatype is not None and _iri_problem(str(literal.datatype)):
        return "a literal whose datatype IRI is not valid"
    return None


_LANGUAGE = re.compile(r"[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*")


def _position(predicate: Any, role: str) -> str:
    from npc_kg.namespace import PREFIXES

    text = str(predicate)
    if isinstance(predicate, URIRef) and not _iri_problem(text):
        for prefix, iri in sorted(PREFIXES.items(), key=lambda item: -len(item[1])):
            if text.startswith(iri) and len(text) > len(iri):
                return f"the {role} of a {prefix}:{text[len(iri):]} triple"
    return f"the {role} of a triple"


def check_terms(triples: Iterable[Any], where: str = "<graph>") -> None:
    """Raise :class:`InputError` if a triple holds a term RDF does not allow or pyoxigraph cannot hold:
    a literal or invalid term as subject, a predicate that is not an IRI, an invalid or relative IRI,
    a lone surrogate, a bad language tag. The message names the place, never the term."""
    for triple in triples:
        s, p, o = triple[:3]
        if isinstance(s, Literal) or not isinstance(s, (URIRef, BNode)):
            raise InputError(f"{_position(p, 'subject')} is a literal; a subject must be an IRI or a blank node",
                             path=where)
        if not isinstance(p, URIRef):
            raise InputError("a predicate is not an IRI", path=where)
        for term, role in ((s, "subject"), (p, "predicate"), (o, "object")):
            if isinstance(term, URIRef):
                problem = _iri_problem(str(term))
            elif isinstance(term, Literal):
                problem = _literal_problem(term)
            elif isinstance(term, BNode):
                problem = None
            else:
                problem = "a term that is neither an IRI, a blank node nor a literal"
            if problem:
                raise InputError(f"{_position(p, role)} is {problem}", path=where)


class _DefusedRDFXMLParser(RDFXMLParser):
    """rdflib's RDF/XML parser on ``defusedxml``'s expat reader: a DTD, an entity declaration or an
    external reference is refused wherever expat meets it, at any size and position."""

    def parse(self, source: Any, sink: Graph, **args: Any) -> None:
        from defusedxml.common import DefusedXmlException
        from defusedxml.expatreader import DefusedExpatParser
        from rdflib.plugins.parsers.rdfxml import ErrorHandler, RDFXMLHandler

        parser = DefusedExpatParser(forbid_dtd=True, forbid_entities=True, forbid_external=True)
        with suppress(AttributeError):
            parser.start_namespace_decl("xml", str(XMLNS))
        parser.setFeature(handler.feature_namespaces, 1)
        content = RDFXMLHandler(sink)
        content.setDocumentLocator(source)  # type: ignore[arg-type] # as rdflib does
        parser.setContentHandler(content)  # type: ignore[arg-type]
        parser.setErrorHandler(ErrorHandler())
        try:
            parser.parse(source)
        except DefusedXmlException:
            raise InputError("RDF/XML with <!DOCTYPE> or <!ENTITY> is refused (entity expansion); "
                             "remove the declaration") from None


rdflib.plugin.register("npc-kg-xml", rdflib.parser.Parser, __name__, "_DefusedRDFXMLParser")
