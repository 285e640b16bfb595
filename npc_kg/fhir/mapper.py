"""Map the resources of one FHIR patient to a :class:`FhirPatient`, as the mapping file says.

Generic: the rules (:mod:`npc_kg.fhir.mapping`) say which resources, codes, states and values
matter. Resources are first sorted by type; a rule then keeps only the resources whose code (or
extension URL) it reads, in plain Python, and only then evaluates its FHIRPath selectors.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from npc_kg.fhir.errors import FhirInputError
from npc_kg.fhir.mapping import CodeRow, FhirMapping, FindingRule, StateStep
from npc_kg.fhir.model import FhirPatient, FindingRecord, ReadStats, SourceRef, Statement
from npc_kg.fhir.triples import iri_part, patient_lines

__all__ = ["PatientMapper"]

Item = tuple[dict[str, Any], SourceRef]


def _codings(value: Any) -> Iterator[dict[str, Any]]:
    """The Codings of a CodeableConcept, a Coding, or a list of either."""
    if isinstance(value, dict):
        coding = value.get("coding")
        if isinstance(coding, list) and all(isinstance(c, dict) for c in coding):
            yield from coding  # the common case: one CodeableConcept
            return
    if isinstance(value, list):
        for item in value:
            yield from _codings(item)
    elif isinstance(value, dict):
        if "coding" in value:
            yield from _codings(value["coding"])
        elif "code" in value or "system" in value:
            yield value


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
        for coding in _codings(value):
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
        except Exception:  # fhirpathpy raises bare Exceptions on unexpected data
            raise FhirInputError(f"a FHIRPath selector of the mapping fails on this {ref.type} resource "
                                 f"({selector.expression!r}); check the resource against FHIR R4",
                                 path=ref.where) from None

    def _state(self, steps: Sequence[StateStep], resource: dict[str, Any], ref: SourceRef) -> str:
        for step in steps:
            if step.selector is None:
                return step.default or "present"
            for value in self._evaluate(step.selector, resource, ref):
                found = step.values.get(str(value).lower() if isinstance(value, bool) else str(value))
                if found is not None:
                    return found
        return "present"

    def _element_codes(self, resource: dict[str, Any], element: str, stats: ReadStats) -> list[str]:
        """The codes of a top-level element of the resource (finding codes), once per resource and element."""
        key = (id(resource), element)
        found = self._elements.get(key)
        if found is None:
            found = self._elements[key] = self._curies(resource.get(element), stats)
        return found

    def _own_codes(self, resource: dict[str, Any], stats: ReadStats) -> frozenset[str]:
        """The resource's own ``code`` (what kind of observation or procedure it is), once per resource."""
        found = self._own.get(id(resource))
        if found is None:
            found = self._own[id(resource)] = frozenset(self._curies(resource.get("code"), stats, finding_codes=False))
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
    def map(self, items: Sequence[Item], *, source_id: str, where: str, patient_source: SourceRef | None) -> FhirPatient:
        """Map one patient's resources (already checked: one patient, no duplicate ids).

        Resources are taken in ``Type/id`` order, so the result does not depend on the order of
        the input (record names, ties between equal dates). One patient at a time per mapper
        (its per-patient caches are guarded by a lock).
        """
        with self._lock:
            return self._map(items, source_id=source_id, where=where, patient_source=patient_source)

    def _map(self, items: Sequence[Item], *, source_id: str, where: str, patient_source: SourceRef | None) -> FhirPatient:
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
        found: dict[tuple[Any, ...], list[SourceRef]] = {}  # (rule, classes, status, code) -> sources
        bridges: set[tuple[str, str]] = set()

        # scope: the cancer conditions
        scope = mapping.scope
        cancer: list[Item] = []
        accepted_states: set[str] = set()
        for resource, ref in by_type.get(scope.resource, []):
            rows = [row for curie in self._element_codes(resource, scope.code_element, stats)
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
            self._apply(rule, by_type.get(rule.resource, []), stats, statements, found, bridges)

        # properties
        properties: dict[str, tuple[Any, str, tuple[SourceRef, ...]]] = {}
        for prop in mapping.properties:
            candidates = [(r, ref) for r, ref in by_type.get(prop.resource, []) if self._own_codes(r, stats) & prop.codes]
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
                values = self._evaluate(prop.value, chosen[0], chosen[1])
                if values:
                    properties[prop.property] = (values[0], prop.datatype, (chosen[1],))

        # the recurrence record
        recurrence = self._recurrence(cancer, by_type, stats)

        # context
        context: dict[str, tuple[tuple[str, SourceRef], ...]] = {}
        for ctx in mapping.context:
            kept = [(r, ref) for r, ref in by_type.get(ctx.resource, [])
                    if self._own_codes(r, stats) & ctx.codes and self._state(ctx.states, r, ref) == "present"]
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
        for (rule_key, classes, status, code), refs in found.items():
            counters[rule_key] = counters.get(rule_key, 0) + 1
            records.append(FindingRecord(f"{iri}/fhir/{iri_part(rule_key)}-{counters[rule_key]}", classes, status, rule_key,
                                         tuple(dict.fromkeys(refs)), code))
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
            return (f"out of scope: the Condition coded as {disease} is ruled out or not confirmed, "
                    "so the patient has no recorded disease of the treatment")
        if cancer:
            return (f"out of scope: only a code broader than {disease} is recorded (it is not enough on its own); "
                    "a Condition with a code the mapping accepts for the disease is needed")
        return f"out of scope: no Condition coded as {disease} is recorded, so no eligibility verdict is given"

    def _apply(self, rule: FindingRule, items: Sequence[Item], stats: ReadStats, statements: list[Statement],
               found: dict[tuple[Any, ...], list[SourceRef]], bridges: set[tuple[str, str]]) -> None:
        selected: list[tuple[Item, list[str]]] = []
        for resource, ref in items:  # filter in plain Python: no FHIRPath yet
            if rule.code_element is not None:
                curies = self._element_codes(resource, rule.code_element, stats)
                mapped = [c for c in curies if self._finding_rows(c)]
                if mapped:
                    selected.append(((resource, ref), mapped))
            elif rule.codes is not None:
                if self._own_codes(resource, stats) & rule.codes:
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
            for curie in curies:
                rows = self._finding_rows(curie)
                if not rows:
                    statements.append(Statement(rule.key, ref, curie, final))
                    continue
                for row in rows:
                    typed = self._typed(row, final)
                    statements.append(Statement(rule.key, ref, curie, final, typed))
                    if typed is None:
                        continue
                    if typed != row.target:
                        bridges.add((typed, row.target))
                    found.setdefault((rule.key, (typed,), final, curie), []).append(ref)

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
                    if self._own_codes(r, stats) & category.codes and self._state(category.states, r, ref) == "present"]
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
