"""``npc-kg pack check DIR``: is a criteria pack usable and faithful? Each problem names file, line and field.

:func:`check_pack` reads the pack in ``DIR`` with the package's packs (and any others given) and
reports:

- a missing or malformed manifest, and Turtle that does not parse (file and line of the error);
- packs that define the same IRI as another pack or as the package (both files and lines);
- the results of the knowledge-base shapes (``shapes/kb.ttl``) and the pack rules
  (``shapes/pack.ttl``) over the merged graph plus every loaded pack's shapes, about what the
  pack defines or names: the subject's file and line, and the result path as the field;
- generated building blocks (``shapes/findings.ttl``) that are missing or stale
  (:mod:`npc_kg.shacl.blocks`);
- shapes the evaluators cannot read (errors) or that the local engine leaves to the SPARQL
  engine (a warning);
- quotes that are not verbatim in their source text (``npc:sourceTextFile``, looked up in the
  pack's ``sources/`` folder, then in the source-text folder of :func:`npc_kg.resources.seeds_dir`;
  a warning when neither has the file);
- ``csv.yaml`` and ``synth.yaml`` that cannot be read.

rdflib keeps no line numbers: the line of a subject is found in the Turtle text
(:func:`npc_kg.kg.packs.subject_lines`), and an IRI no block starts with is located by its first
mention. A problem never quotes a value of the data, only where it is and which rule it breaks.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from rdflib import BNode, Graph, URIRef
from rdflib.term import Node

from npc_kg.errors import InputError, NpcKgError, PackError
from npc_kg.kg.packs import (
    Pack,
    PackInput,
    declared_prefixes,
    pack_subjects,
    prefix_declaration,
    read_pack,
    resolve_packs,
    subject_lines,
)
from npc_kg.namespace import NPC, OA, PREFIXES, SH
from npc_kg.rdfio import parse_file

__all__ = ["ERROR", "WARNING", "PackProblem", "PackReport", "check_pack"]

ERROR, WARNING = "error", "warning"
"""The levels of a problem: an error makes ``npc-kg pack check`` exit 2; a warning does not."""


@dataclass(frozen=True)
class PackProblem:
    """One problem: level, file (and line), the subject and field it concerns, and what is wrong."""

    level: str
    file: str
    line: int | None
    subject: str
    field: str
    message: str

    def text(self) -> str:
        """``level: file:line: subject field: message``."""
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        what = " ".join(part for part in (self.subject, f"({self.field})" if self.field else "") if part)
        return f"{self.level}: {where}: {what + ': ' if what else ''}{self.message}"


@dataclass(frozen=True)
class PackReport:
    """What :func:`check_pack` found."""

    pack: Pack | None
    problems: tuple[PackProblem, ...]

    @property
    def errors(self) -> list[PackProblem]:
        """The problems of level ``error``."""
        return [p for p in self.problems if p.level == ERROR]

    @property
    def ok(self) -> bool:
        """True if there is no error (warnings allowed)."""
        return not self.errors

    def text(self) -> str:
        """One line per problem, then a summary line."""
        lines = [p.text() for p in self.problems]
        name = f"pack {self.pack.label!r} ({self.pack.folder})" if self.pack else "pack"
        warnings = len(self.problems) - len(self.errors)
        lines.append(f"{name}: {len(self.errors)} error(s), {warnings} warning(s)")
        return "\n".join(lines) + "\n"


def _prefixes(pack: Pack) -> dict[str, str]:
    """The package's prefixes and those the pack's Turtle files declare (``@prefix``)."""
    found = dict(PREFIXES)
    for prefix, namespace in declared_prefixes(pack.files()):
        found.setdefault(prefix, namespace)
    return found


def _curie(node: Node | None, prefixes: dict[str, str] = PREFIXES) -> str:
    if node is None:
        return ""
    text = str(node)
    for prefix, base in sorted(prefixes.items(), key=lambda item: -len(item[1])):
        local = text[len(base):]
        if text.startswith(base) and local and "/" not in local and "#" not in local:
            return f"{prefix}:{local}"
    return f"<{text}>" if isinstance(node, URIRef) else text


def _mention(path: Path, iri: str) -> int | None:
    """The first line of ``path`` that mentions ``iri`` (as ``<iri>`` or a prefixed name), or None."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    spellings = [f"<{iri}>"]
    for line in text.splitlines():
        declared = prefix_declaration(line)
        if declared and iri.startswith(declared[1]) and len(iri) > len(declared[1]):
            spellings.append(f"{declared[0]}:{iri[len(declared[1]):]}")
    pattern = re.compile("|".join(re.escape(s) + (r"(?![\w.-]*[\w-])" if not s.startswith("<") else "") for s in spellings))
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.lstrip().startswith(("#", "@prefix", "PREFIX")) and pattern.search(line):
            return number
    return None


class _Locator:
    """Where the pack defines or names an IRI: file and line."""

    def __init__(self, pack: Pack) -> None:
        self.files = pack.files()
        self.lines = {path: subject_lines(path) for path in self.files}

    def __call__(self, iri: str) -> tuple[str, int | None] | None:
        for path in self.files:
            line = self.lines[path].get(iri)
            if line is not None:
                return str(path), line
        for path in self.files:
            line = _mention(path, iri)
            if line is not None:
                return str(path), line
        return None


def _owner(graph: Graph, node: Node, depth: int = 0) -> Node | None:
    """The IRI a blank node hangs from (its nearest IRI subject), or the node itself if it is an IRI."""
    if isinstance(node, URIRef):
        return node
    if depth > 8 or not isinstance(node, BNode):
        return None
    for subject in graph.subjects(None, node):
        found = _owner(graph, subject, depth + 1)
        if found is not None:
            return found
    return None


def _syntax(pack_folder: Path) -> list[PackProblem]:
    problems = []
    for path in sorted(pack_folder.rglob("*.ttl")):
        try:
            parse_file(path, "turtle", limited=False)
        except InputError as error:  # its message without the location, which the problem gives
            problems.append(PackProblem(ERROR, str(path), error.line, "", "", error.message.split("\n")[0]))
    return problems


def _shacl(pack: Pack, chosen: tuple[Pack, ...]) -> list[PackProblem]:
    """Results of shapes/kb.ttl and shapes/pack.ttl about what the pack defines or names."""
    from pyshacl import validate

    from npc_kg.kg.load import load
    from npc_kg.rdfio import literals_as_written
    from npc_kg.resources import data_path

    data = Graph()
    data += load(packs=chosen)
    for other in chosen:
        for path in other.shape_files():
            parse_file(path, "turtle", graph=data, limited=False)
    shapes = Graph()
    for name in ("kb.ttl", "pack.ttl"):
        parse_file(data_path("shapes", name), "turtle", graph=shapes, limited=False)
    with literals_as_written():
        _conforms, report, _text = validate(data, shacl_graph=shapes, inference="none", advanced=False, js=False,
                                            do_owl_imports=False, allow_warnings=True, allow_infos=True)
    if not isinstance(report, Graph):
        raise NpcKgError(f"cannot validate the pack with the knowledge-base shapes: {report}")
    mine = pack_subjects(pack)
    others = {iri for other in chosen if other is not pack for iri in pack_subjects(other)}
    core = {str(s) for s in load(packs=chosen).subjects() if isinstance(s, URIRef)} - mine
    named: set[str] = set()
    for path in pack.files():
        graph = parse_file(path, "turtle", limited=False)
        named |= {str(t) for triple in graph for t in triple if isinstance(t, URIRef)}
    locate = _Locator(pack)
    prefixes = _prefixes(pack)
    problems = []
    for result in report.subjects(predicate=SH.resultSeverity):
        focus = report.value(result, SH.focusNode)
        owner = _owner(data, focus) if focus is not None else None
        if owner is None:
            continue
        iri = str(owner)
        if iri not in mine and iri not in pack.treatments and (iri in others or iri in core or iri not in named):
            continue  # about the package or another pack (which conform), not this pack
        where = locate(iri) or (str(pack.manifest), None)
        severity = report.value(result, SH.resultSeverity)
        message = report.value(result, SH.resultMessage)
        shape = report.value(result, SH.sourceShape)
        result_path = report.value(result, SH.resultPath)
        field = _curie(result_path, prefixes) if isinstance(result_path, URIRef) else ""
        if not field and isinstance(shape, URIRef):
            field = re.split(r"[/#]", str(shape))[-1]  # the rule's name, e.g. CriterionShapeShape
        level = ERROR if severity == SH.Violation else WARNING
        problems.append(PackProblem(level, where[0], where[1], _curie(owner, prefixes), field,
                                    str(message) if message is not None else "breaks a knowledge-base rule"))
    return problems


def _quotes(pack: Pack, chosen: tuple[Pack, ...]) -> list[PackProblem]:
    """Quotes of the pack that are not verbatim substrings of their source's text."""
    from npc_kg.kg.load import load
    from npc_kg.resources import seeds_dir

    kg = load(packs=chosen)
    own = Graph()
    for path in pack.kb_files():
        parse_file(path, "turtle", graph=own, limited=False)
    locate = _Locator(pack)
    prefixes = _prefixes(pack)
    problems: list[PackProblem] = []
    texts: dict[str, str | None] = {}
    for resource, selector in own.subject_objects(OA.hasSelector):
        source = own.value(resource, OA.hasSource)
        name = kg.value(source, NPC.sourceTextFile) if source is not None else None
        owner = _owner(own, resource)
        if name is None or owner is None:
            continue  # the knowledge-base shapes report a quote without a source
        where = locate(str(owner)) or (str(pack.folder), None)
        if str(name) not in texts:
            text = None
            for folder in (pack.folder / "sources", seeds_dir()):
                candidate = folder / str(name)
                if os.path.basename(str(name)) == str(name) and candidate.is_file():
                    text = candidate.read_text(encoding="utf-8")
                    break
            texts[str(name)] = text
            if text is None:
                problems.append(PackProblem(WARNING, where[0], where[1], _curie(source, prefixes), "npc:sourceTextFile",
                                            f"the source text {name} is not in the pack's sources/ folder or the seeds "
                                            "folder, so its quotes are not checked"))
        text = texts[str(name)]
        for exact in own.objects(selector, OA.exact):
            if text is not None and str(exact) not in text:
                problems.append(PackProblem(ERROR, where[0], where[1], _curie(owner, prefixes), "oa:exact",
                                            f"the quote is not a verbatim substring of its source text {name}"))
    return problems


def _engines(pack: Pack, chosen: tuple[Pack, ...]) -> list[PackProblem]:
    from npc_kg.shacl.engines import Engines
    from npc_kg.shacl.plan import Unsupported
    from npc_kg.shacl.shapes import shapes_graph, subclass_graph

    where = str(pack.folder / "shapes")
    try:
        engines = Engines.build(shapes_graph(chosen), None, subclasses=subclass_graph(packs=chosen))
    except NpcKgError as error:
        return [PackProblem(ERROR, where, None, "", "", f"the evaluators cannot read the shapes: {error}")]
    try:
        from npc_kg.shacl.closures import ClosureEvaluator

        ClosureEvaluator(engines.plan)
    except Unsupported as error:
        return [PackProblem(WARNING, where, None, "", "", f"the local engine cannot evaluate these shapes ({error}); "
                                                          "the SPARQL engine and pySHACL will, more slowly")]
    return []


def _data_files(pack: Pack) -> list[PackProblem]:
    problems = []
    for name in ("csv.yaml", "synth.yaml"):
        path = pack.data_file(name)
        if path is None:
            continue
        try:
            if name == "csv.yaml":
                from npc_kg.cohort.csv_mapping import read_fragment

                read_fragment(path)
            else:
                from npc_kg.cohort.synth import read_rates

                read_rates(path)
        except InputError as error:
            problems.append(PackProblem(ERROR, str(path), error.line, "", "", error.message))
    return problems


def check_pack(folder: str | os.PathLike[str], *, packs: Iterable[PackInput] | None = None) -> PackReport:
    """Check the criteria pack in ``folder``, loaded with the package's packs and ``packs``."""
    from npc_kg.shacl.blocks import stale_blocks

    path = Path(folder)
    if not path.is_dir():  # nothing to check: a bad argument (exit 2), not a pack with errors (exit 6)
        read_pack(path)
    problems = _syntax(path)
    if problems:
        return PackReport(None, tuple(problems))
    try:
        pack = read_pack(path)
    except PackError as error:
        return PackReport(None, (PackProblem(ERROR, str(path / "pack.ttl"), None, "", "", str(error)),))
    try:
        chosen = resolve_packs([*(packs or []), pack])
        pack = next(p for p in chosen if p.folder == pack.folder)  # the package's own instance, if it is one
        from npc_kg.kg.load import load

        load(packs=chosen)
    except PackError as error:
        return PackReport(pack, tuple(PackProblem(ERROR, str(pack.folder), None, "", "", line)
                                      for line in (error.errors or [str(error)])))
    found = _shacl(pack, chosen)
    from npc_kg.kg.load import load

    stale = stale_blocks(pack, load(packs=chosen))
    if stale is not None:
        found.append(PackProblem(ERROR, str(pack.folder / "shapes" / "findings.ttl"), None, "", "", stale.split(": ", 1)[-1]))
    found += _engines(pack, chosen)
    found += _quotes(pack, chosen)
    found += _data_files(pack)
    order = {ERROR: 0, WARNING: 1}
    found.sort(key=lambda p: (order.get(p.level, 2), p.file, p.line or 0, p.subject, p.field, p.message))
    return PackReport(pack, tuple(dict.fromkeys(found)))
