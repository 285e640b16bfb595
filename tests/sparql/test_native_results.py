"""pyoxigraph result iterators never outlive the call that made them (they are bound to their thread).

In the service, a ``/report`` ran in a worker thread; the first parse of a named query (pyparsing)
left cyclic garbage that reached the frame holding pyoxigraph's ``QuerySolutions``, and the
garbage collector freed it later on another thread: ``RuntimeError: pyoxigraph::sparql::
PyQuerySolutions is unsendable, but is being dropped on another thread`` in the service log.
These tests make the same cyclic garbage on purpose (a store whose ``query`` keeps its caller's
frame in a reference cycle), run each function that reads a pyoxigraph result in a thread, and
collect the garbage on the main thread.
"""

from __future__ import annotations

import gc
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pyoxigraph as ox
import pytest

from npc_kg.namespace import NPC

TRIPLES = [(f"https://example.org/s{i}", str(NPC.hasFinding), f"https://example.org/o{i}") for i in range(3)]
SELECT = "SELECT ?s ?o WHERE { ?s ?p ?o }"
UNSENDABLE = (ox.QuerySolutions, ox.QueryTriples)


class CyclingStore:
    """A pyoxigraph store whose ``query`` leaves its caller's frame in cyclic garbage, as a first
    parse by pyparsing does (its exceptions' tracebacks hold frames, each frame its caller)."""

    def __init__(self) -> None:
        self.store = ox.Store()
        for s, p, o in TRIPLES:
            self.store.add(ox.Quad(ox.NamedNode(s), ox.NamedNode(p), ox.NamedNode(o)))

    def query(self, *args: Any, **kwargs: Any) -> Any:
        loop: list[Any] = [sys._getframe()]
        loop.append(loop)  # garbage once this call returns; it reaches the caller through f_back
        return self.store.query(*args, **kwargs)


@pytest.fixture()
def dropped_elsewhere(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[Callable[[], Any]], tuple[Any, list[str]]]]:
    """Run a function in a thread with the garbage collector off; collect on this thread; return
    (its result, the unraisable errors seen meanwhile)."""
    seen: list[str] = []
    monkeypatch.setattr(sys, "unraisablehook", lambda unraisable: seen.append(str(unraisable.exc_value)))

    def run(work: Callable[[], Any]) -> tuple[Any, list[str]]:
        out: list[Any] = []
        gc.collect()
        gc.disable()
        try:
            thread = threading.Thread(target=lambda: out.append(work()))
            thread.start()
            thread.join()
            gc.collect()  # here, on the main thread
        finally:
            gc.enable()
        assert out, "the work raised in its thread"
        return out[0], seen

    yield run


def _assert_plain(value: Any) -> None:
    """No pyoxigraph result iterator anywhere in ``value``."""
    stack = [value]
    while stack:
        item = stack.pop()
        assert not isinstance(item, UNSENDABLE), f"a live {type(item).__name__} was returned"
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, (list, tuple)):
            stack.extend(item)


def test_the_cycle_really_drops_a_live_iterator_on_the_wrong_thread(dropped_elsewhere) -> None:
    """The harness reproduces the service's traceback when a caller keeps the iterator in a local."""
    store = CyclingStore()

    def careless() -> int:
        result = store.query(SELECT)
        return len(list(result))

    count, errors = dropped_elsewhere(careless)
    assert count == 3
    assert any("is unsendable" in error for error in errors)


def test_solutions_reads_every_row_and_keeps_no_iterator(dropped_elsewhere) -> None:
    from npc_kg.sparql.native import solutions

    (variables, rows), errors = dropped_elsewhere(lambda: solutions(CyclingStore(), SELECT))
    assert variables == ["s", "o"] and sorted(row[0].value for row in rows) == [s for s, _p, _o in TRIPLES]
    _assert_plain(rows)
    assert not [e for e in errors if "unsendable" in e]


def test_named_rows_returns_plain_data_and_drops_the_iterator_on_its_thread(dropped_elsewhere) -> None:
    """The ``/report`` path (the HTML report's evidence records and ranking)."""
    from npc_kg.assessment.records import named_rows
    from npc_kg.kg.load import kg_ntriples

    store = CyclingStore()
    store.store.bulk_load(kg_ntriples(), format=ox.RdfFormat.N_TRIPLES)
    rows, errors = dropped_elsewhere(lambda: named_rows("population-conditions", store))  # type: ignore[arg-type]
    assert isinstance(rows, list) and rows and all(isinstance(row, dict) for row in rows)
    _assert_plain(rows)
    assert not [e for e in errors if "unsendable" in e]


@pytest.mark.parametrize("method", ["select", "select_native"])
def test_the_oxigraph_backend_drops_the_iterator_on_its_thread(dropped_elsewhere, method: str) -> None:
    """The compiled shapes' queries (``select_native``) and ``npc_kg.query`` (``select``)."""
    from npc_kg.sparql.backends.oxigraph_backend import OxigraphBackend

    backend = OxigraphBackend(store=CyclingStore(), include_kg=False, timeout=None)  # type: ignore[arg-type]
    answer, errors = dropped_elsewhere(lambda: getattr(backend, method)(SELECT))
    rows = answer.rows if method == "select" else answer[1]
    assert len(rows) == 3
    _assert_plain(rows)
    assert not [e for e in errors if "unsendable" in e]


def test_the_endpoint_drops_its_result_on_its_thread_when_serializing_it_fails(
        dropped_elsewhere, monkeypatch: pytest.MonkeyPatch) -> None:
    """``/sparql`` with no query timeout runs in the calling thread. A result whose serialization fails
    (a SERVICE call that cannot connect, let through here by a safety check made to pass) was kept by
    the error's traceback and dropped wherever the error went; it is a 400 and the result is dropped
    on its thread."""
    from npc_kg.service import sparql_endpoint

    store = CyclingStore()
    monkeypatch.setattr(sparql_endpoint, "store", lambda: store)
    monkeypatch.setattr(sparql_endpoint, "check_safe", lambda parsed: None)
    monkeypatch.setenv("NPC_KG_QUERY_TIMEOUT", "0")  # no fork: the query runs in the calling thread

    def failing() -> BaseException:
        try:
            sparql_endpoint.answer("SELECT * WHERE { ?s ?p ?o SERVICE <http://127.0.0.1:1/> { ?s ?p ?o } }", None)
        except sparql_endpoint.SparqlRefused as error:
            return error  # handed to the main thread, with its traceback
        raise AssertionError("the query did not fail")

    error, errors = dropped_elsewhere(failing)
    assert error.status == 400 and "query failed" in str(error)
    del error
    gc.collect()
    assert not [e for e in errors if "unsendable" in e]


def test_solutions_drops_the_iterator_on_its_thread_when_reading_a_row_fails(dropped_elsewhere) -> None:
    """A row that fails (a SERVICE call refused) raised out of a list comprehension, whose frame held the
    iterator; the error's traceback kept that frame, so the iterator went wherever the error went."""
    from npc_kg.sparql.native import solutions

    store = ox.Store()
    for s, p, o in TRIPLES:
        store.add(ox.Quad(ox.NamedNode(s), ox.NamedNode(p), ox.NamedNode(o)))

    def failing() -> BaseException:
        try:
            solutions(store, "SELECT * WHERE { ?s ?p ?o SERVICE <http://127.0.0.1:1/> { ?s ?p ?o } }")
        except (OSError, RuntimeError, ValueError, SyntaxError) as error:
            return error  # handed to the main thread, with its traceback
        raise AssertionError("the query did not fail")

    holder, errors = dropped_elsewhere(failing)
    assert isinstance(holder, BaseException) and holder.__traceback__ is not None
    del holder  # the error, its traceback and the frames it holds are freed here, on the main thread
    gc.collect()
    assert not [e for e in errors if "unsendable" in e]
