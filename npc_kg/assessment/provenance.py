"""Provenance of an output: knowledge-base version, treatment, engine, criteria packs and time of assessment.

Every assessment (text, JSON, Turtle, HTML) and every cohort output carries a
:class:`Provenance`. The time is, in this order: an explicit ``at`` (ISO 8601, the CLI's
``--at``), else ``SOURCE_DATE_EPOCH`` (seconds since 1970, the reproducible-builds convention),
else the current UTC time to the second, so golden files and isomorphism tests stay
deterministic. In RDF it is written with PROV-O: the output ``prov:generatedAtTime`` and
``prov:wasGeneratedBy`` an activity that ``prov:used`` the ontology version and
``prov:wasAssociatedWith`` the engine (a ``prov:SoftwareAgent``); the activity also ``prov:used``
every criteria pack of the configuration (``docs/packs.md``).
"""

from __future__ import annotations

import dataclasses
import os
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, TypeVar

from rdflib import RDF, RDFS, BNode, Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, OWL, PROV, XSD
from rdflib.term import Node

from npc_kg.errors import InputError
from npc_kg.namespace import ONTOLOGY_IRI

__all__ = ["ENGINE_NAMES", "Provenance", "assessment_time", "current", "kb_version", "ontology_version_iri", "stamped"]

ENGINE_NAMES = {
    "local": "npc-kg local engine (compiled SHACL shapes)",
    "reference": "pySHACL reference engine",
    "sparql": "npc-kg SPARQL engine (SHACL shapes compiled to SPARQL)",
    "fast": "npc-kg local engine (compiled SHACL shapes)",
}
"""Readable names of the engines (``--engine``); an unknown name is kept as given."""

_LOCK = threading.Lock()
_VERSION_IRI: list[str] = []


def kb_version() -> str:
    """The knowledge-base version: the package version (``npc_kg.__version__``)."""
    from npc_kg import __version__

    return __version__


def ontology_version_iri() -> str:
    """The ontology's ``owl:versionIRI`` (read from the ontology, never spelled in Python)."""
    with _LOCK:
        if not _VERSION_IRI:
            from npc_kg.kg.load import load

            found = load().value(ONTOLOGY_IRI, OWL.versionIRI)
            _VERSION_IRI.append(str(found) if found is not None else "")
        return _VERSION_IRI[0]


def assessment_time(at: str | datetime | date | None = None) -> datetime:
    """The time of an assessment: ``at``, else ``SOURCE_DATE_EPOCH``, else now (UTC, whole seconds).

    ``at`` is ISO 8601 (``2026-01-31T09:00:00Z``), a datetime, or a date (its midnight); a time
    without an offset is taken as UTC. Raises :class:`InputError` for an unreadable ``at`` or
    ``SOURCE_DATE_EPOCH``.
    """
    if isinstance(at, datetime):
        moment = at
    elif isinstance(at, date):
        moment = datetime(at.year, at.month, at.day)
    elif isinstance(at, str):
        try:
            moment = datetime.fromisoformat(at.strip().replace("z", "Z"))
        except ValueError:
            raise InputError("--at / at=: not an ISO 8601 date-time (e.g. 2026-01-31T09:00:00Z)") from None
    elif at is not None:
        raise InputError(f"at= is ISO 8601 text, a datetime or a date, not {type(at).__name__}")
    elif os.environ.get("SOURCE_DATE_EPOCH"):
        try:
            moment = datetime.fromtimestamp(int(os.environ["SOURCE_DATE_EPOCH"]), tz=UTC)
        except (ValueError, OverflowError, OSError):
            raise InputError("SOURCE_DATE_EPOCH: not a whole number of seconds since 1970-01-01") from None
    else:
        moment = datetime.now(UTC).replace(microsecond=0)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except OverflowError:  # 9999-12-31T23:59:59-12:00 is past the last datetime in UTC
        raise InputError("--at / at=: out of the range of dates") from None


@dataclass(frozen=True)
class Provenance:
    """What produced an output, and when."""

    kb_version: str
    """The knowledge-base (package) version, ``npc_kg.__version__``."""
    ontology_version: str
    """The ontology's ``owl:versionIRI``."""
    treatment: str
    """The treatment assessed (IRI)."""
    engine: str
    """The engine's short name (``local``, ``reference``, ``sparql``)."""
    generated_at: str
    """ISO 8601 UTC time of the assessment, e.g. ``2026-01-31T09:00:00Z``."""
    packs: tuple[tuple[str, str], ...] = ()
    """The criteria packs of the configuration: ``(pack IRI, version)``, the package's first."""

    @property
    def engine_label(self) -> str:
        """A readable name of the engine."""
        return ENGINE_NAMES.get(self.engine, self.engine)

    @property
    def software(self) -> str:
        """``npc-kg <version>``."""
        return f"npc-kg {self.kb_version}"

    def to_dict(self) -> dict[str, Any]:
        """The ``provenance`` object of the JSON layout (``docs/assessment-json.md``)."""
        return {
            "kb_version": self.kb_version,
            "ontology_version": self.ontology_version,
            "treatment": self.treatment,
            "engine": self.engine,
            "generated_at": self.generated_at,
            "generated_by": self.software,
            "packs": [{"iri": iri, "version": version} for iri, version in self.packs],
        }

    def lines(self) -> list[str]:
        """Readable lines for text and HTML footers."""
        return [
            f"knowledge base: npc-kg {self.kb_version} (ontology {self.ontology_version or 'version not stated'})",
            f"engine: {self.engine_label}",
            *([f"criteria packs: {', '.join(f'<{iri}> {version}'.rstrip() for iri, version in self.packs)}"]
              if self.packs else []),
            f"assessed at: {self.generated_at}",
        ]

    def add_to(self, graph: Graph, output: URIRef | BNode) -> Node:
        """Add PROV-O triples saying how ``output`` was generated; return the activity node."""
        activity = URIRef(f"{output}/activity") if isinstance(output, URIRef) else BNode()
        agent = BNode()
        when = Literal(self.generated_at, datatype=XSD.dateTime)
        graph.bind("prov", str(PROV))
        graph.add((output, PROV.generatedAtTime, when))
        graph.add((output, PROV.wasGeneratedBy, activity))
        graph.add((activity, RDF.type, PROV.Activity))
        graph.add((activity, RDFS.label, Literal(f"assessment for {self.treatment}")))
        graph.add((activity, PROV.endedAtTime, when))
        graph.add((activity, PROV.wasAssociatedWith, agent))
        if self.ontology_version:
            graph.add((activity, PROV.used, URIRef(self.ontology_version)))
        graph.add((activity, PROV.used, URIRef(self.treatment)))
        for iri, _version in self.packs:
            graph.add((activity, PROV.used, URIRef(iri)))
        graph.add((agent, RDF.type, PROV.SoftwareAgent))
        graph.add((agent, RDFS.label, Literal(f"{self.software}: {self.engine_label}")))
        graph.add((agent, DCTERMS.identifier, Literal(self.engine)))
        graph.add((agent, DCTERMS.hasVersion, Literal(self.kb_version)))
        return activity

    def at(self, at: str | datetime | None) -> Provenance:
        """This provenance with the time of :func:`assessment_time` (``at``)."""
        return dataclasses.replace(self, generated_at=_iso(assessment_time(at)))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Provenance:
        """Read the object :meth:`to_dict` wrote."""
        packs = tuple((str(item["iri"]), str(item.get("version", ""))) for item in data.get("packs") or ())
        return cls(str(data["kb_version"]), str(data["ontology_version"]), str(data["treatment"]), str(data["engine"]),
                   str(data["generated_at"]), packs)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def current(treatment: str, engine: str, at: str | datetime | None = None, *, packs: Iterable[Any] | None = None) -> Provenance:
    """The provenance of an assessment of ``treatment`` by ``engine`` made now (or ``at``) with the
    criteria packs ``packs`` (default: those of the active configuration)."""
    from npc_kg.kg.packs import resolve_packs

    chosen = tuple((pack.iri, pack.version) for pack in resolve_packs(packs))
    return Provenance(kb_version(), ontology_version_iri(), str(treatment), engine, _iso(assessment_time(at)), chosen)


T = TypeVar("T")


def stamped(assessments: Iterable[T], at: str | datetime | date | None) -> list[T]:
    """``assessments`` with their provenance time set to ``at`` (unchanged when ``at`` is None)."""
    items = list(assessments)
    if at is None:
        return items
    when = assessment_time(at)
    out = []
    for item in items:
        prov = getattr(item, "provenance", None)
        if isinstance(prov, Provenance):
            item = dataclasses.replace(item, provenance=prov.at(when))  # type: ignore[type-var]
        out.append(item)
    return out
