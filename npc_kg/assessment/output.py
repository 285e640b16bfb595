"""Assess input files and render them in one call (what ``npc-kg assess`` runs)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

from rdflib import Graph, URIRef

from npc_kg.assessment.assess import Assessment, MappingInput, assess_input, check_mapping_read, fhir_mapping
from npc_kg.assessment.provenance import assessment_time, stamped
from npc_kg.assessment.render import render
from npc_kg.errors import NpcKgError, PatientModelError
from npc_kg.kg.packs import PackInput, using_packs
from npc_kg.patient import PatientInput

__all__ = ["assess_sources", "report"]


def assess_sources(sources: Iterable[PatientInput], treatment: str | URIRef | None = None, *,
                   engine: str = "local", at: str | datetime | None = None,
                   mapping: MappingInput = None, packs: Iterable[PackInput] | None = None,
                   failures: list[tuple[str, NpcKgError]] | None = None) -> tuple[list[Assessment], dict[str, Graph]]:
    """Assess every input (RDF, or FHIR read with ``mapping``) for ``treatment`` (default: each
    treatment the loaded packs state criteria of); return the assessments (provenance time ``at``)
    and each patient's graph (none for an out-of-scope FHIR patient).

    Patient-model errors of all inputs are collected and raised together, as
    :func:`npc_kg.assessment.assess.assess_many` does. With a ``failures`` list, no error is raised:
    each input that fails adds ``(name, error)`` to it and the others are still assessed.
    """
    assessments: list[Assessment] = []
    graphs: dict[str, Graph] = {}
    errors: list[str] = []
    items = list(sources)
    check_mapping_read(items, mapping)
    when = assessment_time(at)
    with using_packs(packs):
        resolved = fhir_mapping(mapping) if mapping else None  # the shipped one is resolved when FHIR comes
        for source in items:
            name = str(source) if isinstance(source, str | Path) else "<input>"
            try:
                found, graph = assess_input(source, treatment, engine=engine, mapping=resolved, at=when)
            except PatientModelError as error:
                if failures is not None:
                    failures.append((name, error))
                else:
                    errors.extend(error.errors or [str(error)])
                continue
            except NpcKgError as error:
                if failures is None:
                    raise
                failures.append((name, error))
                continue
            assessments.extend(found)
            if graph is not None:
                graphs.update({a.patient: graph for a in found})
    if errors:
        raise PatientModelError(f"patient data breaks the patient model ({len(errors)} error(s))", errors)
    return stamped(assessments, at), graphs


def report(sources: Iterable[PatientInput], fmt: str = "text", treatment: str | URIRef | None = None, *,
           engine: str = "local", at: str | datetime | None = None, mapping: MappingInput = None,
           packs: Iterable[PackInput] | None = None, failures: list[tuple[str, NpcKgError]] | None = None) -> str:
    """Assess ``sources`` (RDF or FHIR, read with ``mapping``; the criteria ``packs`` loaded) and render
    them in ``fmt`` (text, json, ttl, html); with a ``failures`` list, inputs that fail are listed
    there and the others are rendered (see :func:`assess_sources`)."""
    with using_packs(packs):
        assessments, graphs = assess_sources(sources, treatment, engine=engine, at=at, mapping=mapping,
                                             failures=failures)
        return render(assessments, fmt, graphs)
