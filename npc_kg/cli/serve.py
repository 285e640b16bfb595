"""``npc-kg serve``: the CDS Hooks service, the read-only SPARQL endpoint and the report form."""

from __future__ import annotations

import argparse

from npc_kg.cli.numbers import at_least_one, port, positive_seconds

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register the sub-command."""
    parser = subparsers.add_parser(
        "serve",
        help="run the service: CDS Hooks, read-only SPARQL endpoint over the knowledge graph, report form",
        description="An ASGI service (Starlette on uvicorn), bound to 127.0.0.1 by default. Reports are held in "
        "memory only and expire; nothing is written to disk; logs hold no request body or patient value. "
        "See docs/service.md.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    parser.add_argument("--port", type=port, default=8000, help="port (default 8000)")
    parser.add_argument("--mapping", action="append", default=[], metavar="FILE.yaml",
                        help="a site's FHIR mapping, extending the shipped one to read the prefetch; one that gives "
                        "an order code lists the order-select service")
    parser.add_argument("--max-body", type=at_least_one, default=1024 * 1024, metavar="BYTES",
                        help="largest request body (default 1 MiB; larger gets HTTP 413)")
    parser.add_argument("--max-query-size", type=at_least_one, metavar="BYTES",
                        help="largest /sparql query (default 16384, or NPC_KG_MAX_QUERY_BYTES; larger gets HTTP 413 "
                        "before it is parsed)")
    parser.add_argument("--max-sparql-queries", type=at_least_one, metavar="N",
                        help="/sparql queries run at once, each in a process of its own (default: the number of "
                        "CPUs; one more gets HTTP 503 with Retry-After)")
    parser.add_argument("--timeout", type=positive_seconds, default=30.0, metavar="SECONDS",
                        help="time an assessment or query may take (default 30; then HTTP 503)")
    parser.add_argument("--base-url", metavar="URL",
                        help="the service's public URL, from which CDS cards link to their reports (e.g. "
                        "https://cds.example.org/npc-kg, behind a proxy); default: the address and port a request "
                        "reached, never its Host header")
    parser.add_argument("--report-ttl", type=positive_seconds, default=900.0, metavar="SECONDS",
                        help="how long a report link stays valid (default 900)")
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from npc_kg.service import ServiceConfig, serve

    serve(args.host, args.port, ServiceConfig(max_body=args.max_body, timeout=args.timeout, report_ttl=args.report_ttl,
                                              mappings=tuple(args.mapping), max_query_bytes=args.max_query_size,
                                              max_sparql_queries=args.max_sparql_queries, base_url=args.base_url))
    return 0
