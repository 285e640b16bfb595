"""Assess input files and render them in one call (what ``npc-kg assess`` runs)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

from rdflib import Graph, URIRef

from npc_kg.assessment.assess import Assessment, assess_graph
from npc_kg.assessment.provenance import stamped
from npc_kg.assessment.render import render
from npc_kg.assessment.treatments import default_treatment
from npc_kg.errors import NpcKgError, PatientModelError
from npc_kg.patient import PatientInput, read_patient

__all__ = ["assess_sources", "report"]


def assess_sources(sources: Iterable[PatientInput], treatment: str | URIRef | None = None, *,
                   engine: str = "local", at: str | datetime | None = None,
                   failures: list[tuple[str, NpcKgError]] | None = None) -> tuple[list[Assessment], dict[str, Graph]]:
    """Assess every input; return the assessments (provenance time ``at``) and each patient's graph.

    Patient-model errors of all inputs are collected and raised together, as
    :func:`npc_kg.assessment.assess.assess_many` does. With a ``failures`` list, no error is raised:
    each input that fails adds ``(name, error)`` to it and the others are still assessed.
    """
    assessments: list[Assessment] = []
    graphs: dict[str, Graph] = {}
    errors: list[str] = []
    for source in sources:
        try:
            graph, where = read_patient(source)
            found = assess_graph(graph, treatment or default_treatment(), where=where, engine=engine)
        except PatientModelError as error:
            if failures is not None:
                failures.append((str(source) if isinstance(source, str | Path) else "<input>", error))
            else:
                errors.extend(error.errors or [str(error)])
            continue
        except NpcKgError as error:
            if failures is None:
                raise
            failures.append((str(source) if isinstance(source, str | Path) else "<input>", error))
            continue
        assessments.extend(found)
        graphs.update({a.patient: graph for a in found})
    if errors:
        raise PatientModelError(f"patient data breaks the patient model ({len(errors)} error(s))", errors)
    return stamped(assessments, at), graphs


def report(sources: Iterable[PatientInput], fmt: str = "text", treatment: str | URIRef | None = None, *,
           engine: str = "local", at: str | datetime | None = None,
           failures: list[tuple[str, NpcKgError]] | None = None) -> str:
    """Assess ``sources`` and render them in ``fmt`` (text, json, ttl, html); with a ``failures`` list,
    inputs that fail are listed there and the others are rendered (see :func:`assess_sources`)."""
    assessments, graphs = assess_sources(sources, treatment, engine=engine, at=at, failures=failures)
    return render(assessments, fmt, graphs)
