"""`npc-kg load`: load the knowledge graph, and optionally patient files with their assessments, into a server."""

from __future__ import annotations

import argparse

from npc_kg.cli.numbers import seconds
from npc_kg.namespace import DEFAULT_GRAPH_IRI

__all__ = ["register"]

_EPILOG = f"""\
The named graph (--graph, default {DEFAULT_GRAPH_IRI}) is replaced by the knowledge
graph, plus each PATIENT_FILE and the RDF form of its eligibility assessment (computed locally
with npc_kg.assess), so that 'npc-kg query patient-criterion-status --endpoint URL' works on the
server. Loading uses the Graph Store Protocol if --gsp-endpoint is given (PUT ?graph=, N-Triples),
else batches of INSERT {{ GRAPH <g> {{ ... }} }} WHERE {{}} on --update-endpoint (default: --endpoint;
an Oxigraph .../query endpoint implies .../update). The triple count is verified afterwards; a
rejected or short load exits with code 4 and says how many batches and triples got in.

Examples:
  npc-kg load --endpoint http://127.0.0.1:7878/query --gsp-endpoint http://127.0.0.1:7878/store
  npc-kg load --endpoint http://127.0.0.1:8890/sparql patient.ttl
"""


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register the sub-command."""
    parser = subparsers.add_parser(
        "load",
        help="load the knowledge graph (and patient files + assessments) into a SPARQL server",
        description="Load the knowledge graph, and optionally patient files with their assessments, into a SPARQL 1.1 server.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "patient_files", nargs="*", metavar="PATIENT_FILE", help="patient RDF files to load with their assessments"
    )
    parser.add_argument("--endpoint", required=True, metavar="URL", help="SPARQL 1.1 query endpoint")
    parser.add_argument("--graph", metavar="IRI", help=f"named graph to replace (default {DEFAULT_GRAPH_IRI})")
    parser.add_argument("--update-endpoint", metavar="URL", help="SPARQL 1.1 update endpoint (default: --endpoint)")
    parser.add_argument("--gsp-endpoint", metavar="URL", help="Graph Store Protocol endpoint (e.g. Oxigraph .../store)")
    parser.add_argument("--timeout", type=seconds, default=None, metavar="SECONDS", help="per-request timeout (default 10)")
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from npc_kg.sparql.backends.remote import DEFAULT_GRAPH, DEFAULT_TIMEOUT
    from npc_kg.sparql.loading import load_endpoint

    report = load_endpoint(
        args.endpoint,
        args.patient_files,
        graph=args.graph or DEFAULT_GRAPH,
        update_endpoint=args.update_endpoint,
        gsp_endpoint=args.gsp_endpoint,
        timeout=args.timeout if args.timeout is not None else DEFAULT_TIMEOUT,
    )
    print(
        f"loaded {report.triples} triples into <{report.graph}> ({report.method}, {report.batches} request(s)); "
        f"graph holds {report.count}"
    )
    return 0
