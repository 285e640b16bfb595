"""Turtle that every tool opens: rdflib's stable ``longturtle`` layout with ``@prefix`` directives.

rdflib's ``longturtle`` serializer writes SPARQL-style ``PREFIX`` lines, which Turtle 1.1 allows
but the OWL API (the library of Protégé and ROBOT) refuses. :func:`turtle_text` rewrites the
prefix block as ``@prefix`` lines and keeps the rest of the layout (one subject per block, sorted).
"""

from __future__ import annotations

import re

from rdflib import Graph

__all__ = ["turtle_text"]

_PREFIX_LINE = re.compile(r"^PREFIX ([A-Za-z_][\w.-]*)?: <([^>]*)>$")


def turtle_text(graph: Graph) -> str:
    """Return ``graph`` as Turtle with ``@prefix`` lines (longturtle layout otherwise)."""
    text = graph.serialize(format="longturtle")
    lines = text.split("\n")
    for index, line in enumerate(lines):
        match = _PREFIX_LINE.match(line)
        if match is None:
            if line.strip():
                break
            continue
        lines[index] = f"@prefix {match.group(1) or ''}: <{match.group(2)}> ."
    return "\n".join(lines)
