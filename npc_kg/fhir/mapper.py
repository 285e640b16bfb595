"""Map the resources of one FHIR patient to a :class:`FhirPatient`, as the mapping file says.

Generic: the rules (:mod:`npc_kg.fhir.mapping`) say which resources, codes, states and values
matter. Resources are first sorted by type; a rule then keeps only the resources whose code (or
extension URL) it reads, in plain Python, and only then evaluates its FHIRPath selectors.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from typing import Any

from npc_kg.fhir.elements import MalformedElement, codings, concept_problem
from npc_kg.fhir.errors import FhirInputError, MalformedElementError
from npc_kg.fhir.mapping import CodeRow, FhirMapping, FindingRule, PropertyRule, RecordProperty, StateStep
from npc_kg.fhir.model import FhirPatient, FindingRecord, ReadStats, SourceRef, Statement
from npc_kg.fhir.resources import reference_key
from npc_kg.fhir.triples import iri_part, patient_lines

__all__ = ["PatientMapper", "full_years"]

Item = tuple[dict[str, Any], SourceRef]
RecordKey = tuple[Any, ...]
"""(rule key, classes, status, code or resource reference): one finding record."""
_FULL_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})")
_PARTIAL_DATE = re.compile(r"(\d{4})(?:-(\d{2}))?")


def _date_problem(text: str, on: date) -> str | None:
    """What is wrong with the FHIR date ``text`` counted to ``on``, or None (a valid partial date)."""
    partial = _PARTIAL_DATE.fullmatch(text)
    if partial is not None:
        year, month = int(partial.group(1)), int(partial.group(2) or 1)
        if not 1 <= month <= 12:
            return "not a FHIR date (YYYY, YYYY-MM or YYYY-MM-DD)"
        return f"after the date of the assessment ({on.isoformat()})" if (year, month) > (on.year, on.month) else None
    try:
        date.fromisoformat(text[:10])
    except ValueError:
        return "not a FHIR date (YYYY, YYYY-MM or YYYY-MM-DD)"
    return f"after the date of the assessment ({on.isoformat()})" if _FULL_DATE.match(text) else \
        "not a FHIR date (YYYY, YYYY-MM or YYYY-MM-DD)"


def full_years(born: Any, on: date) -> int | None:
    """Full years from the FHIR date ``born`` to ``on`` (None for a partial date, or one after ``on``)."""
    found = _FULL_DATE.match(str(born))
    if found is None:
        return None
    try:
        start = date(int(found.group(1)), int(found.group(2)), int(found.group(3)))
    except ValueError:
        return None
    if start > on:
        return None
    return on.year - start.year - ((on.month, on.day) < (start.month, start.day))


def _concepts(resource: dict[str, Any], ref: SourceRef, element: str) -> Any:
    """The top-level code element ``element`` of ``resource``; :class:`FhirInputError` if it cannot be read."""
    value = resource.get(element)
    problem = concept_problem(ref.type, element, value)
    if problem is not None:
        raise _malformed(ref, f"{problem}; fix the resource")
    return value


def _malformed(ref: SourceRef, message: str) -> MalformedElementError:
    """The error for an element of the resource ``ref`` that cannot be read: file and JSON pointer, or file and line."""
    return MalformedElementError(message, **ref.place())


class PatientMapper:
    """Applies a compiled :class:`FhirMapping` to the resources of one patient."""

    def __init__(self, mapping: FhirMapping) -> None:
        self.mapping = mapping
        self.codes = mapping.codes
        self.scope_class = mapping.scope.cls
        self._counted: set[int] = set()
        self._own: dict[int, frozenset[str]] = {}
        self._elements: dict[tuple[int, str], list[str]] = {}
        self._lock = threading.Lock()

    # -- small helpers -----------------------------------------------------------------------------
    def _curies(self, value: Any, stats: ReadStats, *, finding_codes: bool = True) -> list[str]:
        """The CURIEs of the codings in ``value``; each coding of an unknown system is counted once in
        ``stats``, and so is each finding code (``finding_codes``) of a known system not in the code tables."""
        out = []
        counted = self._counted
        for coding in codings(value):
            system, code = coding.get("system"), coding.get("code")
            curie = self.mapping.code_of(system if isinstance(system, str) else None, code if isinstance(code, str) else None)
            first = id(coding) not in counted
            counted.add(id(coding))
            if curie is None:
                if first and isinstance(system, str) and system:
                    stats.unknown_systems[system] += 1
                continue
            if first and finding_codes and curie not in self.codes:
                stats.unmapped_codes += 1
            out.append(curie)
        return out

    def _value_keys(self, values: Iterable[Any], stats: ReadStats) -> list[str]:
        out: list[str] = []
        for value in values:
            if isinstance(value, bool):
                out.append("true" if value else "false")
            elif isinstance(value, dict):
                out += self._curies(value, stats)
            elif isinstance(value, int | float | str):
                out.append(str(value))
        return out

    @staticmethod
    def _evaluate(selector: Any, resource: dict[str, Any], ref: SourceRef) -> tuple[Any, ...]:
        try:
            return tuple(selector(resource))
        except MalformedElement as problem:
            raise _malformed(ref, f"{problem}; fix the resource") from None
        except Exception:  # fhirpathpy raises bare Exceptions on unexpected data
            raise FhirInputError(f"a FHIRPath selector of the mapping fails on this {ref.type} resource "
                                 f"({selector.expression!r}); check the resource against FHIR R4",
                                 **ref.place()) from None

    def _state(self, steps: Sequence[StateStep], resource: dict[str, Any], ref: SourceRef) -> str:
        for step in steps:
            if step.selector is None:
                return step.default or "present"
            for value in self._evaluate(step.selector, resource, ref):
                found = step.values.get(str(value).lower() if isinstance(value, bool) else str(value))
                if found is not None:
                    return found
        return "present"

    def _element_codes(self, resource: dict[str, Any], ref: SourceRef, element: str, stats: ReadStats) -> list[str]:
        """The codes of a top-level element of the resource (finding codes), once per resource and element."""
        key = (id(resource), element)
        found = self._elements.get(key)
        if found is None:
            found = self._elements[key] = self._curies(_concepts(resource, ref, element), stats)
        return found

    def _own_codes(self, resource: dict[str, Any], ref: SourceRef, stats: ReadStats) -> frozenset[str]:
        """The resource's own ``code`` (what kind of observation or procedure it is), once per resource."""
        found = self._own.get(id(resource))
        if found is None:
            codes = self._curies(_concepts(resource, ref, "code"), stats, finding_codes=False)
            found = self._own[id(resource)] = frozenset(codes)
        return found

    def _latest(self, items: Sequence[Item]) -> Item | None:
        if not items:
            return None
        selector = self.mapping.dates.get(items[0][1].type)
        best: tuple[str, int] | None = None
        for index, (resource, ref) in enumerate(items):
            date = ""
            if selector is not None:
                found = self._evaluate(selector, resource, ref)
                date = str(found[0]) if found else ""
            if best is None or (date, index) > best:
                best = (date, index)
        return items[best[1]] if best is not None else None

    def _finding_rows(self, curie: str) -> tuple[CodeRow, ...]:
        return tuple(row for row in self.codes.get(curie, ()) if row.target != self.scope_class)

    # -- the patient -------------------------------------------------------------------------------
    def map(self, items: Sequence[Item], *, source_id: str, where: str, patient_source: SourceRef | None,
            at: date | None = None) -> FhirPatient:
        """Map one patient's resources (already checked: one patient, no duplicate ids).

        Resources are taken in ``Type/id`` order, so the result does not depend on the order of
        the input (record names, ties between equal dates). ``at`` is the date of the assessment
        (for ``years_until: assessment``; default: today, UTC). One patient at a time per mapper
        (its per-patient caches are guarded by a lock).
        """
        with self._lock:
            return self._map(items, source_id=source_id, where=where, patient_source=patient_source,
                             at=at or datetime.now(UTC).date())

    def _map(self, items: Sequence[Item], *, source_id: str, where: str, patient_source: SourceRef | None,
             at: date) -> FhirPatient:
        mapping = self.mapping
        items = sorted(items, key=lambda item: (item[1].type, item[1].id))
        stats = ReadStats(resources=len(items))
        self._counted = set()
        self._own = {}
        self._elements = {}
        by_type: dict[str, list[Item]] = {}
        for item in items:
            kind = item[1].type
            if kind in mapping.read_types:
                by_type.setdefault(kind, []).append(item)
            elif kind != "Patient":
                stats.unused_types[kind] += 1
        statements: list[Statement] = []
        found: dict[RecordKey, list[SourceRef]] = {}  # (rule, classes, status, code) -> sources
        extras: dict[RecordKey, tuple[list[tuple[str, str]], list[tuple[str, str, str]]]] = {}  # record properties
        bridges: set[tuple[str, str]] = set()
        self._linked: dict[tuple[str, str], dict[str, list[Item]]] = {}

        # scope: the cancer conditions
        scope = mapping.scope
        cancer: list[Item] = []
        accepted_states: set[str] = set()
        for resource, ref in by_type.get(scope.resource, []):
            rows = [row for curie in self._element_codes(resource, ref, scope.code_element, stats)
                    for row in self.codes.get(curie, ()) if row.target == scope.cls and not row.negated]
            if not rows:
                continue
            state = self._state(scope.states, resource, ref)
            if state == "dropped":
                stats.dropped += 1
                continue
            if state == "present":
                cancer.append((resource, ref))
            if any(row.predicate in scope.accept for row in rows):
                accepted_states.add(state)

        # findings
        for rule in mapping.findings:
            self._apply(rule, by_type, stats, statements, found, bridges, extras)

        # properties
        properties: dict[str, tuple[Any, str, tuple[SourceRef, ...]]] = {}
        for prop in mapping.properties:
            candidates = [(r, ref) for r, ref in by_type.get(prop.resource, [])
                          if not prop.codes or self._own_codes(r, ref, stats) & prop.codes]
            if not candidates:
                continue
            states = [(self._state(prop.states, r, ref), r, ref) for r, ref in candidates]
            stats.dropped += sum(1 for s, _r, _ref in states if s == "dropped")
            kept = [(r, ref) for s, r, ref in states if s == "present"]
            if prop.aggregate == "count":
                if any(s != "dropped" for s, _r, _ref in states):
                    properties[prop.property] = (len(kept), prop.datatype, tuple(ref for _r, ref in kept))
                continue
            chosen = self._latest(kept) if prop.pick == "latest" else (kept[0] if kept else None)
            if chosen is not None and prop.value is not None:
                value = self._property_value(prop, chosen, at)
                if value is not None:
                    properties[prop.property] = (value, prop.datatype, (chosen[1],))

        # the recurrence record
        recurrence = self._recurrence(cancer, by_type, stats)

        # context
        context: dict[str, tuple[tuple[str, SourceRef], ...]] = {}
        for ctx in mapping.context:
            kept = [(r, ref) for r, ref in by_type.get(ctx.resource, [])
                    if self._own_codes(r, ref, stats) & ctx.codes and self._state(ctx.states, r, ref) == "present"]
            picked = ([self._latest(kept)] if ctx.pick == "latest" else kept) if kept else []
            values = tuple((v, item[1]) for item in picked if item is not None
                           for v in self._value_keys(self._evaluate(ctx.value, item[0], item[1]), stats))
            if values:
                context[ctx.key] = values

        iri = mapping.patient_base + iri_part(source_id)
        records: list[FindingRecord] = []
        if recurrence is not None:
            cls, props, sources = recurrence
            records.append(FindingRecord(f"{iri}/fhir/recurrence-1", (cls,), "present", "recurrence", sources, None, props))
        counters: dict[str, int] = {}
        for key, refs in found.items():
            rule_key, classes, status, code = key[:4]
            counters[rule_key] = counters.get(rule_key, 0) + 1
            extra_props, literals = extras.get(key, ([], []))
            records.append(FindingRecord(f"{iri}/fhir/{iri_part(rule_key)}-{counters[rule_key]}", classes, status, rule_key,
                                         tuple(dict.fromkeys(refs)), code, tuple(extra_props), tuple(literals)))
        used = {cls for record in records for cls in record.classes}
        bridge_list = tuple(sorted(b for b in bridges if b[0] in used))
        out_of_scope = None if "present" in accepted_states else self._reason(cancer, accepted_states)
        lines: tuple[str, ...] = ()
        if out_of_scope is None:
            lines = tuple(patient_lines(iri, source_id, patient_source,
                                        [(p, v, dt) for p, (v, dt, _s) in properties.items()], records,
                                        mapping.provenance_type_base))
        return FhirPatient(source_id=source_id, iri=iri, where=where, records=tuple(records), properties=properties,
                           statements=tuple(statements), context=context, stats=stats, out_of_scope=out_of_scope,
                           patient_source=patient_source, bridges=bridge_list, lines=lines)

    def _reason(self, cancer: Sequence[Item], accepted_states: set[str]) -> str:
        disease = self.mapping.curie_of(self.mapping.scope.cls)
        if accepted_states:
            return (f"the Condition coded as {disease} is ruled out or not confirmed, "
                    "so the patient has no recorded disease of the treatment")
        if cancer:
            return (f"only a code broader than {disease} is recorded (it is not enough on its own); "
                    "a Condition with a code the mapping accepts for the disease is needed")
        return f"no Condition coded as {disease} is recorded"

    def _property_value(self, prop: PropertyRule, chosen: Item, at: date) -> Any:
        """The value of a patient property from the chosen resource (None: not recorded)."""
        assert prop.value is not None
        values = self._evaluate(prop.value, chosen[0], chosen[1])
        if not values:
            return None
        if prop.years_until is not None:  # "assessment": full years up to the date of the assessment
            years = full_years(values[0], at)
            problem = _date_problem(str(values[0]), at) if years is None else None
            if problem is not None:
                raise _malformed(chosen[1], f"{chosen[1].type} {prop.value.expression}: {problem}; fix the resource")
            return years  # None for a partial date: not recorded (documented)
        return values[0]

    def _linked_to(self, link: str, kind: str, by_type: dict[str, list[Item]]) -> dict[str, list[Item]]:
        """``Type/id`` -> the resources of ``kind`` whose ``link`` element references it (once per patient)."""
        key = (link, kind)
        index = self._linked.get(key)
        if index is None:
            index = self._linked[key] = {}
            for resource, ref in by_type.get(kind, []):
                value = resource.get(link)
                for item in value if isinstance(value, list) else [value]:
                    if isinstance(item, dict) and isinstance(item.get("reference"), str):
                        named = reference_key(item["reference"], {})
                        if named is not None:
                            index.setdefault(named, []).append((resource, ref))
        return index

    def _record_properties(self, rule: FindingRule, ref: SourceRef, by_type: dict[str, list[Item]], stats: ReadStats
                           ) -> tuple[list[tuple[str, str]], list[tuple[str, str, str]], list[SourceRef]]:
        """The properties of the record of ``ref`` (a per-resource rule), and the resources they came from."""
        props: list[tuple[str, str]] = []
        literals: list[tuple[str, str, str]] = []
        sources: list[SourceRef] = []
        for prop in rule.properties:
            prop_rule: RecordProperty = prop
            linked = self._linked_to(prop_rule.link, prop_rule.resource, by_type).get(ref.reference, [])
            kept = [(r, source) for r, source in linked if self._own_codes(r, source, stats) & prop_rule.codes
                    and self._state(prop_rule.states, r, source) == "present"]
            chosen = self._latest(kept)
            if chosen is None:
                continue
            for value in self._evaluate(prop_rule.value, chosen[0], chosen[1]):
                text = str(value).lower() if isinstance(value, bool) else str(value).strip()
                if prop_rule.values:
                    target = prop_rule.values.get(text)
                    if target is None:
                        continue
                    props.append((prop_rule.property, target))
                else:
                    assert prop_rule.datatype is not None
                    literals.append((prop_rule.property, text, prop_rule.datatype))
                sources.append(chosen[1])
                break
        return props, literals, sources

    def _apply(self, rule: FindingRule, by_type: dict[str, list[Item]], stats: ReadStats, statements: list[Statement],
               found: dict[RecordKey, list[SourceRef]], bridges: set[tuple[str, str]],
               extras: dict[RecordKey, tuple[list[tuple[str, str]], list[tuple[str, str, str]]]]) -> None:
        items = by_type.get(rule.resource, [])
        selected: list[tuple[Item, list[str]]] = []
        for resource, ref in items:  # filter in plain Python: no FHIRPath yet
            if rule.code_element is not None:
                curies = self._element_codes(resource, ref, rule.code_element, stats)
                mapped = [c for c in curies if self._finding_rows(c)]
                if mapped:
                    selected.append(((resource, ref), mapped))
            elif rule.codes is not None:
                if self._own_codes(resource, ref, stats) & rule.codes:
                    selected.append(((resource, ref), []))
            elif rule.extension is not None:
                extensions = resource.get("extension")
                if isinstance(extensions, list) and any(isinstance(e, dict) and e.get("url") == rule.extension
                                                        for e in extensions):
                    selected.append(((resource, ref), []))
        if not selected:
            return
        states = [(self._state(rule.states, item[0], item[1]), item, curies) for item, curies in selected]
        for state, (_resource, ref), _curies in states:
            if state == "dropped":
                stats.dropped += 1
                statements.append(Statement(rule.key, ref, None, "dropped"))
        live = [(s, item, curies) for s, item, curies in states if s != "dropped"]
        if rule.pick == "latest":
            present = [item for s, item, _c in live if s == "present"]
            chosen = self._latest(present)
            live = [(s, item, c) for s, item, c in live if s != "present" or item is chosen]
        for state, (resource, ref), curies in live:
            if rule.finding is not None:  # a fixed finding: the value decides
                final = "not-recorded"
                if state == "present" and rule.value is not None:
                    for key in self._value_keys(self._evaluate(rule.value, resource, ref), stats):
                        if key in rule.values:
                            final = rule.values[key]
                            break
                statements.append(Statement(rule.key, ref, None, final, rule.finding if final in ("present", "absent") else None))
                if final in ("present", "absent"):
                    found.setdefault((rule.key, (rule.finding,), final, None), []).append(ref)
                continue
            final = (rule.state or "present") if state == "present" else state
            if rule.value is not None and state == "present":  # the value decides, for each mapped code
                final = next((rule.values[k] for k in self._value_keys(self._evaluate(rule.value, resource, ref), stats)
                              if k in rule.values), "not-recorded")
            if rule.references_of is not None:
                for reference in self._evaluate(rule.references_of, resource, ref):
                    statements.append(Statement(rule.key, ref, None, final, None, str(reference)))
                continue
            if rule.codes_of is not None:
                curies = self._value_keys(self._evaluate(rule.codes_of, resource, ref), stats)
            if rule.record == "per-resource":
                self._resource_record(rule, ref, curies, final, by_type, stats, statements, found, bridges, extras)
                continue
            for curie in curies:
                for typed in self._classes_of(rule, ref, curie, final, statements, bridges):
                    found.setdefault((rule.key, (typed,), final, curie), []).append(ref)

    def _resource_record(self, rule: FindingRule, ref: SourceRef, curies: Sequence[str], final: str,
                         by_type: dict[str, list[Item]], stats: ReadStats, statements: list[Statement],
                         found: dict[RecordKey, list[SourceRef]], bridges: set[tuple[str, str]],
                         extras: dict[RecordKey, tuple[list[tuple[str, str]], list[tuple[str, str, str]]]]) -> None:
        """One record for the resource, typed with every class its mapped codes give (a per-resource rule)."""
        classes: list[str] = []
        first: str | None = None
        for curie in curies:
            for typed in self._classes_of(rule, ref, curie, final, statements, bridges):
                if typed not in classes:
                    classes.append(typed)
                    first = first or curie
        if not classes:
            return
        key: RecordKey = (rule.key, tuple(sorted(classes)), final, first, ref.reference)
        found[key] = [ref]
        if rule.properties:
            props, literals, sources = self._record_properties(rule, ref, by_type, stats)
            found[key] += sources
            extras[key] = (props, literals)

    def _classes_of(self, rule: FindingRule, ref: SourceRef, curie: str, final: str, statements: list[Statement],
                    bridges: set[tuple[str, str]]) -> list[str]:
        """The classes a record of ``curie`` in state ``final`` is typed with; every mapping row read is a
        statement, and a narrower class's ``rdfs:subClassOf`` bridge to its target is noted."""
        rows = self._finding_rows(curie)
        if not rows:
            statements.append(Statement(rule.key, ref, curie, final))
            return []
        classes = []
        for row in rows:
            typed = self._typed(row, final)
            statements.append(Statement(rule.key, ref, curie, final, typed))
            if typed is None:
                continue
            if typed != row.target:
                bridges.add((typed, row.target))
            classes.append(typed)
        return classes

    def _typed(self, row: CodeRow, state: str) -> str | None:
        """The class a record of ``row``'s code in ``state`` is typed with (None: no record)."""
        if row.negated or state not in ("present", "absent"):
            return None
        present, absent = self.mapping.granularity.get(row.predicate, ("none", "none"))
        typing = present if state == "present" else absent
        if typing == "class":
            return row.target
        if typing == "code":
            return self.mapping.expand(row.code)
        return None

    def _recurrence(self, cancer: Sequence[Item], by_type: dict[str, list[Item]],
                    stats: ReadStats) -> tuple[str, tuple[tuple[str, str], ...], tuple[SourceRef, ...]] | None:
        rule = self.mapping.recurrence
        if rule is None or not cancer:
            return None
        recurrent = [(r, ref) for r, ref in cancer
                     if {str(v) for v in self._evaluate(rule.status, r, ref)} & rule.recurrent]
        if not recurrent:
            return None
        sources = [ref for _r, ref in recurrent]
        props: list[tuple[str, str]] = []
        observations = by_type.get("Observation", [])
        for category in rule.categories:
            kept = [(r, ref) for r, ref in observations
                    if self._own_codes(r, ref, stats) & category.codes and self._state(category.states, r, ref) == "present"]
            chosen = self._latest(kept)
            if chosen is None:
                continue
            for value in self._evaluate(category.value, chosen[0], chosen[1]):
                iri = category.values.get(str(value).strip())
                if iri is not None:
                    props.append((category.property, iri))
                    sources.append(chosen[1])
                    break
        found_values = {o for _p, o in props}
        sites = {site for site, (categories, _bodies) in rule.sites.items() if categories & found_values}
        if not sites and rule.body_site is not None:
            body = {c for r, ref in recurrent for c in self._value_keys(self._evaluate(rule.body_site, r, ref), stats)}
            sites = {site for site, (_categories, bodies) in rule.sites.items() if bodies & body}
        cls = rule.classes.get(frozenset(sites), rule.unknown_site) if sites else rule.unknown_site
        return cls, tuple(props), tuple(dict.fromkeys(sources))
