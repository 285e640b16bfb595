"""FHIRPath selectors of the mapping, evaluated with fhirpathpy on the FHIR R4 model, memoised.

A selector reads only the top-level elements it names (and the choice-type elements of a name
such as ``value``: ``valueInteger``, ``valueCodeableConcept``); so its answer for a resource
depends only on those elements. :class:`Selector` evaluates it on that part of the resource and
memoises the answer by the part's canonical JSON: thousands of patients share a few distinct
``verificationStatus`` or ``status`` elements, so most evaluations are dictionary look-ups.
Expressions that may read beyond the elements they name (``%resource``, ``$this`` at the root,
``descendants()``, ``children()``, ``repeat()``, ``resolve()``, ``now()``...) are never memoised.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import orjson

from npc_kg.extras import require
from npc_kg.fhir.elements import MalformedElement, element_problem

__all__ = ["Selector", "compile_selector"]

_IDENTIFIER = re.compile(r"`[^`]*`|[A-Za-z_][A-Za-z0-9_]*")
_STRING = re.compile(r"'(?:[^'\\]|\\.)*'")
_UNSAFE = re.compile(r"%|\$|\b(descendants|children|repeat|resolve|trace|now|today|timeOfDay)\s*\(")
_MEMO_LIMIT = 50_000
_MODEL: dict[str, Any] = {}


def _r4_model() -> dict[str, Any]:
    if not _MODEL:
        from fhirpathpy.models import models

        _MODEL.update(models["r4"])
    return _MODEL


class Selector:
    """A compiled FHIRPath expression: ``selector(resource)`` returns a tuple of values (read-only)."""

    def __init__(self, expression: str) -> None:
        import fhirpathpy

        self.expression = expression
        self._function: Callable[..., list[Any]] = fhirpathpy.compile(expression, _r4_model())
        bare = _STRING.sub("''", expression)
        self._names = frozenset(name.strip("`") for name in _IDENTIFIER.findall(bare))
        self._memoised = _UNSAFE.search(bare) is None
        self._keep: dict[str, bool] = {"resourceType": True}
        self._memo: dict[bytes, tuple[Any, ...]] = {}

    def _kept(self, key: str) -> bool:
        kept = self._keep.get(key)
        if kept is None:
            kept = key in self._names or any(
                key.startswith(name) and len(key) > len(name) and key[len(name)].isupper() for name in self._names
            )
            self._keep[key] = kept
        return kept

    def evaluate(self, resource: dict[str, Any]) -> tuple[Any, ...]:
        """Evaluate without the memo (the reference for :meth:`__call__`)."""
        return tuple(self._function(resource))

    def __call__(self, resource: dict[str, Any]) -> tuple[Any, ...]:
        """The values the expression selects; :class:`MalformedElement` if an element it reads has the
        wrong JSON form (judged once per distinct part, like the answer)."""
        keep = self._keep
        part = {k: v for k, v in resource.items() if (keep[k] if k in keep else self._kept(k))}
        if not self._memoised:
            _judge(part, self._names)
            return self.evaluate(resource)
        key = orjson.dumps(part, option=orjson.OPT_SORT_KEYS)
        found = self._memo.get(key)
        if found is None:
            _judge(part, self._names)
            found = tuple(self._function(part))
            if len(self._memo) >= _MEMO_LIMIT:
                self._memo.clear()
            self._memo[key] = found
        return found


def _judge(part: dict[str, Any], read: frozenset[str]) -> None:
    kind = part.get("resourceType")
    problem = element_problem(kind, part, read) if isinstance(kind, str) else None
    if problem is not None:
        raise MalformedElement(problem)


def compile_selector(expression: str) -> Selector:
    """Compile ``expression``; raises ``ValueError`` if fhirpathpy rejects it."""
    if not isinstance(expression, str) or not expression.strip():
        raise ValueError("a FHIRPath selector must be a non-empty string")
    require("fhirpathpy", "fhir", "FHIR input")  # a missing extra is not the mapping's fault
    try:
        selector = Selector(expression)
        selector.evaluate({"resourceType": "Basic"})  # arity and unknown functions surface here
    except Exception as error:  # fhirpathpy raises bare Exceptions
        raise ValueError(f"FHIRPath {expression!r} is not valid: {error}") from None
    return selector
