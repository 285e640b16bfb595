"""The FHIR mapping (``mappings/fhir-mcode.yaml`` + SSSOM code tables), merged with a site's files and compiled.

:func:`load_fhir_mapping` reads the shipped mapping, then each ``extra`` file in order. A site's
file extends or overrides the shipped one (docs/fhir.md, "Site mappings"):

- ``prefixes``, ``systems``, ``granularity``, ``states``, ``dates``: entries are added or replaced;
- ``patient``, ``scope``, ``recurrence``: fields are added or replaced;
- ``findings`` and ``context`` (by ``key``), ``properties`` (by ``property``): a rule with a new key
  is added, one with a known key replaces it, ``{key: ..., remove: true}`` drops it;
- ``code_tables`` (SSSOM files, relative to the file that names them) and ``codes`` (inline rows
  with the SSSOM columns): a code that a later file maps replaces every earlier row of that code;
- ``cds_hooks``: read by the CDS Hooks service (``npc_kg.service.cds``), not by the reader.

The module interprets the file; it holds no code, status value or element name of its own.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from npc_kg.fhir.errors import FhirMappingError
from npc_kg.resources import data_path
from npc_kg.yamlio import merge_keyed, read_yaml

if TYPE_CHECKING:  # pragma: no cover
    from npc_kg.fhir.fhirpath import Selector

__all__ = [
    "STATES",
    "CodeRow",
    "CodeTable",
    "ContextRule",
    "FhirMapping",
    "FindingRule",
    "PropertyRule",
    "RecordProperty",
    "RecurrenceRule",
    "ScopeRule",
    "StateStep",
    "default_mapping_path",
    "load_code_table",
    "load_fhir_mapping",
]

FORMAT = "npc-kg-fhir-mapping/1"
STATES = ("present", "absent", "not-recorded", "dropped")
"""What a resource (or a value) says about a finding."""
_TYPINGS = ("class", "code", "none")
_RECORDS = ("per-code", "per-resource")
_YEARS_UNTIL = ("assessment",)
_TOP_KEYS = {
    "format", "prefixes", "systems", "code_tables", "codes", "patient", "granularity", "states", "dates",
    "scope", "recurrence", "findings", "properties", "context", "cds_hooks",
}
_SSSOM_COLUMNS = ("subject_id", "predicate_id", "object_id")


def default_mapping_path() -> Path:
    """The shipped mapping, ``mappings/fhir-mcode.yaml``."""
    return data_path("mappings", "fhir-mcode.yaml")


# ---------------------------------------------------------------------------------------------
# Compiled parts
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CodeRow:
    """One row of a code table: a code (CURIE), its label, predicate and npc-kg class (IRI)."""

    code: str
    label: str
    predicate: str
    negated: bool
    target: str
    target_label: str
    confidence: float | None
    comment: str
    source: str


@dataclass(frozen=True)
class StateStep:
    """One step of a state table: the first value of ``selector`` found in ``values`` decides; else ``default``."""

    selector: Selector | None
    values: Mapping[str, str]
    default: str | None


@dataclass(frozen=True)
class ScopeRule:
    """Which Condition codes put a patient in scope (the disease of the treatment)."""

    cls: str
    resource: str
    code_element: str
    states: tuple[StateStep, ...]
    accept: frozenset[str]


@dataclass(frozen=True)
class RecordProperty:
    """A property of a finding record, from the latest resource that names the record's resource in ``link``.

    ``values`` maps a value to an IRI (an object property); otherwise the value is a literal of
    ``datatype``.
    """

    property: str
    resource: str
    codes: frozenset[str]
    value: Selector
    states: tuple[StateStep, ...]
    link: str = "focus"
    values: Mapping[str, str] = field(default_factory=dict)
    datatype: str | None = None


@dataclass(frozen=True)
class FindingRule:
    """A rule that turns resources of one type into finding statements (docs/fhir.md)."""

    key: str
    resource: str
    states: tuple[StateStep, ...]
    code_element: str | None = None
    codes: frozenset[str] | None = None
    extension: str | None = None
    codes_of: Selector | None = None
    references_of: Selector | None = None
    finding: str | None = None
    value: Selector | None = None
    values: Mapping[str, str] = field(default_factory=dict)
    state: str | None = None
    pick: str = "all"
    record: str = "per-code"
    """``per-code``: one record per mapped code (and state); ``per-resource``: one record per resource,
    typed with every mapped code of it."""
    properties: tuple[RecordProperty, ...] = ()
    """Properties of each record (``per-resource`` rules), from the resources that name it."""


@dataclass(frozen=True)
class PropertyRule:
    """A patient property from a resource's value, or a count of resources.

    ``codes`` empty: every resource of the type (e.g. the Patient). ``years_until``:
    ``assessment`` makes the value (a FHIR date) the full years from it to the assessment date.
    """

    property: str
    datatype: str
    resource: str
    codes: frozenset[str]
    states: tuple[StateStep, ...]
    value: Selector | None = None
    aggregate: str | None = None
    pick: str = "latest"
    years_until: str | None = None


@dataclass(frozen=True)
class ContextRule:
    """Values kept with the patient as context, never put in the graph."""

    key: str
    resource: str
    codes: frozenset[str]
    value: Selector
    states: tuple[StateStep, ...]
    pick: str = "latest"


@dataclass(frozen=True)
class CategoryRule:
    """A restaging category of the recurrence record (rT, rN) from the latest matching observation."""

    property: str
    codes: frozenset[str]
    value: Selector
    values: Mapping[str, str]
    states: tuple[StateStep, ...]


@dataclass(frozen=True)
class RecurrenceRule:
    """How the recurrence record is made from the cancer Condition and the restaging observations."""

    status: Selector
    recurrent: frozenset[str]
    categories: tuple[CategoryRule, ...]
    body_site: Selector | None
    sites: Mapping[str, tuple[frozenset[str], frozenset[str]]]
    classes: Mapping[frozenset[str], str]
    unknown_site: str


@dataclass
class FhirMapping:
    """The compiled mapping: what every part of ``fhir-mcode.yaml`` (and a site's files) says."""

    files: tuple[str, ...]
    prefixes: dict[str, str]
    systems: dict[str, str]
    codes: dict[str, tuple[CodeRow, ...]]
    patient_base: str
    patient_references: tuple[str, ...]
    provenance_type_base: str
    granularity: dict[str, tuple[str, str]]
    dates: dict[str, Selector]
    scope: ScopeRule
    recurrence: RecurrenceRule | None
    findings: tuple[FindingRule, ...]
    properties: tuple[PropertyRule, ...]
    context: tuple[ContextRule, ...]
    read_types: frozenset[str] = frozenset()
    cds_hooks: dict[str, Any] = field(default_factory=dict)
    """The ``cds_hooks`` section (e.g. a site's order codes), for the CDS Hooks service."""

    def __post_init__(self) -> None:
        rules: tuple[FindingRule | PropertyRule | ContextRule, ...] = (*self.findings, *self.properties, *self.context)
        types = {self.scope.resource} | {rule.resource for rule in rules}
        types |= {prop.resource for rule in self.findings for prop in rule.properties}
        if self.recurrence is not None:
            types.add("Observation")
        self.read_types = frozenset(types)

    def code_of(self, system: str | None, code: str | None) -> str | None:
        """The CURIE of a FHIR coding, or None if its system is not in ``systems``."""
        if not system or not code:
            return None
        prefix = self.systems.get(system)
        if prefix is None:
            return None
        return code if code.startswith(prefix + ":") else f"{prefix}:{code}"

    def expand(self, curie: str) -> str:
        """The IRI of a CURIE with the mapping's prefixes."""
        prefix, _, local = curie.partition(":")
        return self.prefixes[prefix] + local

    def curie_of(self, iri: str) -> str:
        """The CURIE of an IRI, with the longest matching prefix (the IRI if none matches)."""
        best = max((p for p, base in self.prefixes.items() if iri.startswith(base)), key=lambda p: len(self.prefixes[p]),
                   default=None)
        return f"{best}:{iri[len(self.prefixes[best]):]}" if best else iri

    def bridges(self) -> list[tuple[str, str]]:
        """``(code IRI, class IRI)`` for every code typed with its own IRI (``rdfs:subClassOf`` bridges)."""
        found = set()
        for rows in self.codes.values():
            for row in rows:
                if not row.negated and "code" in self.granularity.get(row.predicate, ("none", "none")):
                    found.add((self.expand(row.code), row.target))
        return sorted(found)


# ---------------------------------------------------------------------------------------------
# Loading and merging
# ---------------------------------------------------------------------------------------------


def _read_yaml(path: Path) -> dict[str, Any]:
    doc = read_yaml(path, "FHIR mapping file", FhirMappingError)
    if not isinstance(doc, dict):
        raise FhirMappingError("a FHIR mapping file must be a YAML mapping (key: value)", path=str(path))
    unknown = sorted(set(doc) - _TOP_KEYS)
    if unknown:
        raise FhirMappingError(f"unknown key(s) {', '.join(unknown)} (known: {', '.join(sorted(_TOP_KEYS))})", path=str(path))
    if doc.get("format", FORMAT) != FORMAT:
        raise FhirMappingError(f"format must be {FORMAT}", path=str(path))
    return doc


def _merge_keyed(base: list[dict[str, Any]], extra: Any, key: str, where: str, section: str) -> list[dict[str, Any]]:
    """A site file's rules replace the shipped ones by name (docs/fhir.md, "Site mappings")."""
    return merge_keyed(base, extra, key, where=where, section=section, error=FhirMappingError, stamp={"_where": where})


@dataclass(frozen=True)
class CodeTable:
    """The merged code tables alone, with the prefixes and systems they need (no FHIRPath compiled)."""

    files: tuple[str, ...]
    prefixes: dict[str, str]
    systems: dict[str, str]
    codes: dict[str, tuple[CodeRow, ...]]
    header: dict[str, Any]
    table_files: tuple[str, ...] = ()
    """The SSSOM files read (``code_tables`` of every mapping file)."""
    """The SSSOM header (mapping set metadata) of the first code table."""


def load_code_table(extra: Sequence[str | Path] = (), *, base: str | Path | None = None) -> CodeTable:
    """The code tables of the shipped mapping (or ``base``) and each ``extra`` file, merged as :func:`load_fhir_mapping` does."""
    merged, tables, inline, files = _merge(extra, base)
    c = _Compiler(merged)
    systems = {str(k): str(v) for k, v in merged["systems"].items()}
    granularity = {str(k): ("none", "none") for k in merged["granularity"]}
    rows = _code_rows(c, tables, inline, systems, granularity)
    header = _sssom_header(tables[0][0]) if tables else {}
    return CodeTable(files, c.prefixes, systems, rows, header, tuple(str(p) for p, _w in tables))


def load_fhir_mapping(extra: str | Path | Sequence[str | Path] = (), *, base: str | Path | None = None) -> FhirMapping:
    """Read the shipped FHIR mapping (or ``base``), merge each ``extra`` site file (one, or several in
    order), compile it.

    Raises :class:`~npc_kg.fhir.errors.FhirMappingError` (exit code 2) naming the file and the
    key for a malformed file, an unknown state, prefix or predicate, or a FHIRPath selector that
    fhirpathpy rejects.
    """
    merged, tables, inline, files = _merge([extra] if isinstance(extra, str | Path) else extra, base)
    return _compile(merged, tables, inline, files)


def _merge(extra: Sequence[str | Path], base: str | Path | None
           ) -> tuple[dict[str, Any], list[tuple[Path, str]], list[tuple[dict[str, Any], str]], tuple[str, ...]]:
    first = Path(base) if base is not None else default_mapping_path()
    files = [first, *(Path(p) for p in extra)]
    merged: dict[str, Any] = {"prefixes": {}, "systems": {}, "granularity": {}, "states": {}, "dates": {}, "patient": {},
                              "scope": {}, "cds_hooks": {}, "recurrence": None, "findings": [], "properties": [],
                              "context": []}
    tables: list[tuple[Path, str]] = []
    inline: list[tuple[dict[str, Any], str]] = []
    for path in files:
        where = str(path)
        doc = _read_yaml(path)
        for section in ("prefixes", "systems", "granularity", "states", "dates", "patient", "scope", "cds_hooks"):
            value = doc.get(section)
            if value is None:
                continue
            if not isinstance(value, dict):
                raise FhirMappingError(f"{section} must be a mapping", path=where)
            merged[section] = {**merged[section], **value}
        if doc.get("recurrence") is not None:
            if not isinstance(doc["recurrence"], dict):
                raise FhirMappingError("recurrence must be a mapping", path=where)
            merged["recurrence"] = {**(merged["recurrence"] or {}), **doc["recurrence"], "_where": where}
        merged["findings"] = _merge_keyed(merged["findings"], doc.get("findings"), "key", where, "findings")
        merged["context"] = _merge_keyed(merged["context"], doc.get("context"), "key", where, "context")
        merged["properties"] = _merge_keyed(merged["properties"], doc.get("properties"), "property", where, "properties")
        for table in doc.get("code_tables") or []:
            tables.append((path.parent / str(table), where))
        for row in doc.get("codes") or []:
            if not isinstance(row, dict):
                raise FhirMappingError("every entry of codes must be a mapping with the SSSOM columns", path=where)
            inline.append((row, where))
    return merged, tables, inline, tuple(str(f) for f in files)


# ---------------------------------------------------------------------------------------------
# Compiling
# ---------------------------------------------------------------------------------------------


class _Compiler:
    def __init__(self, merged: dict[str, Any]) -> None:
        self.prefixes = {str(k): str(v) for k, v in merged["prefixes"].items()}
        self.where = "FHIR mapping"

    def fail(self, message: str, where: str | None = None) -> FhirMappingError:
        return FhirMappingError(message, path=where or self.where)

    def curie(self, value: Any, what: str, where: str | None) -> str:
        text = str(value)
        prefix, sep, local = text.partition(":")
        if not sep or prefix not in self.prefixes or not local:
            raise self.fail(f"{what}: {text!r} is not a CURIE with a prefix of `prefixes`", where)
        return text

    def iri(self, value: Any, what: str, where: str | None) -> str:
        curie = self.curie(value, what, where)
        prefix, _, local = curie.partition(":")
        return self.prefixes[prefix] + local

    def selector(self, value: Any, what: str, where: str | None) -> Selector:
        from npc_kg.fhir.fhirpath import compile_selector  # fhirpathpy only when selectors are compiled

        try:
            return compile_selector(value)
        except ValueError as error:
            raise self.fail(f"{what}: {error}", where) from None

    def state(self, value: Any, what: str, where: str | None) -> str:
        if value not in STATES:
            raise self.fail(f"{what}: {value!r} is not one of {', '.join(STATES)}", where)
        return str(value)


def _check_resource_types(names: Iterable[tuple[str, str | None]], c: Any) -> None:
    """Every resource type a rule reads (``(type, file)``) is a FHIR R4 resource type: a typo would
    match nothing, silently."""
    from npc_kg.fhir.resources import r4_resource_types
    from npc_kg.suggest import did_you_mean

    known = r4_resource_types()
    for name, where in names:
        if name not in known:
            hint = did_you_mean(name, known)
            raise c.fail(f"{name!r} is not a FHIR R4 resource type{'; ' + hint if hint else ''}", where)


def _compile(merged: dict[str, Any], tables: list[tuple[Path, str]], inline: list[tuple[dict[str, Any], str]],
             files: tuple[str, ...]) -> FhirMapping:
    c = _Compiler(merged)
    where = files[0]
    systems = {str(k): str(v) for k, v in merged["systems"].items()}
    for system, prefix in systems.items():
        if prefix not in c.prefixes:
            raise c.fail(f"systems: the prefix {prefix!r} of {system} is not in `prefixes`", where)
    granularity: dict[str, tuple[str, str]] = {}
    for predicate, spec in merged["granularity"].items():
        c.curie(predicate, "granularity", where)
        if not isinstance(spec, dict) or spec.get("present") not in _TYPINGS or spec.get("absent") not in _TYPINGS:
            raise c.fail(f"granularity {predicate}: needs present and absent, each one of {', '.join(_TYPINGS)}", where)
        granularity[str(predicate)] = (str(spec["present"]), str(spec["absent"]))
    states = {str(name): _state_table(c, name, steps, where) for name, steps in merged["states"].items()}

    def table(name: Any, what: str, at: str) -> tuple[StateStep, ...]:
        if name is None:
            raise c.fail(f"{what}: needs states: one of the state tables ({', '.join(sorted(states))})", at)
        if name not in states:
            raise c.fail(f"{what}: unknown state table {name!r} (known: {', '.join(sorted(states))})", at)
        return states[name]

    def codes(values: Any, what: str, at: str) -> frozenset[str]:
        if not isinstance(values, list) or not values:
            raise c.fail(f"{what}: codes must be a non-empty list of CURIEs", at)
        return frozenset(c.curie(v, what, at) for v in values)

    dates = {str(t): c.selector(e, f"dates {t}", where) for t, e in merged["dates"].items()}
    patient = merged["patient"]
    try:
        patient_base = str(patient["base"])
        references = tuple(str(r) for r in patient["references"])
        type_base = str(patient["provenance_type_base"])
    except (KeyError, TypeError):
        raise c.fail("patient needs base, references and provenance_type_base", where) from None
    scope_spec = merged["scope"]
    try:
        scope = ScopeRule(
            cls=c.iri(scope_spec["class"], "scope class", where),
            resource=str(scope_spec["resource"]),
            code_element=str(scope_spec["code"]),
            states=table(scope_spec["states"], "scope", where),
            accept=frozenset(c.curie(p, "scope accept", where) for p in scope_spec["accept"]),
        )
    except (KeyError, TypeError):
        raise c.fail("scope needs class, resource, code, states and accept", where) from None
    findings = tuple(_finding_rule(c, spec, table, codes) for spec in merged["findings"])
    properties = tuple(_property_rule(c, spec, table, codes) for spec in merged["properties"])
    context = tuple(
        ContextRule(
            key=str(spec["key"]), resource=str(spec.get("resource", "")),
            codes=codes(spec.get("codes"), f"context {spec['key']}", spec["_where"]),
            value=c.selector(spec.get("value"), f"context {spec['key']} value", spec["_where"]),
            states=table(spec.get("states"), f"context {spec['key']}", spec["_where"]),
            pick=_pick(c, spec, "latest"),
        )
        for spec in merged["context"]
    )
    recurrence = _recurrence_rule(c, merged["recurrence"], table, codes) if merged["recurrence"] else None
    rows = _code_rows(c, tables, inline, systems, granularity)
    every: tuple[FindingRule | PropertyRule | ContextRule, ...] = (*findings, *properties, *context)
    for one in every:
        if not one.resource:
            raise c.fail(f"rule {getattr(one, 'key', None) or getattr(one, 'property', '')}: needs a resource type", where)
    _check_resource_types([(scope.resource, where)] + [
        (str(spec["resource"]), spec.get("_where")) for section in ("findings", "properties", "context")
        for spec in merged[section] if spec.get("resource")] + [
        (str(sub["resource"]), spec.get("_where")) for spec in merged["findings"] for sub in spec.get("properties") or []
        if isinstance(sub, dict) and sub.get("resource")], c)
    for rule in findings:
        if rule.resource not in dates and rule.pick == "latest":
            raise c.fail(f"findings {rule.key}: pick latest needs a `dates` selector for {rule.resource}", where)
    return FhirMapping(files=files, prefixes=c.prefixes, systems=systems, codes=rows, patient_base=patient_base,
                       patient_references=references, provenance_type_base=type_base, granularity=granularity,
                       dates=dates, scope=scope, recurrence=recurrence, findings=findings, properties=properties,
                       context=context, cds_hooks=dict(merged["cds_hooks"] or {}))


def _state_table(c: _Compiler, name: Any, steps: Any, where: str) -> tuple[StateStep, ...]:
    if not isinstance(steps, list) or not steps:
        raise c.fail(f"states {name}: must be a non-empty list of steps", where)
    out = []
    for step in steps:
        if not isinstance(step, dict):
            raise c.fail(f"states {name}: each step is a mapping (path + values, or default)", where)
        if "default" in step:
            out.append(StateStep(None, {}, c.state(step["default"], f"states {name} default", where)))
            continue
        values = step.get("values")
        if not isinstance(values, dict) or "path" not in step:
            raise c.fail(f"states {name}: a step needs path and values", where)
        out.append(StateStep(c.selector(step["path"], f"states {name} path", where),
                             {str(k): c.state(v, f"states {name} value {k}", where) for k, v in values.items()}, None))
    return tuple(out)


def _pick(c: _Compiler, spec: Mapping[str, Any], default: str) -> str:
    pick = str(spec.get("pick", default))
    if pick not in ("all", "latest"):
        raise c.fail(f"{spec.get('key') or spec.get('property')}: pick must be all or latest", spec.get("_where"))
    return pick


def _finding_rule(c: _Compiler, spec: dict[str, Any], table: Any, codes: Any) -> FindingRule:
    key, at = str(spec["key"]), spec["_where"]
    what = f"findings {key}"
    filters = [name for name in ("code", "codes", "extension") if spec.get(name) is not None]
    if len(filters) != 1:
        raise c.fail(f"{what}: needs exactly one of code (an element), codes (a list) or extension (a URL)", at)
    if all(spec.get(name) is None for name in ("finding", "code", "codes_of", "references_of")):
        raise c.fail(f"{what}: says neither which finding (finding), where its codes are (code, codes_of) "
                     "nor which references it reports (references_of)", at)
    if spec.get("finding") is not None and (spec.get("value") is None or not spec.get("values")):
        raise c.fail(f"{what}: a fixed finding needs value (a selector) and values (value -> state)", at)
    if (spec.get("value") is None) != (not spec.get("values")):
        raise c.fail(f"{what}: value (a selector) and values (value -> state) go together", at)
    record = str(spec.get("record", "per-code"))
    if record not in _RECORDS:
        raise c.fail(f"{what}: record must be one of {', '.join(_RECORDS)}", at)
    if spec.get("properties") and record != "per-resource":
        raise c.fail(f"{what}: properties of a record need record: per-resource", at)
    if spec.get("properties") is not None and not isinstance(spec.get("properties"), list):
        raise c.fail(f"{what}: properties must be a list", at)
    return FindingRule(
        key=key,
        resource=str(spec.get("resource", "")),
        states=table(spec.get("states"), what, at),
        code_element=str(spec["code"]) if spec.get("code") is not None else None,
        codes=codes(spec["codes"], what, at) if spec.get("codes") is not None else None,
        extension=str(spec["extension"]) if spec.get("extension") is not None else None,
        codes_of=c.selector(spec["codes_of"], f"{what} codes_of", at) if spec.get("codes_of") else None,
        references_of=c.selector(spec["references_of"], f"{what} references_of", at) if spec.get("references_of") else None,
        finding=c.iri(spec["finding"], f"{what} finding", at) if spec.get("finding") else None,
        value=c.selector(spec["value"], f"{what} value", at) if spec.get("value") else None,
        values={str(k).lower() if isinstance(k, bool) else str(k): c.state(v, f"{what} values", at)
                for k, v in (spec.get("values") or {}).items()},
        state=c.state(spec["state"], f"{what} state", at) if spec.get("state") is not None else None,
        pick=_pick(c, spec, "all"),
        record=record,
        properties=tuple(_record_property(c, item, table, codes, what, at) for item in spec.get("properties") or []),
    )


def _record_property(c: _Compiler, spec: Any, table: Any, codes: Any, rule: str, at: str) -> RecordProperty:
    if not isinstance(spec, dict) or not spec.get("property") or not spec.get("value"):
        raise c.fail(f"{rule} properties: each needs property and value (a selector)", at)
    what = f"{rule} property {spec['property']}"
    if bool(spec.get("values")) == bool(spec.get("datatype")):
        raise c.fail(f"{what}: needs exactly one of values (value -> IRI) or datatype", at)
    return RecordProperty(
        property=c.iri(spec["property"], what, at),
        resource=str(spec.get("resource") or ""),
        codes=codes(spec.get("codes"), what, at),
        value=c.selector(spec["value"], f"{what} value", at),
        states=table(spec.get("states"), what, at),
        link=str(spec.get("link") or "focus"),
        values={str(k): c.iri(v, f"{what} values", at) for k, v in (spec.get("values") or {}).items()},
        datatype=c.iri(spec["datatype"], f"{what} datatype", at) if spec.get("datatype") else None,
    )


def _property_rule(c: _Compiler, spec: dict[str, Any], table: Any, codes: Any) -> PropertyRule:
    name, at = str(spec["property"]), spec["_where"]
    what = f"properties {name}"
    aggregate = spec.get("aggregate")
    if aggregate not in (None, "count"):
        raise c.fail(f"{what}: aggregate must be count", at)
    if aggregate is None and not spec.get("value"):
        raise c.fail(f"{what}: needs value (a selector) or aggregate", at)
    years_until = spec.get("years_until")
    if years_until is not None and (years_until not in _YEARS_UNTIL or aggregate is not None):
        raise c.fail(f"{what}: years_until must be one of {', '.join(_YEARS_UNTIL)}, with a value (not an aggregate)", at)
    return PropertyRule(
        property=c.iri(name, what, at),
        datatype=c.iri(spec.get("datatype", ""), f"{what} datatype", at),
        resource=str(spec.get("resource", "")),
        codes=codes(spec.get("codes"), what, at) if spec.get("codes") is not None else frozenset(),
        states=table(spec.get("states"), what, at) if spec.get("states") is not None else (StateStep(None, {}, "present"),),
        value=c.selector(spec["value"], f"{what} value", at) if spec.get("value") else None,
        aggregate=aggregate,
        pick=_pick(c, spec, "latest"),
        years_until=years_until,
    )


def _recurrence_rule(c: _Compiler, spec: dict[str, Any], table: Any, codes: Any) -> RecurrenceRule:
    at = spec.get("_where")
    try:
        categories = tuple(
            CategoryRule(
                property=c.iri(cat["property"], "recurrence category", at),
                codes=codes(cat["codes"], "recurrence category", at),
                value=c.selector(cat["value"], "recurrence category value", at),
                values={str(k): c.iri(v, "recurrence category values", at) for k, v in cat["values"].items()},
                states=table(cat["states"], "recurrence category", at),
            )
            for cat in spec.get("categories") or []
        )
        sites = {
            str(site): (frozenset(c.iri(v, "recurrence sites", at) for v in (body.get("categories") or [])),
                        frozenset(c.curie(v, "recurrence sites", at) for v in (body.get("body_sites") or [])))
            for site, body in spec["sites"].items()
        }
        classes = {frozenset(str(k).split()): c.iri(v, "recurrence classes", at) for k, v in spec["classes"].items()}
        return RecurrenceRule(
            status=c.selector(spec["status"], "recurrence status", at),
            recurrent=frozenset(str(v) for v in spec["recurrent"]),
            categories=categories,
            body_site=c.selector(spec["body_site"], "recurrence body_site", at) if spec.get("body_site") else None,
            sites=sites,
            classes=classes,
            unknown_site=c.iri(spec["unknown_site"], "recurrence unknown_site", at),
        )
    except (KeyError, TypeError, AttributeError):
        raise c.fail("recurrence needs status, recurrent, sites, classes and unknown_site", at) from None


def _sssom_header(path: Path) -> dict[str, Any]:
    try:
        lines = [line[1:] for line in path.read_text(encoding="utf-8").splitlines() if line.startswith("#")]
        header = yaml.safe_load("\n".join(lines)) or {}
    except (OSError, yaml.YAMLError):
        raise FhirMappingError("cannot read the SSSOM header (# lines) of the code table", path=str(path)) from None
    return header if isinstance(header, dict) else {}


def _sssom_rows(path: Path, where: str) -> tuple[dict[str, str], list[dict[str, str]]]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        raise FhirMappingError("cannot read the code table named by code_tables", path=str(path)) from None
    header_lines = [line[1:] for line in text.splitlines() if line.startswith("#")]
    try:
        header = yaml.safe_load("\n".join(header_lines)) or {}
    except yaml.YAMLError:
        raise FhirMappingError("the SSSOM header (# lines) is not valid YAML", path=str(path)) from None
    body = "\n".join(line for line in text.splitlines() if not line.startswith("#"))
    rows = list(csv.DictReader(io.StringIO(body), delimiter="\t"))
    if rows and any(column not in rows[0] for column in _SSSOM_COLUMNS):
        raise FhirMappingError(f"a code table needs the columns {', '.join(_SSSOM_COLUMNS)}", path=str(path))
    return {str(k): str(v) for k, v in (header.get("curie_map") or {}).items()}, rows


def _code_rows(c: _Compiler, tables: Iterable[tuple[Path, str]], inline: Iterable[tuple[dict[str, Any], str]],
               systems: Mapping[str, str], granularity: Mapping[str, tuple[str, str]]) -> dict[str, tuple[CodeRow, ...]]:
    sources: list[tuple[str, dict[str, str], list[dict[str, Any]]]] = []
    for path, _where in tables:
        curie_map, rows = _sssom_rows(path, _where)
        for prefix, base in curie_map.items():
            if prefix in c.prefixes and c.prefixes[prefix] != base:
                raise FhirMappingError(f"curie_map binds {prefix} to another IRI than the mapping's prefixes", path=str(path))
        sources.append((str(path), curie_map, rows))
    grouped: dict[str, list[dict[str, Any]]] = {}
    for row, where in inline:
        grouped.setdefault(where, []).append(row)
    sources += [(where, {}, rows) for where, rows in grouped.items()]
    code_prefixes = set(systems.values())
    table: dict[str, list[CodeRow]] = {}
    for where, curie_map, rows in sources:
        known = {**curie_map, **c.prefixes}
        seen_here: set[str] = set()
        for number, row in enumerate(rows, start=1):
            at = f"{where} row {number}"
            try:
                code, predicate, target = (str(row[k]).strip() for k in _SSSOM_COLUMNS)
            except KeyError:
                raise FhirMappingError(f"row {number}: needs {', '.join(_SSSOM_COLUMNS)}", path=where) from None
            prefix = code.partition(":")[0]
            if prefix not in code_prefixes:
                raise FhirMappingError(f"row {number}: the code's prefix {prefix!r} has no FHIR system in `systems`", path=where)
            if predicate not in granularity:
                raise FhirMappingError(f"row {number}: predicate {predicate!r} is not in `granularity`", path=where)
            target_prefix, _, local = target.partition(":")
            if target_prefix not in known:
                raise FhirMappingError(f"row {number}: unknown prefix in object_id", path=where)
            confidence = row.get("confidence")
            if code not in seen_here:
                table[code] = []  # a later file that maps a code replaces every earlier row of it
                seen_here.add(code)
            table[code].append(CodeRow(
                code=code, label=str(row.get("subject_label") or ""), predicate=predicate,
                negated=str(row.get("predicate_modifier") or "").strip() == "Not",
                target=known[target_prefix] + local, target_label=str(row.get("object_label") or ""),
                confidence=float(confidence) if confidence not in (None, "") else None,
                comment=str(row.get("comment") or ""), source=at,
            ))
    return {code: tuple(rows) for code, rows in table.items()}
