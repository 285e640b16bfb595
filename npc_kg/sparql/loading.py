"""Load the knowledge graph, and optionally patient files with their assessments, into a SPARQL server.

Patient files are parsed with the safe parser and assessed locally (``npc_kg.assess``); the RDF
form of each assessment (``Assessment.to_rdf()``) is stored next to the patient data, so that
``queries/patient-criterion-status.rq`` can list who fails which criterion on the server. The
whole content replaces the named graph in one go and the triple count is verified afterwards.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from rdflib import Graph

from npc_kg.errors import NpcKgError
from npc_kg.rdfio import parse_file
from npc_kg.sparql.backends.remote import DEFAULT_GRAPH, DEFAULT_TIMEOUT, LoadReport, RemoteBackend

__all__ = ["assessment_graphs", "build_load_graph", "load_endpoint"]


def _default_assess() -> Callable[[Any], Sequence[Any]]:
    try:
        from npc_kg.assessment.assess import assess
    except ImportError as error:  # pragma: no cover - the assessment module ships with the package
        raise NpcKgError(f"patient files need npc_kg.assessment.assess, which cannot be imported: {error}") from None
    return assess  # type: ignore[no-any-return]


def assessment_graphs(patient_file: str | Path, assess: Callable[[Any], Sequence[Any]] | None = None) -> list[Graph]:
    """Assess the patients of ``patient_file`` and return the RDF form of each assessment."""
    run = assess or _default_assess()
    results = run(Path(patient_file))
    if not isinstance(results, (list, tuple)):
        results = [results]
    graphs = []
    for result in results:
        to_rdf = getattr(result, "to_rdf", None)
        if to_rdf is None:
            raise NpcKgError(f"{patient_file}: the assessment result has no to_rdf(); cannot store it")
        graphs.append(to_rdf())
    return graphs


def _patient_graph(path: str | Path) -> Graph:
    """The patient data of ``path``: RDF as it is, FHIR JSON in npc-kg's patient model (shipped mapping)."""
    from npc_kg.fhir.detect import fhir_document

    doc = fhir_document(path)
    if doc is None:
        return parse_file(path)
    from npc_kg.extras import require_fhir

    require_fhir()
    from npc_kg.fhir import read_bundle

    return read_bundle(doc, where=str(path)).graph or Graph()  # out of scope: no patient graph, the assessment says why


def build_load_graph(
    patient_files: Iterable[str | Path] = (),
    *,
    include_kg: bool = True,
    assess: Callable[[Any], Sequence[Any]] | None = None,
    extra: Iterable[Graph] = (),
) -> Graph:
    """The content ``npc-kg load`` sends: the merged graph, patient graphs, their assessments, ``extra``."""
    graph = Graph()
    if include_kg:
        from npc_kg.kg.load import load

        graph += load()
    for path in patient_files:
        graph += _patient_graph(path)
        for assessment in assessment_graphs(path, assess):
            graph += assessment
    for item in extra:
        graph += item
    return graph


def load_endpoint(
    endpoint: str,
    patient_files: Iterable[str | Path] = (),
    *,
    graph: str = DEFAULT_GRAPH,
    update_endpoint: str | None = None,
    gsp_endpoint: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    include_kg: bool = True,
    assess: Callable[[Any], Sequence[Any]] | None = None,
    extra: Iterable[Graph] = (),
    batch_size: int | None = None,
) -> LoadReport:
    """Replace the named ``graph`` on the server with the knowledge graph (+ patients + assessments).

    Uses the Graph Store Protocol when ``gsp_endpoint`` is given, else batches of
    ``INSERT { GRAPH <g> { ... } } WHERE {}`` on ``update_endpoint`` (default: ``endpoint``, or
    ``.../update`` for an Oxigraph ``.../query``).
    Raises :class:`~npc_kg.errors.EndpointError` if the server rejects or short-changes the load.
    """
    content = build_load_graph(patient_files, include_kg=include_kg, assess=assess, extra=extra)
    options: dict[str, Any] = {}
    if batch_size is not None:
        options["batch_size"] = batch_size
    backend = RemoteBackend(
        endpoint, update_endpoint=update_endpoint, gsp_endpoint=gsp_endpoint, graph=graph, timeout=timeout, **options
    )
    return backend.load_report(content, graph, replace=True)
