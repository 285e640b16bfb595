"""Query results: RDF terms to typed Python values, and the CSV/TSV/JSON/table output formats.

Conversion (the same for every backend, so rows compare across rdflib, Oxigraph and Virtuoso):

- IRI -> ``str`` (the full IRI); blank node -> ``"_:<id>"`` (named queries never return one);
- ``xsd:integer`` and its derived types (``int``, ``long``, ``short``, ``nonNegativeInteger``,
  ...) -> ``int``: Virtuoso answers ``xsd:int`` where the data said ``xsd:integer``;
- ``xsd:decimal`` -> ``Decimal``; ``xsd:double``/``xsd:float`` -> ``float``;
- ``xsd:boolean`` -> ``bool`` (also from ``"1"``/``"0"``);
- ``xsd:date`` -> ``datetime.date``; ``xsd:dateTime`` -> ``datetime.datetime`` (a dateTime at
  midnight that stands for a date stays a datetime: compare with :func:`comparable`);
- every other literal (plain, ``xsd:string``, language-tagged, ``gYearMonth``, ...) -> ``str``:
  the language tag and the datatype are dropped;
- an unbound variable -> ``None``. Every row has every selected variable as a key.

An ill-typed literal (``"abc"^^xsd:integer``) stays its lexical ``str``.
"""

from __future__ import annotations

import csv
import datetime
import io
import json
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from rdflib import BNode, Literal, URIRef
from rdflib.namespace import XSD
from rdflib.term import Node

from npc_kg.errors import QueryError
from npc_kg.suggest import unknown

__all__ = ["Row", "to_dataframe", "comparable", "format_rows", "to_python", "to_rows", "FORMATS"]

Row = dict[str, Any]

FORMATS = ("table", "csv", "tsv", "json")

_INTEGER_TYPES = {
    str(XSD[name])
    for name in (
        "integer",
        "int",
        "long",
        "short",
        "byte",
        "nonNegativeInteger",
        "nonPositiveInteger",
        "positiveInteger",
        "negativeInteger",
        "unsignedLong",
        "unsignedInt",
        "unsignedShort",
        "unsignedByte",
    )
}
_FLOAT_TYPES = {str(XSD.double), str(XSD.float)}


def to_python(term: Node | None) -> Any:
    """Return the Python value of an RDF term (see the module docstring)."""
    if term is None:
        return None
    if isinstance(term, URIRef):
        return str(term)
    if isinstance(term, BNode):
        return f"_:{term}"
    if not isinstance(term, Literal):
        return str(term)
    lexical = str(term).strip()
    datatype = str(term.datatype) if term.datatype is not None else None
    try:
        if datatype in _INTEGER_TYPES:
            return int(lexical)
        if datatype == str(XSD.decimal):
            return Decimal(lexical)
        if datatype in _FLOAT_TYPES:
            return float(lexical)
        if datatype == str(XSD.boolean):
            if lexical in ("true", "1"):
                return True
            if lexical in ("false", "0"):
                return False
            return str(term)
        if datatype == str(XSD.date):
            return datetime.date.fromisoformat(lexical[:10]) if len(lexical) >= 10 else str(term)
        if datatype == str(XSD.dateTime):
            return datetime.datetime.fromisoformat(lexical.replace("Z", "+00:00"))
    except (ValueError, InvalidOperation):
        return str(term)
    return str(term)


def to_rows(variables: Sequence[str], solutions: Sequence[Sequence[Node | None]]) -> list[Row]:
    """Turn solutions (one term or None per variable) into rows of Python values."""
    return [{name: to_python(value) for name, value in zip(variables, solution, strict=True)} for solution in solutions]


def to_dataframe(rows: Sequence[Row], variables: Sequence[str]) -> Any:
    """A pandas DataFrame of ``rows`` with numeric columns as numbers, never ``Decimal`` objects.

    A column whose values are all integers (or unbound) becomes ``int64`` (nullable ``Int64``
    when a value is unbound); one whose values are all numbers becomes ``float64`` (unbound:
    NaN); any other column keeps Python objects (str, bool, date).
    """
    import pandas as pd

    frame = pd.DataFrame(list(rows), columns=list(variables))
    for column in frame.columns:
        values = [v for row in rows if (v := row.get(column)) is not None]
        if not values or any(isinstance(v, bool) or not isinstance(v, int | float | Decimal) for v in values):
            continue
        if all(isinstance(v, int) for v in values):
            frame[column] = pd.array([row.get(column) for row in rows], dtype="Int64" if len(values) < len(rows) else "int64")
        else:
            frame[column] = pd.array([float(v) if (v := row.get(column)) is not None else None for row in rows], dtype="float64")
    return frame


def comparable(value: Any) -> Any:
    """A value for comparing rows across backends: numbers as Decimal, datetimes at midnight as dates."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, (int, float)):
        return Decimal(str(value))
    if isinstance(value, datetime.datetime) and value.time() == datetime.time(0) and value.tzinfo is None:
        return value.date()
    return value


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.isoformat()
    return str(value)


def _json_value(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, Decimal):
        return float(value) if value != value.to_integral_value() else int(value)
    return _cell(value)


def format_rows(rows: Sequence[Row], variables: Sequence[str], fmt: str = "table") -> str:
    """Render rows as ``table`` (aligned text), ``csv``/``tsv`` (header row, then values) or ``json``.

    ``json`` is a simple list of objects, one per row, keyed by variable, with JSON numbers,
    booleans and ``null`` for unbound variables (not the W3C SPARQL results JSON, whose
    per-term objects would repeat the datatypes the Python API already resolved). ``csv``
    follows the W3C SPARQL 1.1 CSV results format (plain values, empty cell for unbound);
    ``tsv`` is the same with tabs, tabs and newlines in values replaced by spaces.
    """
    if fmt == "json":
        objects = [{name: _json_value(row.get(name)) for name in variables} for row in rows]
        return json.dumps(objects, ensure_ascii=False, indent=2)
    if fmt in ("csv", "tsv"):
        buffer = io.StringIO()
        if fmt == "csv":
            writer = csv.writer(buffer, lineterminator="\r\n")
            writer.writerow(variables)
            for row in rows:
                writer.writerow([_cell(row.get(name)) for name in variables])
        else:
            buffer.write("\t".join(variables) + "\n")
            for row in rows:
                values = [" ".join(_cell(row.get(name)).split()) for name in variables]
                buffer.write("\t".join(values) + "\n")
        return buffer.getvalue()
    if fmt != "table":
        raise QueryError(unknown("format", fmt, FORMATS))
    cells: list[list[str]] = [[" ".join(_cell(row.get(name)).split()) for name in variables] for row in rows]
    widths = [min(60, max([len(name)] + [len(line[i]) for line in cells])) for i, name in enumerate(variables)]

    def fit(text: str, width: int) -> str:
        return text if len(text) <= width else text[: width - 1] + "…"

    lines = ["  ".join(fit(name, w).ljust(w) for name, w in zip(variables, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines.extend("  ".join(fit(c, w).ljust(w) for c, w in zip(line, widths, strict=True)).rstrip() for line in cells)
    lines.append(f"({len(rows)} row{'s' if len(rows) != 1 else ''})")
    return "\n".join(lines) + "\n"
