"""Criteria packs: folders of Turtle files that hold one treatment's criteria and their shapes.

A pack (``docs/packs.md``) is a folder::

    pack.ttl        the manifest: exactly one npc:CriteriaPack with rdfs:label, owl:versionInfo,
                    dcterms:license and npc:packTreatment; the treatment's biolink:treats
    kb/*.ttl        knowledge-base individuals: the criteria (kind, order, quote, source,
                    npc:concernsFinding), new finding classes, sources
    shapes/*.ttl    SHACL shapes; shapes/findings.ttl holds the generated building blocks
    csv.yaml        optional: CSV columns of the pack's findings (docs/packs.md)
    synth.yaml      optional: synthetic rates of the pack's findings (mappings/synth.yaml layout)
    sources/*.txt   optional: the texts the pack's quotes are checked against (npc-kg pack check)

The package's own criteria are packs under its ``packs/`` data folder (:func:`package_packs`),
always loaded. A *configuration* is the package's packs plus the packs a caller names
(:func:`resolve_packs`); every merged graph, shapes graph, plan, evaluator and cache is per
configuration. :func:`using_packs` makes a configuration the active one for the code it wraps
(a context variable, so threads and concurrent calls do not see each other's), and functions
that take ``packs=None`` use the active configuration.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import re
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from rdflib import OWL, RDF, RDFS, Graph, URIRef
from rdflib.namespace import DCTERMS

from npc_kg.errors import InputError, PackError
from npc_kg.namespace import NPC
from npc_kg.rdfio import parse_file
from npc_kg.resources import data_path

__all__ = [
    "MANIFEST",
    "Pack",
    "PackInput",
    "active_packs",
    "blocks_namespace",
    "check_distinct",
    "concerned_findings",
    "declared_prefixes",
    "defined_subjects",
    "finding_key",
    "package_packs",
    "pack_key",
    "pack_prefixes",
    "pack_subjects",
    "prefix_declaration",
    "read_pack",
    "resolve_packs",
    "subject_lines",
    "using_packs",
]

MANIFEST = "pack.ttl"
"""The manifest's file name in a pack folder."""

_LOCK = threading.Lock()
_READ: dict[tuple[str, int, int], Pack] = {}
_SUBJECTS: dict[tuple[str, int, int], frozenset[str]] = {}
_ACTIVE: contextvars.ContextVar[tuple[Pack, ...] | None] = contextvars.ContextVar("npc_kg_packs", default=None)


@dataclass(frozen=True)
class Pack:
    """A criteria pack read from its folder: the manifest's facts and where its files are."""

    folder: Path
    iri: str
    label: str
    version: str
    licence: str
    treatments: tuple[str, ...]
    builtin: bool = False
    """True for the package's own packs (``packs/`` of the package data)."""

    @property
    def name(self) -> str:
        """The folder's name."""
        return self.folder.name

    @property
    def manifest(self) -> Path:
        """The manifest file, ``pack.ttl``."""
        return self.folder / MANIFEST

    def kb_files(self) -> list[Path]:
        """The knowledge-base files, ``kb/*.ttl``, sorted."""
        return sorted((self.folder / "kb").glob("*.ttl"))

    def graph_files(self) -> list[Path]:
        """The files that join the merged graph: the manifest, then ``kb/*.ttl``."""
        return [self.manifest, *self.kb_files()]

    def shape_files(self) -> list[Path]:
        """The shapes files, ``shapes/*.ttl``, sorted."""
        return sorted((self.folder / "shapes").glob("*.ttl"))

    def files(self) -> list[Path]:
        """Every Turtle file of the pack."""
        return [*self.graph_files(), *self.shape_files()]

    def data_file(self, name: str) -> Path | None:
        """An optional data file of the pack (``csv.yaml``, ``synth.yaml``), or None."""
        path = self.folder / name
        return path if path.is_file() else None

    def describe(self) -> str:
        """``<iri> (label, version)``, as messages and ``npc-kg info`` name the pack."""
        return f"{self.label} {self.version} <{self.iri}> ({self.folder})"


PackInput = str | os.PathLike[str] | Pack
"""A pack as callers give it: its folder, or a :class:`Pack`."""


def finding_key(iri: str, separator: str = "-") -> str:
    """The key of a finding class a pack declares: its IRI's local name, lower case, words joined by ``separator``.

    ``.../SkullBaseInvasion`` gives ``skull-base-invasion``: the building blocks' names, the synth
    and dict keys (``-``) and the registry-CSV column (``_``) agree because they all come from here.
    """
    local = re.split(r"[/#]", iri.rstrip("/#"))[-1]
    words = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", separator, local).lower()
    return re.sub(r"[^a-z0-9]+", separator, words).strip(separator)


def blocks_namespace(pack_iri: str) -> str:
    """The namespace of a pack's generated building-block shapes: the pack IRI + ``/blocks/``."""
    return pack_iri + ("blocks/" if pack_iri.endswith(("/", "#")) else "/blocks/")


def read_pack(folder: str | os.PathLike[str], *, builtin: bool = False) -> Pack:
    """Read the manifest of the pack in ``folder``; :class:`~npc_kg.errors.PackError` if it is not a pack."""
    path = Path(folder).expanduser()
    manifest = path / MANIFEST
    if not path.is_dir():
        what = "not a folder" if path.exists() else "no such folder"
        raise PackError(f"{path}: {what} (a criteria pack is a folder with {MANIFEST}; see docs/packs.md)")
    try:
        info = manifest.stat()
    except OSError:
        raise PackError(f"{path}: not a criteria pack: no {MANIFEST} (see docs/packs.md)") from None
    resolved = path.resolve()
    key = (str(resolved), info.st_mtime_ns, info.st_size)
    with _LOCK:
        found = _READ.get(key)
    if found is not None and found.builtin == builtin:
        return found
    graph = Graph()
    try:
        parse_file(manifest, "turtle", graph=graph, limited=False)
    except InputError as error:
        raise PackError(f"{error}") from None
    nodes = sorted({s for s in graph.subjects(RDF.type, NPC.CriteriaPack) if isinstance(s, URIRef)}, key=str)
    if len(nodes) != 1:
        raise PackError(f"{manifest}: a manifest names exactly one npc:CriteriaPack by IRI; found {len(nodes)}")
    node = nodes[0]
    treatments = tuple(sorted(str(t) for t in graph.objects(node, NPC.packTreatment) if isinstance(t, URIRef)))
    if not treatments:
        raise PackError(f"{manifest}: the pack <{node}> names no treatment (npc:packTreatment, a treatment class IRI)")
    label = graph.value(node, RDFS.label)
    version = graph.value(node, OWL.versionInfo)
    licence = graph.value(node, DCTERMS.license)
    pack = Pack(folder=resolved, iri=str(node), label=str(label) if label is not None else resolved.name,
                version=str(version) if version is not None else "", licence=str(licence) if licence is not None else "",
                treatments=treatments, builtin=builtin)
    with _LOCK:
        _READ[key] = pack
    return pack


def package_packs() -> tuple[Pack, ...]:
    """The package's own packs (``packs/*/pack.ttl`` of the package data), by folder name."""
    root = data_path("packs")
    return tuple(read_pack(folder, builtin=True) for folder in sorted(root.iterdir()) if (folder / MANIFEST).is_file()) \
        if root.is_dir() else ()


def resolve_packs(packs: Iterable[PackInput] | None = None) -> tuple[Pack, ...]:
    """The configuration of ``packs``: the package's packs, then each given pack once (by folder).

    ``packs`` is a list of pack folders (or one folder).
    ``packs=None`` is the active configuration (:func:`using_packs`; by default the package's packs).
    """
    if packs is None:
        active = _ACTIVE.get()
        return active if active is not None else package_packs()
    if isinstance(packs, str | os.PathLike | Pack):
        packs = [packs]  # one pack folder
    if not isinstance(packs, Iterable):
        raise PackError(f"packs= takes a list of pack folders, not {type(packs).__name__}")
    chosen = list(package_packs())
    seen = {pack.folder for pack in chosen}
    for item in packs:
        if not isinstance(item, str | os.PathLike | Pack):
            raise PackError(f"packs= takes pack folders (str or pathlib.Path), not {type(item).__name__}")
        pack = item if isinstance(item, Pack) else read_pack(item)
        if pack.folder not in seen:
            seen.add(pack.folder)
            chosen.append(pack)
    return tuple(chosen)


def active_packs() -> tuple[Pack, ...]:
    """The packs of the active configuration (:func:`resolve_packs` with ``None``)."""
    return resolve_packs(None)


def pack_key(packs: Iterable[Pack]) -> tuple[str, ...]:
    """A configuration's identity: its pack folders, in order."""
    return tuple(str(pack.folder) for pack in packs)


@contextlib.contextmanager
def using_packs(packs: Iterable[PackInput] | None) -> Iterator[tuple[Pack, ...]]:
    """Make the configuration of ``packs`` the active one inside the block (``None``: leave it as it is)."""
    if packs is None:
        yield active_packs()
        return
    chosen = resolve_packs(packs)
    token = _ACTIVE.set(chosen)
    try:
        yield chosen
    finally:
        _ACTIVE.reset(token)


# ---------------------------------------------------------------------------------------------
# Which IRIs a pack defines, and where
# ---------------------------------------------------------------------------------------------


def defined_subjects(graph: Graph) -> frozenset[str]:
    """The IRIs ``graph`` defines: every IRI subject it types (``rdf:type``) or labels (``rdfs:label``)."""
    return frozenset(str(s) for p in (RDF.type, RDFS.label) for s in graph.subjects(p, None) if isinstance(s, URIRef))


def _file_subjects(path: Path) -> frozenset[str]:
    info = path.stat()
    key = (str(path), info.st_mtime_ns, info.st_size)
    with _LOCK:
        found = _SUBJECTS.get(key)
    if found is None:
        graph = Graph()
        try:
            parse_file(path, "turtle", graph=graph, limited=False)
        except InputError as error:
            raise PackError(f"{error}") from None
        found = defined_subjects(graph)
        with _LOCK:
            _SUBJECTS[key] = found
    return found


_PREFIX = re.compile(r"^\s*(?:@prefix|PREFIX)\s+([A-Za-z][\w.-]*)?:\s*<([^>]*)>", re.IGNORECASE)
_SUBJECT = re.compile(r"^(<[^>]*>|[A-Za-z][\w.-]*:[^\s;,]*|:[^\s;,]*)")


def prefix_declaration(line: str) -> tuple[str, str] | None:
    """``(prefix, namespace IRI)`` if ``line`` is a Turtle ``@prefix``/``PREFIX`` line (prefix ``""`` for ``:``), else None."""
    declared = _PREFIX.match(line)
    return (declared.group(1) or "", declared.group(2)) if declared else None


def pack_prefixes(packs: Iterable[Pack]) -> dict[str, str]:
    """The prefixes the packs' manifests and knowledge-base files declare (``{prefix: namespace}``).

    A prefix two files bind to different namespaces is left out: a CURIE with it would be ambiguous.
    """
    found: dict[str, str] = {}
    clashing: set[str] = set()
    for prefix, namespace in declared_prefixes(path for pack in packs for path in pack.graph_files()):
        if found.setdefault(prefix, namespace) != namespace:
            clashing.add(prefix)
    return {prefix: namespace for prefix, namespace in found.items() if prefix not in clashing}


def declared_prefixes(paths: Iterable[Path]) -> Iterator[tuple[str, str]]:
    """``(prefix, namespace)`` of every named ``@prefix``/``PREFIX`` line of the Turtle files ``paths``, in
    order (a file that cannot be read is skipped: the Turtle reader reports it)."""
    for path in paths:
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError):
            continue
        for line in lines:
            declared = prefix_declaration(line)
            if declared and declared[0]:
                yield declared


def subject_lines(path: Path) -> dict[str, int]:
    """Where each subject block of a Turtle file starts: ``{IRI: line number}`` (first block wins).

    rdflib keeps no line numbers, so this reads the text: a line that starts in column 1 with an
    IRI (``<...>``) or a prefixed name, outside a comment, starts a subject block, and prefixed
    names are expanded with the file's ``@prefix``/``PREFIX`` lines. Subjects written otherwise
    (inside a list, after a line break in the middle of a statement) are not found.
    """
    prefixes: dict[str, str] = {}
    lines: dict[str, int] = {}
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return lines
    for number, line in enumerate(text.splitlines(), start=1):
        declared = prefix_declaration(line)
        if declared:
            prefixes[declared[0]] = declared[1]
            continue
        found = _SUBJECT.match(line)
        if not found or line.startswith("#"):
            continue
        token = found.group(1)
        if token.startswith("<"):
            iri = token[1:-1]
        else:
            prefix, _sep, local = token.partition(":")
            if prefix not in prefixes:
                continue
            iri = prefixes[prefix] + local.replace("\\", "")
        lines.setdefault(iri, number)
    return lines


def concerned_findings(pack: Pack) -> list[str]:
    """The finding classes the criteria of ``pack`` (its ``kb/*.ttl``) concern (``npc:concernsFinding``), by IRI."""
    graph = Graph()
    for path in pack.graph_files():
        parse_file(path, "turtle", graph=graph, limited=False)
    criteria = set(graph.subjects(RDF.type, NPC.EligibilityCriterion))
    return sorted({str(f) for c in criteria for f in graph.objects(c, NPC.concernsFinding) if isinstance(f, URIRef)})


def pack_subjects(pack: Pack) -> frozenset[str]:
    """The IRIs a pack defines in any of its files (:func:`defined_subjects`)."""
    found: set[str] = set()
    for path in pack.files():
        found |= _file_subjects(path)
    return frozenset(found)


def _where(pack: Pack, iri: str) -> str:
    for path in pack.files():
        if iri in _file_subjects(path):
            line = subject_lines(path).get(iri)
            return f"{path}:{line}" if line is not None else str(path)
    return str(pack.folder)


def check_distinct(packs: Iterable[Pack], core: Graph | None = None) -> None:
    """Refuse a configuration in which two packs define the same IRI (type it or label it), or in which
    a pack of the caller's defines an IRI that ``core`` (the package's merged graph) defines outside
    the package's packs. The :class:`~npc_kg.errors.PackError` names both packs (files and lines) and the IRI."""
    chosen = list(packs)
    owner: dict[str, Pack] = {}
    clashes: list[str] = []
    for pack in chosen:
        for iri in sorted(pack_subjects(pack)):
            first = owner.setdefault(iri, pack)
            if first is not pack:
                clashes.append(f"<{iri}> is defined by pack {first.label!r} ({_where(first, iri)}) and by pack "
                               f"{pack.label!r} ({_where(pack, iri)})")
    if core is not None:
        packed = {iri for iri, pack in owner.items() if pack.builtin}
        for iri in sorted(defined_subjects(core) - packed):
            other = owner.get(iri)
            if other is not None and not other.builtin:
                clashes.append(f"<{iri}> is defined by the package's ontology or knowledge base and by pack "
                               f"{other.label!r} ({_where(other, iri)})")
    if clashes:
        shown = clashes[:10] + ([f"... and {len(clashes) - 10} more"] if len(clashes) > 10 else [])
        raise PackError(f"packs that define the same IRI cannot be loaded together ({len(clashes)} clash(es)): "
                        "rename the IRI in one pack, or load only one", shown)
