"""The JSON form of FHIR R4 elements, from fhirpathpy's R4 model: can npc-kg read this element?

FHIRPath reads a malformed element as nothing: a ``verificationStatus`` written as text holds no
code, so the mapping's states would not see that a finding was ruled out and would count it as
present, and a ``code`` written as text matches no code. :func:`element_problem` judges the
top-level elements a mapping rule reads (and, inside them, every element the R4 model types) by
their JSON form only: text, true or false, a whole number, a number, or a JSON object; a list of
these where FHIR repeats the element.
Elements the model does not know (extensions' own keys, a site's additions) are not judged.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterator, Mapping
from datetime import date, time
from typing import Any

__all__ = ["MalformedElement", "codings", "concept_problem", "element_problem"]

_TEXT = frozenset({"string", "System.String", "code", "id", "uri", "url", "canonical", "markdown", "oid", "uuid",
                   "base64Binary", "xhtml"})
_YEAR = r"([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)"
_TIME = r"([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]+)?(Z|(\+|-)((0[0-9]|1[0-3]):[0-5][0-9]|14:00))?"
"""FHIR requires the time zone after a time; exports often leave it out, and the text still orders the same."""
_MONTH, _DAY = r"(0[1-9]|1[0-2])", r"(0[1-9]|[1-2][0-9]|3[0-1])"
_WHEN = {  # the regular expressions of the FHIR R4 datatypes page; a date or datetime in a dict a model library made
    "date": (re.compile(rf"{_YEAR}(-{_MONTH}(-{_DAY})?)?"), "YYYY, YYYY-MM or YYYY-MM-DD"),
    "dateTime": (re.compile(rf"{_YEAR}(-{_MONTH}(-{_DAY}(T{_TIME})?)?)?"), "YYYY, YYYY-MM, YYYY-MM-DD or "
                 "YYYY-MM-DDThh:mm:ss+zz:zz"),
    "instant": (re.compile(rf"{_YEAR}-{_MONTH}-{_DAY}T{_TIME}"), "YYYY-MM-DDThh:mm:ss+zz:zz"),
}
_WHOLE = frozenset({"integer", "positiveInt", "unsignedInt"})
def _when(form: re.Pattern[str]) -> Callable[[Any], bool]:
    """The test of a date kind: text in its form, or a date (or datetime) object."""
    return lambda value: isinstance(value, date) or (isinstance(value, str) and form.fullmatch(value) is not None)


_PRIMITIVE: dict[str, tuple[str, Callable[[Any], bool]]] = {
    **{kind: ("text", lambda v: isinstance(v, str)) for kind in _TEXT},
    **{kind: (f"text in the form {shown}", _when(form)) for kind, (form, shown) in _WHEN.items()},
    "time": ("text", lambda v: isinstance(v, str | time)),
    "boolean": ("true or false", lambda v: isinstance(v, bool)),
    **{kind: ("a whole number", lambda v: isinstance(v, int) and not isinstance(v, bool)) for kind in _WHOLE},
    "decimal": ("a number", lambda v: isinstance(v, int | float) and not isinstance(v, bool)),
}
_DEPTH = 24  # deeper than any element npc-kg reads; hostile nesting below it is not judged
_MODEL: dict[str, Any] = {}


class MalformedElement(ValueError):
    """An element a FHIRPath selector reads has the wrong JSON form (the message is :func:`element_problem`'s)."""


def _model() -> dict[tuple[str, str], tuple[str | None, str] | None]:
    """``(type or backbone path, key)`` -> (the element's R4 type, the path its own keys are typed by),
    or None for an element the model does not know; filled as elements are met."""
    if not _MODEL:
        from fhirpathpy.models import models

        types: dict[str, str] = models["r4"]["path2Type"]
        backbones = {path.rsplit(".", depth)[0] for path in types for depth in range(1, path.count("."))}
        _MODEL.update(types=types, backbones=frozenset(backbones - set(types)), children={})
    return _MODEL["children"]  # type: ignore[no-any-return]


def _child(children: dict[tuple[str, str], tuple[str | None, str] | None], base: str, key: str
           ) -> tuple[str | None, str] | None:
    path = f"{base}.{key}"
    kind: str | None = _MODEL["types"].get(path)
    if kind is None and path not in _MODEL["backbones"]:
        found = None
    else:
        found = (kind, kind if kind is not None and kind[0].isupper() and "." not in kind else path)
    children[(base, key)] = found
    return found


def element_problem(resource_type: str, elements: Mapping[str, Any], read: Collection[str] | None = None) -> str | None:
    """The first of ``elements`` (top-level elements of a ``resource_type`` resource) whose JSON form
    is not its R4 type's, as ``Condition.code.coding should be a JSON object (FHIR Coding)``; None
    if every one is readable. With ``read`` (the element names a selector reads), only those
    elements below the top level are judged: a flaw elsewhere (a ``display`` that is a number)
    does not keep the resource from being read. No value is quoted."""
    children = _model()
    for key, value in elements.items():
        if isinstance(key, str) and not key.startswith("_") and key != "resourceType":
            found = _problem(children, resource_type, key, value, 0, read)
            if found is not None:
                keys, problem = found
                return f"{'.'.join([resource_type, key, *reversed(keys)])} {problem}"
    return None


def _is_read(key: str, read: Collection[str]) -> bool:
    """``key`` is named by the selector, or is a choice-type element of a name it reads (``value`` -> ``valueInteger``)."""
    return key in read or any(key.startswith(name) and len(key) > len(name) and key[len(name)].isupper() for name in read)


def _problem(children: dict[tuple[str, str], tuple[str | None, str] | None], base: str, key: str, value: Any,
             depth: int, read: Collection[str] | None) -> tuple[list[str], str] | None:
    """(the keys below ``key``, innermost first, and what is wrong) for the element ``key`` of ``base``, or None."""
    known = children[(base, key)] if (base, key) in children else _child(children, base, key)
    if known is None or depth > _DEPTH:
        return None  # not in the model (or too deep): not judged
    kind, below = known
    primitive = _PRIMITIVE.get(kind or "")
    if primitive is None and kind is not None and not kind[0].isupper():
        return None  # a primitive type this table does not know: not judged
    if value is None:
        return [], "is null: leave the element out (FHIR JSON has null only inside a list of primitives)"
    for item in value if type(value) is list else (value,):
        if item is None:
            continue  # a repeated primitive's gap (its extension is in "_element")
        if primitive is not None:
            if not primitive[1](item):
                return [], f"should be {primitive[0]} (FHIR {kind})"
            continue
        if type(item) is not dict:
            return [], f"should be a JSON object (FHIR {kind or 'BackboneElement'})"
        if kind == "Resource":
            continue  # a contained resource: not read
        for child, inner in item.items():
            if isinstance(child, str) and not child.startswith("_") and (read is None or _is_read(child, read)):
                found = _problem(children, below, child, inner, depth + 1, read)
                if found is not None:
                    found[0].append(child)
                    return found
    return None


_CODING_READ = frozenset({"coding", "system", "code"})
"""What a reader of a code element reads: its codings' systems and codes."""


def concept_problem(resource_type: str, element: str, value: Any) -> str | None:
    """What keeps the code element ``element`` (a CodeableConcept, or a list of them) of a
    ``resource_type`` resource from being read, or None: its JSON form, or a Coding whose
    ``system`` or ``code`` is not one text value (a list or null there would match no code)."""
    if value is None or _plain_concept(value):
        return None
    problem = element_problem(resource_type, {element: value}, _CODING_READ)
    if problem is not None:
        return problem
    for concept in value if isinstance(value, list) else [value]:
        codings = concept.get("coding") if isinstance(concept, dict) else None
        for coding in codings if isinstance(codings, list) else [codings]:
            if not isinstance(coding, dict):
                continue
            for key in ("system", "code"):
                if key in coding and not isinstance(coding[key], str):
                    kind = "uri" if key == "system" else "code"
                    return f"{resource_type}.{element}.coding.{key} should be one text value (FHIR {kind})"
    return None


def _plain_concept(value: Any) -> bool:
    """The common case, checked fast: one CodeableConcept whose codings have text systems and codes."""
    if type(value) is not dict:
        return False
    coding = value.get("coding")
    return type(coding) is list and all(type(c) is dict and type(c.get("system", "")) is str
                                        and type(c.get("code", "")) is str for c in coding)


def codings(value: Any) -> Iterator[dict[str, Any]]:
    """The Codings of a CodeableConcept, a Coding, or a list of either."""
    if isinstance(value, dict):
        coding = value.get("coding")
        if isinstance(coding, list) and all(isinstance(c, dict) for c in coding):
            yield from coding  # the common case: one CodeableConcept
            return
    if isinstance(value, list):
        for item in value:
            yield from codings(item)
    elif isinstance(value, dict):
        if "coding" in value:
            yield from codings(value["coding"])
        elif "code" in value or "system" in value:
            yield value
