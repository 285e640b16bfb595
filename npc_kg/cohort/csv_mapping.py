"""The declarative CSV layout of a cohort (``mappings/cohort-csv.yaml``): CSV rows <-> patient graphs.

The mapping file says which column holds what; this module only interprets it, with no
per-column code. A row becomes N-Triples lines (fed to the same engine as RDF input); a cell
that is not allowed raises :class:`RowError` naming the column, never the value.

A registry describes its own layout in a site file (``format: npc-kg-cohort-csv/1``) that
extends or overrides the shipped one (:func:`load_mapping`'s ``extra``; docs/cohort.md):

- ``prefixes``, ``status_values``: entries added or replaced;
- the scalars (``patient_base``, ``id_column``, ``identifier_property``, ``patient_class``,
  ``status_property``, ``finding_property``): replaced;
- ``patient`` (by ``property``) and ``findings`` (by ``key``): an entry with a known key is
  merged into the shipped one field by field (``{key: frailty, status_column: frail}`` renames
  a column), ``remove: true`` drops it, a new key adds a complete entry.

Columns that the mapping does not name are ignored, with one note (:mod:`npc_kg.notices`) per
file naming them (never a value); a strict mapping (``--strict``) refuses them.

The layout of a configuration (:func:`load_mapping` without a path) is the package's file (with
the site files merged into it), then each loaded criteria pack's ``csv.yaml`` (its ``findings``
entries, same keys), then one derived column for every finding class a pack's criteria concern
that no entry covers: status column the class's local name in snake_case (``FictionalMarker`` ->
``fictional_marker``), record key in kebab case, class the finding class (``docs/packs.md``).
Residual or recurrent disease episodes (subclasses of ``npc:ResidualOrRecurrentDisease``) have
the recurrence columns instead.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from rdflib import RDF, RDFS

from npc_kg.errors import InputError
from npc_kg.notices import notice
from npc_kg.resources import data_path
from npc_kg.yamlio import merge_keyed, read_yaml

if TYPE_CHECKING:  # pragma: no cover
    from npc_kg.cohort.synth import SynthPatient

__all__ = ["FORMAT", "CsvMapping", "RowError", "expand", "load_mapping", "read_fragment"]

FORMAT = "npc-kg-cohort-csv/1"
"""The ``format`` of a cohort CSV mapping file (the shipped one and a site's)."""
_SCALARS = ("patient_base", "id_column", "identifier_property", "patient_class", "status_property", "finding_property")
_KEYED = {"patient": "property", "findings": "key"}

_RDF_TYPE = str(RDF.type)
_PLAIN_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_ .-]{0,63}")
"""A header name printed in a notice: a plain column name; any other is named by its position."""
_LEXICAL = {
    "integer": re.compile(r"[+-]?[0-9]+"),
    "decimal": re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)"),
    "boolean": re.compile(r"true|false|1|0"),
    "date": re.compile(r"-?[0-9]{4,}-[0-9]{2}-[0-9]{2}(Z|[+-][0-9]{2}:[0-9]{2})?"),
}


class RowError(ValueError):
    """A CSV cell that the mapping does not allow; the message names the column, not the value."""


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")


@dataclass
class _Column:
    column: str
    property: str
    datatype: str | None = None
    values: dict[str, str] | None = None

    def term(self, cell: str) -> str:
        if self.values is not None:
            if cell not in self.values:
                raise RowError(f"column {self.column}: not one of the allowed codes")
            return f"<{self.values[cell]}>"
        if self.datatype is not None:
            pattern = _LEXICAL.get(self.datatype.rsplit("#", 1)[-1])
            if pattern is not None and not pattern.fullmatch(cell):
                raise RowError(f"column {self.column}: not a valid {self.datatype.rsplit('#', 1)[-1]}")
            return f'"{_escape(cell)}"^^<{self.datatype}>'
        return f'"{_escape(cell)}"'


@dataclass
class _Finding:
    key: str
    status_column: str
    cls: str | None
    class_column: str | None
    classes: dict[str, str]
    also_column: str | None
    also_classes: list[str]
    properties: list[_Column] = field(default_factory=list)


@dataclass
class CsvMapping:
    """A parsed ``cohort-csv.yaml``."""

    patient_base: str
    id_column: str
    identifier_property: str
    patient_class: str
    status_property: str
    finding_property: str
    status_values: dict[str, str]
    patient: list[_Column]
    findings: list[_Finding]
    strict: bool = False
    """Refuse CSV columns the mapping does not name (else: ignore them, with one notice)."""
    files: tuple[str, ...] = ()
    """The mapping files read, shipped first."""

    def check_header(self, fieldnames: Sequence[str], where: str) -> list[str]:
        """The header's columns the mapping does not name: refused when strict, else ignored with one notice.

        The notice also names the mapping's columns the header lacks: no patient has those items
        recorded, which a renamed or dropped column would otherwise do silently.
        """
        known = set(self.columns())
        unknown = [c for c in fieldnames if c not in known]
        # A header is the registry's schema, but a damaged one may hold data: plain names only.
        shown = ", ".join(c if _PLAIN_NAME.fullmatch(c) else f"column {i} (name not shown)"
                          for i, c in enumerate(fieldnames, 1) if c not in known)
        if unknown and self.strict:
            raise InputError(f"CSV columns not in the mapping: {shown} (--strict refuses them; "
                             "map them in a site mapping, --mapping FILE, or leave out --strict)", path=where)
        present = set(fieldnames)
        missing = [c for c in self.columns() if c not in present]
        parts = [f"ignoring {len(unknown)} CSV column(s) not in the mapping: {shown}"] if unknown else []
        if missing:
            parts.append(f"{len(missing)} column(s) of the mapping not in the header, so not recorded for any "
                         f"patient: {', '.join(missing)}")
        if parts:
            notice(f"notice: {where}: {'; '.join(parts)}")
        return unknown

    def columns(self) -> list[str]:
        """Every column of the layout, in order."""
        cols = [self.id_column] + [c.column for c in self.patient]
        for f in self.findings:
            cols.append(f.status_column)
            cols += [c for c in (f.class_column, f.also_column) if c]
            cols += [c.column for c in f.properties]
        return cols

    def patient_iri(self, identifier: str) -> str:
        """The patient IRI for an identifier cell."""
        return self.patient_base + quote(identifier, safe="-._~")

    def ntriples(self, row: dict[str, str]) -> tuple[str, list[str]]:
        """Return (patient IRI, N-Triples lines) for a row, or raise :class:`RowError`."""
        identifier = (row.get(self.id_column) or "").strip()
        if not identifier:
            raise RowError(f"column {self.id_column}: empty")
        iri = self.patient_iri(identifier)
        s = f"<{iri}>"
        lines = [f"{s} <{_RDF_TYPE}> <{self.patient_class}> .", f'{s} <{self.identifier_property}> "{_escape(identifier)}" .']
        for col in self.patient:
            cell = (row.get(col.column) or "").strip()
            if cell:
                lines.append(f"{s} <{col.property}> {col.term(cell)} .")
        for f in self.findings:
            status = (row.get(f.status_column) or "").strip()
            if not status:
                continue
            if status not in self.status_values:
                raise RowError(f"column {f.status_column}: not one of {', '.join(self.status_values)}")
            node = f"<{iri}/{f.key}>"
            classes = self._classes(f, row)
            lines.append(f"{s} <{self.finding_property}> {node} .")
            lines += [f"{node} <{_RDF_TYPE}> <{c}> ." for c in classes]
            lines.append(f"{node} <{self.status_property}> <{self.status_values[status]}> .")
            for col in f.properties:
                cell = (row.get(col.column) or "").strip()
                if cell:
                    lines.append(f"{node} <{col.property}> {col.term(cell)} .")
        return iri, lines

    def _classes(self, f: _Finding, row: dict[str, str]) -> list[str]:
        classes: list[str] = []
        code = (row.get(f.class_column) or "").strip() if f.class_column else ""
        if code:
            if code not in f.classes:
                raise RowError(f"column {f.class_column}: not one of the allowed codes")
            classes.append(f.classes[code])
        elif f.cls:
            classes.append(f.cls)
        else:
            raise RowError(f"column {f.class_column}: empty but {f.status_column} is set")
        if f.also_column:
            also = (row.get(f.also_column) or "").strip()
            if also == "yes":
                classes += f.also_classes
            elif also not in ("", "no"):
                raise RowError(f"column {f.also_column}: not yes or no")
        return classes

    def row_for(self, patient: SynthPatient) -> list[str]:
        """The CSV cells of a synthetic patient (used by ``npc-kg synth --format csv``)."""
        cells: dict[str, str] = {self.id_column: patient.identifier or ""}
        props = dict(patient.props)
        for col in self.patient:
            cells[col.column] = _cell(col, props.get(col.property))
        by_key = {f.key: f for f in patient.findings}
        status_words = {v: k for k, v in self.status_values.items()}
        for spec in self.findings:
            finding = by_key.get(spec.key)
            if finding is None:
                continue
            words = [status_words.get(s, s.rsplit("/", 1)[-1]) for s in finding.statuses]
            cells[spec.status_column] = ";".join(words)
            codes = {v: k for k, v in spec.classes.items()}
            main = [c for c in finding.classes if c not in spec.also_classes]
            if spec.class_column and main and main[0] in codes:
                cells[spec.class_column] = codes[main[0]]
            if spec.also_column:
                cells[spec.also_column] = "yes" if any(c in spec.also_classes for c in finding.classes) else "no"
            fprops = dict(finding.props)
            for col in spec.properties:
                cells[col.column] = _cell(col, fprops.get(col.property))
        if patient.defect == "syntax":
            first = next((spec.status_column for spec in self.findings if cells.get(spec.status_column)), None)
            cells[first or self.findings[0].status_column] = "maybe"
        return [cells.get(c, "") for c in self.columns()]


def _cell(col: _Column, term: str | None) -> str:
    if term is None:
        return ""
    if term.startswith("<"):
        iri = term[1:-1]
        codes = {v: k for k, v in (col.values or {}).items()}
        return codes.get(iri, iri)
    return term[1:].split('"^^<', 1)[0].rstrip('"')


def expand(value: object, prefixes: dict[str, str], where: str) -> str:
    """The IRI of ``value`` (a CURIE of ``prefixes`` or a full http(s) IRI) in the data file ``where``."""
    text = str(value)
    prefix, sep, local = text.partition(":")
    if sep and prefix in prefixes:
        return prefixes[prefix] + local
    if text.startswith(("http://", "https://")):
        return text
    raise InputError(f"cannot expand {text!r}: unknown prefix", path=where)


def _column(spec: dict[str, Any], prefixes: dict[str, str], where: str) -> _Column:
    return _Column(
        column=str(spec["column"]),
        property=expand(spec["property"], prefixes, where),
        datatype=expand(spec["datatype"], prefixes, where) if spec.get("datatype") else None,
        values={str(k): expand(v, prefixes, where) for k, v in spec["values"].items()} if spec.get("values") else None,
    )


_LOCK = threading.Lock()
_BY_CONFIGURATION: dict[tuple[Any, ...], CsvMapping] = {}


def _document(where: str) -> dict[str, Any]:
    doc = read_yaml(where, "CSV mapping")
    if not isinstance(doc, dict):
        raise InputError("a CSV mapping file must be a YAML mapping (key: value)", path=where)
    if doc.get("format", FORMAT) != FORMAT:
        raise InputError(f"format must be {FORMAT} for a cohort CSV mapping", path=where)
    return doc


def _merge(base: dict[str, Any], site: dict[str, Any], where: str) -> dict[str, Any]:
    merged = dict(base)
    for section in ("prefixes", "status_values"):
        if site.get(section) is not None:
            if not isinstance(site[section], dict):
                raise InputError(f"{section} must be a mapping", path=where)
            merged[section] = {**(base.get(section) or {}), **site[section]}
    for scalar in _SCALARS:
        if site.get(scalar) is not None:
            merged[scalar] = site[scalar]
    for section, key in _KEYED.items():
        if site.get(section) is not None:
            merged[section] = merge_keyed(base.get(section) or [], site[section], key, where=where, section=section,
                                          fieldwise=True)
    return merged


def _findings(entries: Any, prefixes: dict[str, str], where: str) -> list[_Finding]:
    def x(value: str) -> str:
        return expand(value, prefixes, where)

    return [
        _Finding(
            key=str(f["key"]),
            status_column=str(f["status_column"]),
            cls=x(f["class"]) if f.get("class") else None,
            class_column=f.get("class_column"),
            classes={str(k): x(v) for k, v in (f.get("classes") or {}).items()},
            also_column=f.get("also_column"),
            also_classes=[x(c) for c in f.get("also_classes") or []],
            properties=[_column(c, prefixes, where) for c in f.get("properties") or []],
        )
        for f in entries
    ]


def read_fragment(path: str | Path, prefixes: dict[str, str] | None = None) -> list[_Finding]:
    """The ``findings`` entries of a criteria pack's ``csv.yaml`` (the package file's keys), prefixes
    from the fragment's ``prefixes`` and ``prefixes`` (the package file's)."""
    where = str(path)
    doc = _document(where)
    try:
        known = {**(prefixes or {}), **{str(k): str(v) for k, v in (doc.get("prefixes") or {}).items()}}
        return _findings(doc["findings"] or [], known, where)
    except (KeyError, TypeError, AttributeError) as error:
        raise InputError(f"malformed CSV mapping: missing or wrong key {error}", path=where) from None


def load_mapping(path: str | Path | None = None, extra: Sequence[str | Path] = (), *, strict: bool = False) -> CsvMapping:
    """Read a cohort CSV mapping file, extended by each ``extra`` site file; without ``path``, the
    layout of the active configuration (the package's ``mappings/cohort-csv.yaml`` with the site
    files merged into it, the packs' ``csv.yaml``, derived columns: module docstring).

    ``strict`` refuses CSV columns the mapping does not name (else they are ignored, with a notice).
    """
    if path is not None:
        return _read(str(path), extra, strict)
    from npc_kg.kg.packs import active_packs, pack_key

    chosen = active_packs()
    key = (pack_key(chosen), tuple(str(site) for site in extra), strict)
    with _LOCK:
        found = _BY_CONFIGURATION.get(key)
    if found is None:
        found = _configured(chosen, extra, strict)
        if not extra:  # a site file may change between calls; the package's and the packs' are fixed
            with _LOCK:
                found = _BY_CONFIGURATION.setdefault(key, found)
    return found


def _configured(packs: Any, extra: Sequence[str | Path], strict: bool) -> CsvMapping:
    from npc_kg.kg.load import load
    from npc_kg.kg.packs import concerned_findings, finding_key
    from npc_kg.namespace import NPC

    where = str(data_path("mappings", "cohort-csv.yaml"))
    shipped = _document(where)
    mapping = _read(where, extra, strict, shipped)
    prefixes = {str(k): str(v) for k, v in (shipped.get("prefixes") or {}).items()}
    for pack in packs:
        fragment = pack.data_file("csv.yaml")
        if fragment is not None:
            mapping.findings += read_fragment(fragment, prefixes)
    kg = load(packs=packs)
    episodes = {str(s) for s in kg.transitive_subjects(RDFS.subClassOf, NPC.ResidualOrRecurrentDisease)}
    covered = {c for f in mapping.findings for c in [f.cls, *f.classes.values(), *f.also_classes] if c}
    for pack in packs:
        for finding in concerned_findings(pack):
            if finding in covered or finding in episodes:
                continue
            column = finding_key(finding, "_")
            mapping.findings.append(_Finding(key=finding_key(finding), status_column=column, cls=finding,
                                             class_column=None, classes={}, also_column=None, also_classes=[]))
            covered.add(finding)
    seen: dict[str, str] = {}
    for column in mapping.columns():
        if column in seen:
            raise InputError(f"the CSV layout has two columns named {column!r} (a criteria pack's csv.yaml or a derived "
                             "finding column repeats one): rename one in the pack's csv.yaml", path=where)
        seen[column] = column
    return mapping


def _read(base: str, extra: Sequence[str | Path] = (), strict: bool = False,
          base_doc: dict[str, Any] | None = None) -> CsvMapping:
    """Parse one complete mapping file (``base_doc`` if the caller has read it), extended by the site files ``extra``."""
    doc = base_doc if base_doc is not None else _document(base)
    for site in extra:
        doc = _merge(doc, _document(str(site)), str(site))
    where = base if not extra else str(extra[-1])
    try:
        prefixes = {str(k): str(v) for k, v in doc["prefixes"].items()}

        def x(value: str) -> str:
            return expand(value, prefixes, where)

        findings = _findings(doc["findings"], prefixes, where)
        return CsvMapping(
            patient_base=str(doc["patient_base"]),
            id_column=str(doc["id_column"]),
            identifier_property=x(doc["identifier_property"]),
            patient_class=x(doc["patient_class"]),
            status_property=x(doc["status_property"]),
            finding_property=x(doc["finding_property"]),
            status_values={str(k): x(v) for k, v in doc["status_values"].items()},
            patient=[_column(c, prefixes, where) for c in doc["patient"]],
            findings=findings,
            strict=strict,
            files=(base, *map(str, extra)),
        )
    except (KeyError, TypeError, AttributeError) as error:
        raise InputError(f"malformed CSV mapping: missing or wrong key {error}", path=where) from None
