"""``npc-kg synth --format fhir-ndjson``: the synthetic cohort as a FHIR Bulk Data export (one NDJSON file per type).

The same patients as the N-Triples of :mod:`npc_kg.cohort.synth` (same seed, same draws), written
with the templates of ``mappings/fhir-synth.yaml``: this module fills them and holds no code of
its own. Every patient property and finding record is carried: age (``Patient.birthDate`` at the
template's reference date), ECOG, radiotherapy courses, every recurrence record with its status,
site and kind classes, rT, rN and months since radiotherapy (Observations that focus on it),
and every other finding record, present or absent. A patient's only recurrence is written the
mCODE way (the cancer Condition in recurrence, restaging observations) when the recurrence rule
of ``mappings/fhir-mcode.yaml`` reads it back exactly. Findings without a checked code use the
template's test code system, which ``tests/data/fhir/synth-mapping.yaml`` maps (``--mapping``).

Defects (``error_rate``): a FHIR export cannot hold an ill-typed literal or a record without a
status, so only the unreadable record is written (one line of the patient cut short: not JSON,
still naming the patient); other defects are not written. The folder is written beside the
target and moved into place; an existing non-empty folder is refused.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import zlib
from collections.abc import Iterable, Iterator, Mapping
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from rdflib import RDFS, URIRef

from npc_kg.errors import InputError, OutputError
from npc_kg.namespace import NPC
from npc_kg.resources import data_path

if TYPE_CHECKING:  # pragma: no cover
    from npc_kg.cohort.synth import SynthFinding, SynthPatient
    from npc_kg.fhir.mapping import RecurrenceRule

__all__ = ["FORMAT", "FhirWriter", "load_template", "write_export"]

FORMAT = "npc-kg-fhir-synth/1"
_PRESENT, _ABSENT = str(NPC.Present), str(NPC.Absent)


def load_template(path: str | Path | None = None) -> dict[str, Any]:
    """The FHIR templates of the synthetic export (default ``mappings/fhir-synth.yaml``)."""
    import yaml

    where = Path(path) if path is not None else data_path("mappings", "fhir-synth.yaml")
    try:
        doc = yaml.safe_load(where.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise InputError(f"cannot read the synthetic FHIR templates: {type(error).__name__}", path=str(where)) from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise InputError(f"format must be {FORMAT}", path=str(where))
    return doc


def _fill(template: Any, values: Mapping[str, Any]) -> Any:
    """``template`` with ``"{name}"`` strings replaced by ``values[name]`` (kept as is) and ``{name}`` inside text."""
    if isinstance(template, dict):
        return {k: _fill(v, values) for k, v in template.items()}
    if isinstance(template, list):
        return [_fill(v, values) for v in template]
    if isinstance(template, str) and "{" in template:
        if template.startswith("{") and template.endswith("}") and template[1:-1] in values:
            return values[template[1:-1]]
        for name, value in values.items():
            template = template.replace("{" + name + "}", str(value))
    return template


def _literal(term: str) -> Any:
    """A synthetic N-Triples term as a JSON value: IRIs as strings, integers and decimals as numbers."""
    if term.startswith("<"):
        return term[1:-1]
    lexical, _, datatype = term[1:].partition('"^^<')
    kind = datatype.rstrip(">").rsplit("#", 1)[-1]
    try:
        if kind == "integer":
            return int(lexical)
        if kind == "decimal":
            return float(lexical)
    except ValueError:
        return None  # an ill-typed literal (a defect): not written
    return lexical


@dataclass
class _Expanded:
    prefixes: dict[str, str]

    def iri(self, curie: str) -> str:
        prefix, _, local = curie.partition(":")
        if prefix not in self.prefixes:
            raise InputError(f"unknown prefix {prefix!r} in the synthetic FHIR templates")
        return self.prefixes[prefix] + local


class FhirWriter:
    """Turns synthetic patients into FHIR resources with the templates (and the shipped mapping's recurrence rule)."""

    def __init__(self, template: Mapping[str, Any] | None = None) -> None:
        from npc_kg.fhir.bundle import default_mapper
        from npc_kg.kg.load import load

        doc = dict(template) if template is not None else load_template()
        x = _Expanded({str(k): str(v) for k, v in doc["prefixes"].items()})
        self.doc = doc
        self.reference = date.fromisoformat(str(doc["reference_date"]))
        self.date = str(doc["date"])
        self.birth_property = x.iri(doc["patient"]["birth_date"])
        records = doc["records"]
        self.codes = {x.iri(k): v for k, v in records["codes"].items()}
        self.special = {(x.iri(s["class"]), {"present": _PRESENT, "absent": _ABSENT}[s["status"]]): s["resource"]
                        for s in records.get("special") or []}
        self.properties = {x.iri(k): v for k, v in doc["properties"].items()}
        self.record_properties = {x.iri(k): (v, {x.iri(a): b for a, b in (v.get("values") or {}).items()})
                                  for k, v in records["properties"].items()}
        self.recurrence_properties = {x.iri(k): (v, {x.iri(a): b for a, b in (v.get("values") or {}).items()})
                                      for k, v in (doc.get("recurrence") or {}).get("properties", {}).items()}
        self.rule: RecurrenceRule | None = default_mapper().mapping.recurrence
        kg = load()
        self.recurrent: frozenset[str] = frozenset()
        if self.rule is not None:
            root = URIRef(self.rule.unknown_site)
            self.recurrent = frozenset({str(c) for c in kg.transitive_subjects(RDFS.subClassOf, root)})

    # -- the mCODE way of one recurrence --------------------------------------------------------------
    def _mcode_recurrence(self, patient: SynthPatient) -> SynthFinding | None:
        rule = self.rule
        episodes = [f for f in patient.findings if any(c in self.recurrent for c in f.classes)]
        if rule is None or len(episodes) != 1:
            return None
        [record] = episodes
        texts = {prop: (tpl, values) for prop, (tpl, values) in self.recurrence_properties.items()}
        if record.statuses != [_PRESENT] or len(record.classes) != 1 or any(p not in texts for p, _o in record.props):
            return None
        values = {o[1:-1] for _p, o in record.props}
        categories = {c.property: c.values for c in rule.categories}
        for prop, term in record.props:  # the text written must read back as the same value
            text = texts[prop][1].get(term[1:-1])
            if text is None or categories.get(prop, {}).get(text) != term[1:-1]:
                return None
        sites = {site for site, (cats, _bodies) in rule.sites.items() if cats & values}
        derived = rule.classes.get(frozenset(sites), rule.unknown_site) if sites else rule.unknown_site
        return record if derived == record.classes[0] else None

    # -- resources ------------------------------------------------------------------------------------
    def resources(self, patient: SynthPatient) -> Iterator[dict[str, Any]]:
        """The FHIR resources of one synthetic patient (the Patient first)."""
        pid = patient.identifier or patient.iri.rsplit("/", 1)[-1]
        base = {"pid": pid, "date": self.date}
        props = {p: _literal(o) for p, o in patient.props}
        person = _fill(self.doc["patient"]["resource"], base)
        age = props.get(self.birth_property)
        if isinstance(age, int):
            shift = zlib.crc32(pid.encode()) % 365
            born = date(self.reference.year - age, self.reference.month, self.reference.day) - timedelta(days=shift)
            person["birthDate"] = born.isoformat()
        yield person
        mcode = self._mcode_recurrence(patient)
        cancer = self.doc["cancer"]
        yield _fill(cancer["resource"], {**base, "id": f"{pid}-{cancer['id']}",
                                          "clinical": cancer["recurrent"] if mcode is not None else cancer["clinical"]})
        for prop, value in props.items():
            spec = self.properties.get(prop)
            if spec is None or value is None:
                continue
            if spec.get("repeat"):
                for n in range(1, int(value) + 1):
                    yield _fill(spec["resource"], {**base, "id": f"{pid}-{spec['id']}-{n}"})
            else:
                yield _fill(spec["resource"], {**base, "id": f"{pid}-{spec['id']}", "value": value})
        for record in patient.findings:
            if record is mcode:
                for prop, term in record.props:
                    spec, values = self.recurrence_properties[prop]
                    yield _fill(spec["resource"], {**base, "id": f"{pid}-{record.key}-{spec['id']}",
                                                   "value": values[term[1:-1]]})
                continue
            yield from self._record(record, pid, base)

    def _record(self, record: SynthFinding, pid: str, base: dict[str, Any]) -> Iterator[dict[str, Any]]:
        if len(record.statuses) != 1 or record.statuses[0] not in (_PRESENT, _ABSENT):
            return  # a record without one status (a defect): FHIR cannot say it
        status = record.statuses[0]
        codings = [self.codes[c] for c in record.classes if c in self.codes]
        rid = f"{pid}-{record.key}"
        special = self.special.get((record.classes[0], status)) if len(record.classes) == 1 else None
        if special is None and not codings:
            return  # no coding for its classes: not written
        template = special if special is not None else \
            self.doc["records"]["condition"]["present" if status == _PRESENT else "absent"]
        resource = _fill(template, {**base, "id": rid, "codings": codings})
        yield resource
        reference = f"{resource['resourceType']}/{rid}"
        for prop, term in record.props:
            found = self.record_properties.get(prop)
            value = _literal(term)
            if found is None or value is None:
                continue
            spec, values = found
            if values:
                value = values.get(str(value))
                if value is None:
                    continue
            yield _fill(spec["resource"], {**base, "id": f"{rid}-{spec['id']}", "value": value, "record": reference})


def _dumps(resource: Mapping[str, Any]) -> bytes:
    try:
        import orjson

        return orjson.dumps(resource)
    except ImportError:  # pragma: no cover - the fhir extra brings orjson
        return json.dumps(resource, separators=(",", ":")).encode("utf-8")


def write_export(patients: Iterable[SynthPatient], folder: str | Path, *, template: Mapping[str, Any] | None = None) -> int:
    """Write ``patients`` as a Bulk Data export in ``folder`` (one ``<Type>.ndjson`` per resource type); return the count.

    The folder is written beside the target and moved into place; an existing folder must be empty.
    """
    target = Path(folder)
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise OutputError(f"{target}: exists and is not an empty folder; give a new folder for the export")
    parent = target.parent if str(target.parent) else Path(".")
    if not parent.is_dir():
        raise OutputError(f"{target}: directory {parent} does not exist")
    writer = FhirWriter(template)
    work = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=parent))
    count = 0
    try:
        with ExitStack() as stack:
            handles: dict[str, IO[bytes]] = {}
            for patient in patients:
                lines = [(r["resourceType"], _dumps(r)) for r in writer.resources(patient)]
                if patient.defect == "syntax" and len(lines) > 1:
                    kind, text = lines[-1]
                    lines[-1] = (kind, text[:-1])  # cut short: not JSON, and the line still names the patient
                for kind, text in lines:
                    handle = handles.get(kind)
                    if handle is None:
                        handle = handles[kind] = stack.enter_context((work / f"{kind}.ndjson").open("wb"))
                    handle.write(text + b"\n")
                count += 1
        os.chmod(work, 0o777 & ~_umask())
        if target.exists():
            target.rmdir()
        os.replace(work, target)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return count


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
