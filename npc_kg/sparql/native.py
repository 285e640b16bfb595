"""pyoxigraph query results read to the end, and dropped, on the thread that made them.

pyoxigraph's result iterators (``QuerySolutions``, ``QueryTriples``, ``QuadIter``) are bound to
the thread that created them: dropped on another thread, they print ``RuntimeError: ... is
unsendable, but is being dropped on another thread`` (as an unraisable error) instead of being
freed. A local variable is not enough to keep one on its thread: when any call made from the
frame that holds it leaves cyclic garbage that reaches that frame (pyparsing's exceptions do, on
the first parse of a query text), the frame outlives its call with its locals, and the cyclic
garbage collector frees it later on whichever thread it runs on. In the service that was the
event loop's or another request's thread, after a ``/report`` that had run in a worker thread.

:func:`solutions` therefore runs a SELECT, reads every row as pyoxigraph terms (plain, sendable
objects) without calling Python code, and deletes its reference to the iterator before it
returns or raises. Callers convert the terms afterwards.
"""

from __future__ import annotations

from typing import Any

import pyoxigraph as ox

from npc_kg.errors import QueryError

__all__ = ["solutions"]


def solutions(store: Any, query: str, **options: Any) -> tuple[list[str], list[tuple[Any, ...]]]:
    """The variables and rows of the SELECT ``query`` on the pyoxigraph ``store`` (``options``: those of
    ``Store.query``), every row read here: a list of tuples of pyoxigraph terms (None when unbound).

    Nothing returned, and nothing left in this call's frame, refers to pyoxigraph's result
    iterator. Raises :class:`~npc_kg.errors.QueryError` if ``query`` is not a SELECT; pyoxigraph's
    own errors (``SyntaxError``, ``OSError``, ``RuntimeError``, ``ValueError``) pass through.
    """
    result = store.query(query, **options)
    try:
        if not isinstance(result, ox.QuerySolutions):
            raise QueryError("the query is not a SELECT query")
        variables = [variable.value for variable in result.variables]
        rows: list[tuple[Any, ...]] = []
        for solution in result:  # in this frame: a comprehension's own frame would hold the iterator, and an
            rows.append(tuple(map(solution.__getitem__, variables)))  # error's traceback would keep that frame
    finally:
        del result  # before an error's traceback can keep this frame (and the iterator) alive
    return variables, rows
