"""OWL functional syntax (``ofn``) and OWL/XML (``owx``) written by the OWL API, for Protégé.

The OWL API is the Java library Protégé itself uses. npc-kg runs ``npc_kg/java/OwlConvert.java``
with Java's single-file source launcher (``java -cp JARS OwlConvert.java ttl ofn``); the
ontology goes in on stdin and the result comes back on stdout, so no temporary file is written.

What the OWL API reads is :func:`npc_kg.exporters.owl.safe_ntriples` (the ontology and the
knowledge base, never patient data, without ``owl:imports`` and owlready2 annotations) written as
Turtle with ``@prefix`` lines for :data:`npc_kg.namespace.PREFIXES`, so the outputs use ``npc:``, ``kb:``…
``OwlConvert`` refuses every network URL for its whole JVM, uses no IRI mappers and skips
missing imports silently; the run has a timeout of :data:`TIMEOUT_SECONDS`.

The jars come from the Debian package ``libowlapi-java`` in ``/usr/share/java`` (its manifests
have no ``Class-Path``, so :data:`OWLAPI_JARS` lists the modules and dependencies used), or from
``NPC_KG_OWLAPI_CLASSPATH`` (a Java class path) when set. A missing ``java`` or jar is an
:class:`~npc_kg.errors.ExternalToolError` that names the Debian package to install.

Read back by the OWL API as RDF, an export is the source graph, literals and blank-node
provenance included, up to two changes without meaning in OWL: the OWL API adds declarations
for entities the graph uses undeclared (``owl:NamedIndividual`` for individuals typed only by
their class, ``rdfs:Datatype`` for ``xsd:date`` and ``xsd:gYearMonth``), and it writes the members of
``owl:oneOf`` (a set) in its own list order. ``tests/linking/test_owlapi.py`` checks isomorphism
after normalising exactly these. OWL/XML is read back through OFN (``owx -> ofn -> ttl``): OWL
API 5.1.20 writes an anonymous individual read from OWL/XML as one blank node per occurrence.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from rdflib import Graph

from npc_kg.atomic import atomic_write_bytes
from npc_kg.errors import ExternalToolError
from npc_kg.exporters.owl import safe_ntriples
from npc_kg.exporters.registry import register_exporter
from npc_kg.kg.load import graph_files
from npc_kg.kg.turtle import turtle_text
from npc_kg.namespace import PREFIXES

__all__ = [
    "CLASSPATH_ENV",
    "OWLAPI_JARS",
    "TIMEOUT_SECONDS",
    "owl_functional",
    "owl_xml",
    "owlapi_classpath",
    "owlapi_command",
    "owlapi_convert",
    "write_ofn",
    "write_owx",
]

CLASSPATH_ENV = "NPC_KG_OWLAPI_CLASSPATH"
"""Environment variable: a Java class path with the OWL API and its dependencies."""

JAR_DIR = Path("/usr/share/java")

OWLAPI_JARS = (
    # OWL API modules (Debian libowlapi-java)
    "owlapi-api.jar",
    "owlapi-apibinding.jar",
    "owlapi-impl.jar",
    "owlapi-parsers.jar",
    # their runtime dependencies, installed with libowlapi-java
    "guava.jar",
    "caffeine.jar",
    "atinject-jsr330-api.jar",
    "commons-io.jar",
    "commons-rdf-api.jar",
    "hppcrt.jar",
    "xz.jar",
    "slf4j-api.jar",
    "slf4j-nop.jar",  # silences SLF4J's "no binding" warning on stderr
)
"""Jars under ``/usr/share/java`` that ``OwlConvert`` loads (without any one of them it fails, bar slf4j-nop)."""

TIMEOUT_SECONDS = 300
"""Longest run of ``OwlConvert``; it takes a few seconds on the npc-kg graph."""

_CONVERTER = Path(__file__).resolve().parent.parent / "java" / "OwlConvert.java"
_INSTALL = "install the Debian package libowlapi-java (apt-get install libowlapi-java)"


def owlapi_classpath() -> str:
    """Return the Java class path of the OWL API; raise :class:`ExternalToolError` if a jar is missing."""
    configured = os.environ.get(CLASSPATH_ENV)
    if configured:
        entries = [entry for entry in configured.split(os.pathsep) if entry]
        missing = [entry for entry in entries if not Path(entry.removesuffix("*")).exists()]
        if missing or not entries:
            names = ", ".join(missing) or "(none)"
            raise ExternalToolError(f"{CLASSPATH_ENV} names missing paths: {names}; {_INSTALL}, or fix the variable")
        return os.pathsep.join(entries)
    jars = [JAR_DIR / name for name in OWLAPI_JARS]
    missing = [str(jar) for jar in jars if not jar.is_file()]
    if missing:
        names = ", ".join(missing)
        raise ExternalToolError(f"the OWL API is not installed ({names} missing): {_INSTALL}, or set {CLASSPATH_ENV}")
    return os.pathsep.join(str(jar) for jar in jars)


def owlapi_command(source: str, target: str) -> list[str]:
    """Return the ``java`` command that converts ``source`` to ``target``; raise if Java or a jar is missing."""
    java = shutil.which("java")
    if java is None:
        raise ExternalToolError("java is not on PATH: install the Debian packages default-jre-headless and libowlapi-java")
    # One GC thread: the graph is small and exports should not compete with other work.
    return [java, "-XX:+UseSerialGC", "-cp", owlapi_classpath(), str(_CONVERTER), source, target]


def owlapi_convert(data: bytes, source: str, target: str) -> bytes:
    """Convert an ontology document between ``ttl``, ``ofn`` and ``owx`` with the OWL API."""
    command = owlapi_command(source, target)
    try:
        run = subprocess.run(command, input=data, capture_output=True, timeout=TIMEOUT_SECONDS, check=False)
    except subprocess.TimeoutExpired:
        raise ExternalToolError(f"the OWL API did not finish within {TIMEOUT_SECONDS} s ({_CONVERTER.name})") from None
    if run.returncode != 0:
        stderr = run.stderr.decode("utf-8", errors="replace").strip()
        detail = stderr.splitlines()[0] if stderr else f"exit code {run.returncode}"
        # A class path without the OWL API fails to compile OwlConvert.java or to link at run time.
        incomplete = "compilation failed" in stderr or "NoClassDefFoundError" in stderr
        hint = f"; {_INSTALL}, or fix {CLASSPATH_ENV}" if incomplete else ""
        raise ExternalToolError(f"{_CONVERTER.name} {source} -> {target} failed: {detail}{hint}")
    return run.stdout


def _ontology_turtle(graph: Graph) -> bytes:
    """The safe triples of ``graph`` (:func:`safe_ntriples`) as Turtle with ``@prefix`` lines, so outputs use prefixes.

    Not N-Triples: the OWL API's Turtle parser (5.1.20) reads the escape ``\\n`` in a short string
    as the letter ``n``; Turtle written by rdflib puts a literal with line breaks in a long
    string (triple quotes), which it reads right (a quote with a line break round-trips, tested).
    """
    safe = Graph(bind_namespaces="none")
    safe.parse(data=safe_ntriples(graph), format="nt")
    for name, iri in PREFIXES.items():
        safe.bind(name, iri)
    return turtle_text(safe).encode("utf-8")


def owl_functional(graph: Graph) -> bytes:
    """Return ``graph`` in OWL functional syntax written by the OWL API."""
    return owlapi_convert(_ontology_turtle(graph), "ttl", "ofn")


def owl_xml(graph: Graph) -> bytes:
    """Return ``graph`` in OWL/XML written by the OWL API."""
    return owlapi_convert(_ontology_turtle(graph), "ttl", "owx")


@register_exporter("ofn")
def write_ofn(graph: Graph, path: Path) -> None:
    """Write ``graph`` as OWL functional syntax to ``path`` atomically."""
    atomic_write_bytes(path, owl_functional(graph), inputs=graph_files())


@register_exporter("owx")
def write_owx(graph: Graph, path: Path) -> None:
    """Write ``graph`` as OWL/XML to ``path`` atomically."""
    atomic_write_bytes(path, owl_xml(graph), inputs=graph_files())
