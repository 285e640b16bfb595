"""Suggest the closest valid choices for an unknown name (a format, engine, query, parameter, prefix ...).

Every "unknown X" message of npc-kg is built by :func:`unknown`, so each one names the likely
choice first ("did you mean 'turtle'?") and then lists the valid ones.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = ["closest", "did_you_mean", "unknown"]

_MAX_LISTED = 30


def closest(word: str, choices: Iterable[str], n: int = 3) -> list[str]:
    """The up to ``n`` choices most like ``word`` (case-insensitive, :mod:`difflib` ratio >= 0.5)."""
    options = sorted({str(choice) for choice in choices})
    by_lower: dict[str, str] = {}
    for option in options:
        by_lower.setdefault(option.lower(), option)
    lowered = str(word).lower()
    prefixed = [by_lower[key] for key in by_lower if key.startswith(lowered) and lowered] if len(lowered) >= 3 else []
    close = difflib.get_close_matches(lowered, list(by_lower), n=n, cutoff=0.5)
    found = list(dict.fromkeys([*(by_lower[key] for key in close), *prefixed]))
    return found[:n]


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """``"did you mean 'a' or 'b'?"`` for the closest choices, or ``""`` if none is close."""
    found = closest(word, choices)
    if not found:
        return ""
    return "did you mean " + " or ".join(repr(item) for item in found) + "?"


def unknown(what: str, word: str, choices: Iterable[str]) -> str:
    """The message for an unknown ``what`` named ``word``: the closest choices, then the valid ones."""
    options = sorted({str(choice) for choice in choices})
    hint = did_you_mean(word, options)
    listed = ", ".join(options[:_MAX_LISTED]) + (", ..." if len(options) > _MAX_LISTED else "")
    return f"unknown {what} {word!r}" + (f"; {hint}" if hint else "") + f" (choose from {listed})"
