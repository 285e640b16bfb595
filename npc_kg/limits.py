"""Limits on the work one input can cause: input size, findings per patient, JSON nesting, query time.

Defaults are generous but finite; each one is set, in order of precedence, by :func:`configure`
(the CLI flags ``--max-input-size``, ``--max-findings``, ``--timeout``; ``npc-kg serve
--max-query-size`` sets the service's own), by an environment variable, or by the default
below. Over a limit, npc-kg raises :class:`~npc_kg.errors.LimitError` or
:class:`~npc_kg.errors.QueryTimeoutError` (exit code 2) naming the limit and how to raise it
(the service answers with an HTTP error instead); it never hangs. See ``docs/reliability.md``.

========================  ==========================  =============  ==================================
limit                     environment variable        default        what
========================  ==========================  =============  ==================================
``max_input_bytes``       ``NPC_KG_MAX_INPUT_BYTES``  268435456      bytes of one RDF input (256 MiB)
``max_findings``          ``NPC_KG_MAX_FINDINGS``     2000           ``npc:hasFinding`` of one patient
``max_json_depth``        ``NPC_KG_MAX_JSON_DEPTH``   100            nesting of a JSON(-LD) document
``query_timeout``         ``NPC_KG_QUERY_TIMEOUT``    60             seconds per local query of a user (0: none)
``max_query_bytes``       ``NPC_KG_MAX_QUERY_BYTES``  16384          bytes of one query sent to ``/sparql`` (1 or more)
========================  ==========================  =============  ==================================

``max_query_bytes`` bounds the text the service's endpoint parses (16 KiB: far above a
hand-written query; rdflib's parser takes about 2 ms per ``FILTER`` clause, so the longest query
it admits, some 900 ``FILTER`` clauses, parses in about 2 s, while 3,500 of them (64 KiB) took
about 8 s). A longer query is refused with HTTP 413 before it is parsed. It is 1 or more: 0
would refuse every query.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields, replace
from typing import Any

from npc_kg.errors import InputError, NpcKgError
from npc_kg.suggest import unknown

__all__ = ["DEFAULTS", "ENVIRONMENT", "FLAGS", "MINIMUM", "Limits", "configure", "current", "how_to_raise", "reset", "scoped",
           "seconds"]


@dataclass(frozen=True)
class Limits:
    """The limits in force (see the module docstring)."""

    max_input_bytes: int = 256 * 1024 * 1024
    max_findings: int = 2000
    max_json_depth: int = 100
    query_timeout: float | None = 60.0
    """Seconds a local query may run (None: no limit)."""
    max_query_bytes: int = 16 * 1024
    """Bytes (UTF-8) of one query the service's ``/sparql`` accepts (HTTP 413 above)."""


DEFAULTS = Limits()
ENVIRONMENT = {
    "max_input_bytes": "NPC_KG_MAX_INPUT_BYTES",
    "max_findings": "NPC_KG_MAX_FINDINGS",
    "max_json_depth": "NPC_KG_MAX_JSON_DEPTH",
    "query_timeout": "NPC_KG_QUERY_TIMEOUT",
    "max_query_bytes": "NPC_KG_MAX_QUERY_BYTES",
}
FLAGS = {
    "max_input_bytes": "--max-input-size",
    "max_findings": "--max-findings",
    "query_timeout": "--timeout",
    "max_query_bytes": "--max-query-size",
}
"""The CLI flag of each limit, for the messages that say how to raise it."""

MINIMUM = {"max_query_bytes": 1}
"""The least value of a limit that is not 0 or more (0 bytes of query would turn ``/sparql`` off)."""

_OVERRIDES: dict[str, Any] = {}


def _number(name: str, value: Any, given: str) -> Any:
    """``value`` of the limit ``name`` (``given``: where it came from, for the message), checked: a
    finite number, 0 or more (:data:`MINIMUM` for some), whole except for the query timeout (whose 0 means none)."""
    try:
        number = float(value)
    except OverflowError:
        number = math.inf
    except (TypeError, ValueError):
        raise InputError(f"{given} must be a number") from None
    least = MINIMUM.get(name, 0)
    if isinstance(value, bool) or not math.isfinite(number) or number < least:
        raise InputError(f"{given} must be a finite number, {least} or more")
    if name == "query_timeout":
        return number or None
    if number != int(number):
        raise InputError(f"{given} must be a whole number")
    return int(number)


def seconds(value: Any, given: str, *, above_zero: bool = False, error: type[NpcKgError] = InputError) -> float:
    """``value`` checked as a finite number of seconds, 0 or more (above 0 with ``above_zero``): the
    timeouts of the API. Raises ``error`` naming ``given`` (``timeout=``)."""
    number = value if isinstance(value, int | float) and not isinstance(value, bool) else math.nan
    if not math.isfinite(number) or number < 0 or (above_zero and number == 0):
        raise error(f"{given} is a number of seconds {'above 0' if above_zero else '(0 or more)'}, not {value!r}")
    return float(number)


def current() -> Limits:
    """The limits in force: :func:`configure`, else the environment, else :data:`DEFAULTS`."""
    values: dict[str, Any] = {}
    for item in fields(Limits):
        if item.name in _OVERRIDES:
            values[item.name] = _OVERRIDES[item.name]
            continue
        text = os.environ.get(ENVIRONMENT[item.name], "").strip()
        if text:
            values[item.name] = _number(item.name, text, f"environment variable {ENVIRONMENT[item.name]}")
    return replace(DEFAULTS, **values)


def configure(**changes: Any) -> None:
    """Set limits for this process (a value of None leaves that limit as it is; ``query_timeout=0`` removes it).

    Raises :class:`~npc_kg.errors.InputError` for an unknown limit or a value that is not a finite
    number of 0 or more (1 or more for ``max_query_bytes``; a whole number, but for ``query_timeout``)."""
    for name, value in changes.items():
        if name not in ENVIRONMENT:
            raise InputError(unknown("limit", name, ENVIRONMENT))
        if value is not None:
            _OVERRIDES[name] = _number(name, value, f"the limit {name}")


def reset() -> None:
    """Forget what :func:`configure` set (tests)."""
    _OVERRIDES.clear()


def how_to_raise(name: str) -> str:
    """"raise it with --flag or VARIABLE" for the limit ``name``."""
    flag = FLAGS.get(name)
    return f"raise it with {flag} or {ENVIRONMENT[name]}" if flag else f"raise it with {ENVIRONMENT[name]}"


@contextmanager
def scoped() -> Iterator[None]:
    """What :func:`configure` sets inside the block is undone after it (the command line's flags,
    when a program calls :func:`npc_kg.cli.main`)."""
    saved = dict(_OVERRIDES)
    try:
        yield
    finally:
        _OVERRIDES.clear()
        _OVERRIDES.update(saved)
