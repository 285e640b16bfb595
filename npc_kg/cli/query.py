"""`npc-kg query`: run a named query, a .rq file or SPARQL text; print a table, CSV, TSV or JSON."""

from __future__ import annotations

import argparse
import sys

from npc_kg.cli.numbers import seconds
from npc_kg.cli.packs_option import add_pack_option
from npc_kg.errors import NpcKgError, QueryError
from npc_kg.namespace import DEFAULT_GRAPH_IRI

__all__ = ["register"]

_EPILOG = f"""\
QUERY is a named query (see --list), a path to a .rq file, or SPARQL text.
Parameters: --param name=value, once per parameter declared in the query's '# params:' header;
IRI values may be CURIEs with the project prefixes (npc:..., or another PREFIX:ID of the ontology).
An undeclared parameter is an error (exit 2).

Formats: table (default, aligned text); csv (W3C SPARQL 1.1 CSV results: header row, plain
values, empty cell for unbound); tsv (the same with tabs); json (a list of objects, one per row,
with JSON numbers/booleans and null for unbound; not the W3C results JSON). ASK prints true/false.

Backends: rdflib (default) or oxigraph, embedded, over the packaged knowledge graph; or a SPARQL
1.1 server with --endpoint (queries the named graph --graph, default {DEFAULT_GRAPH_IRI}).
SERVICE, LOAD and FROM of remote graphs are refused unless --allow-network. Updates are refused
unless --update (which needs --endpoint). Exit codes: 0 ran, 2 bad query/arguments, 4 endpoint.
"""


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register the sub-command."""
    parser = subparsers.add_parser(
        "query",
        help="run a named SPARQL query, a .rq file or SPARQL text",
        description="Run a SPARQL query over the knowledge graph (embedded) or a SPARQL 1.1 endpoint.",
        epilog=_EPILOG + _named_queries_help(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("query", nargs="?", metavar="NAME|FILE.rq|TEXT", help="named query, .rq file or SPARQL text")
    parser.add_argument("--param", "-p", action="append", default=[], metavar="NAME=VALUE", help="bind a declared parameter")
    parser.add_argument("--endpoint", metavar="URL", help="SPARQL 1.1 query endpoint (remote backend)")
    parser.add_argument("--update-endpoint", metavar="URL", help="SPARQL update endpoint for --update (default: --endpoint)")
    parser.add_argument("--graph", metavar="IRI", help="named graph to query on the endpoint")
    parser.add_argument("--timeout", type=seconds, default=None, metavar="SECONDS",
                        help="stop the query after SECONDS: a remote endpoint's request (default 10; exit 4) or an "
                        "embedded query (default 60, NPC_KG_QUERY_TIMEOUT; 0: no limit; exit 2)")
    parser.add_argument("--backend", choices=("rdflib", "oxigraph"), help="embedded backend (default rdflib)")
    parser.add_argument("--format", "-f", choices=("table", "csv", "tsv", "json"), default="table", help="output format")
    parser.add_argument("-o", "--out", default="-", metavar="FILE",
                        help="write the rows to FILE, atomically (default '-': standard output)")
    parser.add_argument("--update", action="store_true", help="allow and run a SPARQL update (needs --endpoint)")
    parser.add_argument("--allow-network", action="store_true", help="permit SERVICE, LOAD and remote FROM")
    parser.add_argument("--list", action="store_true", help="list the named queries with titles and parameters")
    add_pack_option(parser)
    parser.set_defaults(func=_run)


def _named_queries_help() -> str:
    try:
        from npc_kg.sparql.catalog import list_queries

        lines = ["\nNamed queries:"]
        for named in list_queries():
            params = "; ".join(spec.describe() for spec in named.params) or "no parameters"
            lines.append(f"  {named.name}: {named.title}\n      params: {params}")
        return "\n".join(lines) + "\n"
    except NpcKgError as error:
        return f"\n(named queries unavailable: {error})\n"


def _params(pairs: list[str]) -> dict[str, str]:
    params: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise QueryError(f"--param {pair!r}: expected NAME=VALUE")
        if name.strip() in params:
            raise QueryError(f"--param {name.strip()!r} given twice")
        params[name.strip()] = value
    return params


def _run(args: argparse.Namespace) -> int:
    from npc_kg.kg.query import run_query, update
    from npc_kg.sparql.catalog import list_queries
    from npc_kg.sparql.results import format_rows

    if args.list:
        if args.query:
            raise QueryError(f"--list takes no query ({args.query!r} given): it lists every named query and its parameters")
        for named in list_queries():
            print(f"{named.name}\t{named.title}")
            for spec in named.params:
                print(f"    --param {spec.describe()}")
        return 0
    if not args.query:
        raise QueryError("give a query (a name, a .rq file or SPARQL text), or --list")
    from npc_kg.atomic import check_output_path, is_stdout
    from npc_kg.limits import configure

    if not is_stdout(args.out):
        check_output_path(args.out)
    if args.update_endpoint and not args.update:
        raise QueryError("--update-endpoint is where --update sends an update; give --update, or drop it")
    options: dict[str, object] = {}
    if args.timeout is not None:
        options["timeout"] = args.timeout
        if not args.endpoint:
            configure(query_timeout=args.timeout)  # the package's own queries too
    if args.graph:
        options["graph"] = args.graph
    if args.update:
        if args.param:
            raise QueryError("--param is not supported with --update")
        if args.update_endpoint:
            options["update_endpoint"] = args.update_endpoint
        update(args.query, endpoint=args.endpoint, allow_network=args.allow_network, remote_options=options)
        print("update done", file=sys.stderr)
        return 0
    result = run_query(
        args.query,
        backend=args.backend,
        endpoint=args.endpoint,
        allow_network=args.allow_network,
        params=_params(args.param),
        remote_options=options,
        packs=args.packs or None,
    )
    from npc_kg.atomic import atomic_write_text

    if result.boolean is not None:
        atomic_write_text(args.out, "true\n" if result.boolean else "false\n")
        return 0
    atomic_write_text(args.out, format_rows(result.rows, result.variables, args.format))
    return 0
