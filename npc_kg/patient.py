"""Patient graphs: read them from any input, build them from plain dicts, list their data errors.

The patient model is documented in ``docs/patient-model.md`` and checked by
``shapes/patient.ttl``. Nothing here knows a finding or criterion by name:

- the dict keys of scalar fields (``id``, ``age``, ...) are the ``sh:name`` of the property
  shapes in ``shapes/patient.ttl``;
- finding keys (``"distant_metastasis"``) come from the ontology and the loaded criteria packs:
  the snake_case local name, label or alternative label of a subclass of ``npc:Finding`` (a
  pack's new finding class gets its key the same way);
- categorical values (``"rT2"``, ``"present"``) are labels of the individuals listed by the
  shape's ``sh:in``.

Error messages name the patient, the record and the field, never the offending value.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote

from rdflib import RDF, RDFS, BNode, Dataset, Graph, Literal, URIRef
from rdflib.collection import Collection
from rdflib.namespace import XSD
from rdflib.term import Node

from npc_kg.errors import InputError, LimitError, PatientModelError
from npc_kg.namespace import NPC, PATIENT, PREFIXES, SH, curie
from npc_kg.rdfio import FORMATS_BY_SUFFIX, check_terms, parse_file, parse_text
from npc_kg.shacl.reference import ShaclResult, ValidationRun
from npc_kg.shacl.shapes import shapes_graph
from npc_kg.suggest import did_you_mean

__all__ = [
    "PatientInput",
    "check_findings",
    "check_patients",
    "data_errors",
    "dict_keys",
    "finding_keys",
    "patient_from_dict",
    "patients_in",
    "read_patient",
]

PatientInput = Graph | str | Path | Mapping[str, Any]
"""What :func:`read_patient` accepts: a Graph, a path, RDF text (Turtle or JSON-LD) or a dict."""

_LOCK = threading.Lock()
_VOCAB: dict[tuple[str, ...], dict[str, Any]] = {}
_NOT_RECORDED = {"", "unknown", "not recorded", "not_recorded", "none"}


# ---------------------------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------------------------


def read_patient(source: PatientInput) -> tuple[Graph, str]:
    """Return the patient graph of ``source`` and a name for it (file name, ``<string>``, ``<dict>``).

    A ``str`` is RDF text when it starts with ``{``/``[`` (JSON-LD) or spans several lines or
    does not end with a known RDF file extension (Turtle); otherwise it is a path. Parser
    messages are cut before any quoted input text, so patient values never reach the error.
    """
    try:
        return _read(source)
    except InputError as error:
        raise _without_excerpt(error) from None


def _read(source: PatientInput) -> tuple[Graph, str]:
    if isinstance(source, Dataset):  # its named graphs and default graph, as one graph (iterating it gives quads)
        union = Graph()
        for s, p, o, _graph in source.quads((None, None, None, None)):
            union.add((s, p, o))
        source = union
    if isinstance(source, Graph):
        check_terms(source, "<graph>")
        return source, "<graph>"
    if isinstance(source, Mapping):
        graph = patient_from_dict(source)
        check_terms(graph, "<dict>")
        return graph, "<dict>"
    if isinstance(source, Path):
        return parse_file(source), str(source)
    if isinstance(source, str):
        text = source.strip()
        if text.startswith(("{", "[")):
            return parse_text(source, "json-ld"), "<string>"
        if "\n" not in text and Path(text).suffix.lower() in FORMATS_BY_SUFFIX:
            return parse_file(text), text
        if "\n" in text or not text:
            return parse_text(source, "turtle"), "<string>"
        try:  # one line: a file name without an RDF extension, or one line of Turtle
            return parse_text(source, "turtle"), "<string>"
        except InputError as error:
            raise InputError(f"{error.message} (one line that does not end in an RDF file extension is read as Turtle "
                             f"text; give a file as a pathlib.Path, or a name ending in "
                             f"{', '.join(sorted(FORMATS_BY_SUFFIX))})", path="<string>", line=error.line,
                             column=error.column) from None
    raise InputError(f"cannot read a patient from a {type(source).__name__}")


_EXCERPT = re.compile(r"""(\s*at \^ in:.*|\s*in:\s*["'].*)$""", re.DOTALL)


def _without_excerpt(error: InputError) -> InputError:
    """Return ``error`` without the input excerpt that rdflib's Turtle parser appends."""
    message = _EXCERPT.sub("", getattr(error, "message", str(error)))
    rebuilt = type(error)(message, path=error.path, line=error.line, column=getattr(error, "column", None))
    return rebuilt


def patients_in(graph: Graph) -> list[Node]:
    """Return the ``npc:Patient`` nodes of ``graph``, sorted."""
    return sorted(set(graph.subjects(RDF.type, NPC.Patient)), key=str)


# ---------------------------------------------------------------------------------------------
# Data errors (results of shapes/patient.ttl)
# ---------------------------------------------------------------------------------------------


def _curie(node: Node) -> str:
    return curie(str(node)) if isinstance(node, URIRef) else str(node)


def _describe(result: ShaclResult, shapes: Graph) -> str:
    """Describe what is wrong from the constraint, never from the value."""
    shape = result.source_shape
    component = str(result.component or "").rsplit("#", 1)[-1]
    value = shapes.value
    if component == "MinCountConstraintComponent":
        return f"is missing (at least {value(shape, SH.minCount)} value needed)"
    if component == "MaxCountConstraintComponent":
        return f"has more than {value(shape, SH.maxCount)} value(s)"
    if component == "DatatypeConstraintComponent":
        return f"is not a valid {_curie(value(shape, SH.datatype))}"  # type: ignore[arg-type]
    if component == "OrConstraintComponent":
        head = value(shape, SH["or"])
        members: Iterable[Node] = Collection(shapes, head) if head else []
        allowed = [_curie(dt) for member in members for dt in shapes.objects(member, SH.datatype)]
        return f"is not a valid {' or '.join(allowed)}" if allowed else "matches none of the allowed forms"
    for name, text in (
        ("MinInclusive", "is below the minimum"),
        ("MaxInclusive", "is above the maximum"),
        ("MinExclusive", "is not above"),
        ("MaxExclusive", "is not below"),
    ):
        if component == f"{name}ConstraintComponent":
            bound = value(shape, SH[name[0].lower() + name[1:]])
            return f"{text} {bound}"
    if component == "InConstraintComponent":
        head = value(shape, SH["in"])
        allowed = [_curie(item) for item in Collection(shapes, head)] if head else []
        return f"is not one of {', '.join(allowed)}"
    if component == "NodeKindConstraintComponent":
        kind = _curie(value(shape, SH.nodeKind)).split(":")[-1]  # type: ignore[arg-type]
        names = {"BlankNodeOrIRI": "a resource (IRI or blank node)", "IRI": "named with an IRI", "Literal": "a literal"}
        return f"must be {names.get(kind, kind)}"
    custom = value(shape, SH.message)
    return str(custom) if custom is not None else f"breaks {component or 'a constraint'}"


class _Names:
    """How messages name the patients of ``data`` and their finding records: by place in IRI order
    (the order of :func:`patients_in` and of the assessments), never by IRI, which may hold an
    identifier such as a record number (``docs/reliability.md``)."""

    def __init__(self, data: Graph) -> None:
        self.data = data
        self.places = {patient: n for n, patient in enumerate(patients_in(data))}
        self._records: dict[Node, dict[Node, int]] = {}

    def patient(self, patient: Node) -> str:
        """``the patient`` (the only one), ``patient 2 of 3 (in IRI order)`` or ``a patient``."""
        blank = " (a blank node)" if isinstance(patient, BNode) else ""
        if patient not in self.places:
            return f"a patient{blank}"
        if len(self.places) == 1:
            return f"the patient{blank}"
        return f"patient {self.places[patient] + 1} of {len(self.places)} (in IRI order){blank}"

    def where(self, focus: Node) -> str:
        """The patient, and which of its finding records, a result on ``focus`` is about."""
        if focus in self.places:
            return self.patient(focus)
        owners = sorted(self.data.subjects(NPC.hasFinding, focus), key=str)
        if isinstance(focus, Literal):
            record = "a finding record that is a literal"
        elif not owners:
            return "a finding record that no patient names (npc:hasFinding)"
        else:
            records = self._records.get(owners[0])
            if records is None:  # once per patient: a patient may have thousands of records with errors
                ordered = sorted(set(self.data.objects(owners[0], NPC.hasFinding)), key=str)
                records = self._records[owners[0]] = {record: n for n, record in enumerate(ordered)}
            record = f"its finding record {records[focus] + 1} of {len(records)} (in IRI order)"
        return f"{self.patient(owners[0])}, {record}" if owners else record


def data_errors(run: ValidationRun, data: Graph, shapes: Graph | None = None) -> list[str]:
    """Return one line per patient-model error in ``run`` (results of shapes without ``npc:criterion``).

    ``shapes`` is the shapes graph of the run (default: the package's).
    """
    shapes = shapes if shapes is not None else shapes_graph()
    results = [r for r in run.results if shapes.value(r.source_shape, NPC.criterion) is None]
    type_components = ("DatatypeConstraintComponent", "OrConstraintComponent")
    typed = {(r.focus, r.path) for r in results if str(r.component).endswith(type_components)}
    names = _Names(data)
    lines = set()
    for result in results:
        component = str(result.component)
        if (result.focus, result.path) in typed and ("Inclusive" in component or "Exclusive" in component):
            continue  # an ill-typed value also fails its range; report the type only
        name = shapes.value(result.source_shape, SH.name)
        field = str(name) if name is not None else "value"
        if result.path is not None:
            field += f" ({_curie(result.path)})"
        lines.add(f"{names.where(result.focus)}: {field}: {_describe(result, shapes)}")
    return sorted(lines, key=_numbers_in_order)


def _numbers_in_order(line: str) -> list[Any]:
    """A sort key that puts ``patient 2 of 12`` before ``patient 10 of 12``."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", line)]


def check_findings(graph: Graph, patients: Iterable[Node], where: str) -> None:
    """Raise :class:`~npc_kg.errors.LimitError` if a patient has more finding records than the limit
    (:mod:`npc_kg.limits`, ``--max-findings`` / ``NPC_KG_MAX_FINDINGS``)."""
    from npc_kg.limits import current, how_to_raise

    limit = current().max_findings
    names = _Names(graph)
    for patient in patients:
        count = sum(1 for _ in zip(graph.objects(patient, NPC.hasFinding), range(limit + 1), strict=False))
        if count > limit:
            raise LimitError(f"{names.patient(patient)} has more than {limit} finding records "
                             f"({how_to_raise('max_findings')})", path=where)


def check_patients(graph: Graph, where: str) -> list[Node]:
    """Return the patients of ``graph``; raise :class:`PatientModelError` if there are none."""
    found = patients_in(graph)
    if not found:
        raise PatientModelError(f"{where}: no npc:Patient in the input", [f"{where}: no npc:Patient in the input"])
    return found


# ---------------------------------------------------------------------------------------------
# Plain dicts
# ---------------------------------------------------------------------------------------------


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


def _vocabulary() -> dict[str, Any]:
    """Dict keys and values, read from shapes/patient.ttl and the merged graph of the active
    configuration (cached per configuration)."""
    from npc_kg.kg.packs import active_packs, finding_key, pack_key, pack_subjects

    chosen = active_packs()
    config = pack_key(chosen)
    with _LOCK:
        found = _VOCAB.get(config)
        if found is not None:
            return found
        from npc_kg.kg.load import load

        shapes = shapes_graph(chosen)
        kg = load(packs=chosen)
        fields: dict[str, dict[str, tuple[URIRef, Any]]] = {"patient": {}, "record": {}}
        levels = [(s, "patient") for s in shapes.subjects(SH.targetClass, NPC.Patient)]
        levels += [(s, "record") for s in shapes.subjects(SH.targetObjectsOf, NPC.hasFinding)]
        for node_shape, level in levels:
            for prop in shapes.objects(node_shape, SH.property):
                name, path = shapes.value(prop, SH.name), shapes.value(prop, SH.path)
                if name is not None and isinstance(path, URIRef):
                    fields[level][str(name)] = (path, _value_rule(shapes, kg, prop))
        findings: dict[str, URIRef] = {}
        ambiguous: set[str] = set()
        finding_classes = _subclasses(kg, NPC.Finding)
        own = {iri for pack in chosen for iri in pack_subjects(pack)}
        for cls in sorted(finding_classes, key=str):
            keys = {_slug(str(label)) for p in (RDFS.label, _skos("altLabel")) for label in kg.objects(cls, p)}
            if str(cls).startswith(str(NPC._NS)) or str(cls) in own:  # npc-kg's or a pack's own: its local name too
                keys.add(finding_key(str(cls), "_"))
            for key in keys:
                if key in findings and findings[key] != cls:
                    ambiguous.add(key)
                findings.setdefault(key, cls)
        for key in ambiguous:
            del findings[key]
        narrower = _subclasses(kg, NPC.ResidualOrRecurrentDisease) - {NPC.ResidualOrRecurrentDisease}
        episodes = {k: c for k, c in findings.items() if c in narrower}
        vocabulary = _VOCAB[config] = {"fields": fields, "findings": findings, "episodes": episodes}
        return vocabulary


def _skos(local: str) -> URIRef:
    return URIRef(PREFIXES["skos"] + local)


def _subclasses(kg: Graph, root: URIRef) -> set[URIRef]:
    found, todo = {root}, [root]
    while todo:
        for sub in kg.subjects(RDFS.subClassOf, todo.pop()):
            if isinstance(sub, URIRef) and sub not in found:
                found.add(sub)
                todo.append(sub)
    return found


def _value_rule(shapes: Graph, kg: Graph, prop: Node) -> Any:
    """Return a datatype IRI, or a {label: individual} dict for an sh:in list."""
    datatype = shapes.value(prop, SH.datatype)
    if datatype is not None:
        return datatype
    head = shapes.value(prop, SH["or"])
    if head is not None:
        for member in Collection(shapes, head):
            datatype = shapes.value(member, SH.datatype)
            if datatype is not None:
                return datatype
    head = shapes.value(prop, SH["in"])
    if head is not None:
        return {_slug(str(label)): item for item in Collection(shapes, head) for label in kg.objects(item, RDFS.label)}
    return None


def dict_keys() -> dict[str, list[str]]:
    """Return the accepted dict keys: patient fields, record fields, finding keys (for docs and errors)
    of the active configuration."""
    vocab = _vocabulary()
    return {
        "patient": sorted(vocab["fields"]["patient"]),
        "record": sorted(vocab["fields"]["record"]),
        "findings": sorted(vocab["findings"]),
    }


def finding_keys() -> dict[str, URIRef]:
    """Return the finding keys of a patient dict and the finding class each one records."""
    return dict(_vocabulary()["findings"])


def _literal(value: Any, datatype: URIRef) -> Literal:
    """A literal of the shape's datatype; a value that does not fit stays ill-typed for the shapes to report."""
    if datatype == XSD.string and isinstance(value, str):
        return Literal(value)
    text = str(value).lower() if isinstance(value, bool) else str(value)
    return Literal(text, datatype=datatype)


def _set_field(graph: Graph, node: Node, field: str, value: Any, rule_table: Mapping[str, tuple[URIRef, Any]],
               errors: list[str], where: str) -> None:
    path, rule = rule_table[field]
    if isinstance(rule, dict):
        individual = rule.get(_slug(str(value)))
        if individual is None:
            errors.append(f"{where}: field {field!r} is not one of {', '.join(sorted(rule))}")
            return
        graph.add((node, path, individual))
    elif isinstance(rule, URIRef):
        graph.add((node, path, _literal(value, rule)))
    else:
        errors.append(f"{where}: field {field!r} cannot be set from a dict")


def _episode_class(word: str, episodes: Mapping[str, URIRef]) -> URIRef | None:
    slug = _slug(word)
    matches = {cls for key, cls in episodes.items() if key == slug or key.startswith(slug + "_")}
    return matches.pop() if len(matches) == 1 else None


def patient_from_dict(d: Mapping[str, Any], *, packs: Iterable[Any] | None = None) -> Graph:
    """Build a patient graph from a plain dict (layout in ``docs/patient-model.md``); the finding keys
    of the criteria ``packs`` (default: the active configuration's) are accepted too.

    ``{"id": "P-1", "age": 58, "radiotherapy_courses": 1,
    "recurrences": [{"site": "local", "kind": "recurrence", "rT": "rT2", "rN": "rN0",
    "months_since_radiotherapy": 18}],
    "findings": {"skull_base_bone_destruction": "absent", "cranial_nerve_palsy": "present"}}``

    Unknown keys or values raise :class:`PatientModelError`; ill-typed values (``"age": "abc"``)
    are kept and reported by the patient shapes.
    """
    from npc_kg.kg.packs import using_packs

    with using_packs(packs):
        return _from_dict(d)


def _from_dict(d: Mapping[str, Any]) -> Graph:
    if not isinstance(d, Mapping):
        raise PatientModelError("<dict>: a patient must be a dict", [f"<dict>: got a {type(d).__name__}"])
    vocab = _vocabulary()
    patient_fields, record_fields = vocab["fields"]["patient"], vocab["fields"]["record"]
    status_field = next(name for name, (path, _r) in record_fields.items() if path == NPC.findingStatus)
    errors: list[str] = []
    identifier = d.get("id")
    if identifier is None or str(identifier).strip() == "":
        raise PatientModelError("<dict>: the patient dict needs an 'id'", ["<dict>: field 'id' is missing"])
    key = quote(str(identifier), safe="")
    patient = PATIENT[key]
    where = "<dict> patient"  # its IRI holds the dict's id: never in a message
    graph = Graph()
    for prefix, iri in PREFIXES.items():
        graph.bind(prefix, iri)
    graph.add((patient, RDF.type, NPC.Patient))
    for field, value in d.items():
        if field in ("recurrences", "findings"):
            continue
        if field not in patient_fields:
            errors.append(f"{where}: {_unknown_key('field', field, {*patient_fields, 'findings', 'recurrences'})}")
        elif value is not None:
            _set_field(graph, patient, field, value, patient_fields, errors, where)
    for index, entry in enumerate(_as_list(d.get("recurrences"), "recurrences", where, errors), start=1):
        record = PATIENT[f"{key}/recurrence-{index}"]
        here = f"{where}, recurrences[{index - 1}]"
        if not isinstance(entry, Mapping):
            errors.append(f"{here}: must be a dict")
            continue
        graph.add((patient, NPC.hasFinding, record))
        typed = False
        for part in ("site", "kind"):
            if entry.get(part) is None:
                continue
            cls = _episode_class(str(entry[part]), vocab["episodes"])
            if cls is None:
                errors.append(f"{here}: field {part!r} names no single kind of residual or recurrent disease")
            else:
                graph.add((record, RDF.type, cls))
                typed = True
        if not typed:
            graph.add((record, RDF.type, NPC.ResidualOrRecurrentDisease))
        fields = {status_field: "present", **{k: v for k, v in entry.items() if k not in ("site", "kind")}}
        for field, value in fields.items():
            if field not in record_fields:
                errors.append(f"{here}: {_unknown_key('field', field, {'site', 'kind', *record_fields})}")
            elif value is not None:
                _set_field(graph, record, field, value, record_fields, errors, here)
    findings = d.get("findings") or {}
    if not isinstance(findings, Mapping):
        errors.append(f"{where}: field 'findings' must be a dict of finding key to present/absent")
        findings = {}
    for name, status in findings.items():
        cls = vocab["findings"].get(_slug(str(name)))
        if cls is None:
            errors.append(f"{where}: {_unknown_key('finding', name, vocab['findings'])} (npc_kg.patient.dict_keys() lists them)")
            continue
        if status is None or _slug(str(status)).replace("_", " ") in _NOT_RECORDED:
            continue
        record = PATIENT[f"{key}/finding-{_slug(str(name))}"]
        before = len(errors)
        _set_field(graph, record, status_field, status, record_fields, errors, f"{where}, finding {_slug(str(name))!r}")
        if len(errors) == before:
            graph.add((patient, NPC.hasFinding, record))
            graph.add((record, RDF.type, cls))
    if errors:
        raise PatientModelError(f"<dict>: {len(errors)} error(s) in the patient dict", errors)
    return graph


def _unknown_key(what: str, key: Any, known: Iterable[str]) -> str:
    """"unknown field; did you mean 'age'? (choose from ...)" without the key itself, which may be a value
    put in the wrong place."""
    hint = did_you_mean(str(key), known)
    listed = ", ".join(sorted(known))
    return f"unknown {what} key (not shown: it may hold patient data)" + (
        f"; {hint}" if hint else "") + f" (choose from {listed})"


def _as_list(value: Any, field: str, where: str, errors: list[str]) -> Iterable[Any]:
    if value is None:
        return []
    if isinstance(value, list | tuple):
        return value
    errors.append(f"{where}: field {field!r} must be a list")
    return []

