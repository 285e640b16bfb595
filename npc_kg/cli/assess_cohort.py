"""`npc-kg assess-cohort`: screen a whole cohort for eligibility (rows + attrition table)."""

from __future__ import annotations

import argparse

from npc_kg.cli.numbers import at_least_one, seconds
from npc_kg.cli.packs_option import add_pack_option, add_treatment_option
from npc_kg.namespace import DEFAULT_GRAPH_IRI

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register the sub-command."""
    parser = subparsers.add_parser(
        "assess-cohort",
        help="assess many patients (N-Triples, N-Quads, Turtle, CSV, a FHIR Bulk Data export or a SPARQL endpoint); "
        "print the attrition table",
        description="One output row per patient (its IRI and source id, verdict, one status per criterion, error "
        "reason) and the OHDSI-style attrition table. Input is streamed in batches; a FHIR Bulk Data export "
        "(folders or .ndjson files, read as one export) is indexed first, in memory that grows with the number "
        "of patients. See docs/cohort.md and docs/fhir.md.",
    )
    parser.add_argument("inputs", nargs="*", metavar="INPUT",
                        help="cohort files (.nt, .nq, .ttl, .csv), FHIR Bulk Data exports (folders, .ndjson) or FHIR "
                        "bundle files (.json)")
    parser.add_argument("--out", required=True,
                        help="output file, written atomically, or '-' for standard output (csv, jsonl; the attrition "
                        "table then goes to stderr)")
    parser.add_argument("--format", dest="fmt", choices=("csv", "jsonl", "parquet"),
                        help="output format (default: from --out, else csv)")
    parser.add_argument("--attrition", help="also write the attrition table as CSV")
    parser.add_argument("--batch-size", type=at_least_one, default=1000, help="patients per batch (memory bound; default 1000)")
    parser.add_argument("--endpoint", help="SPARQL endpoint URL that already holds the patient data")
    parser.add_argument("--engine", choices=("local", "sparql", "reference", "fast"), default="local",
                        help="shapes compiled to Python (local, the default; alias fast), to SPARQL (sparql; "
                        "always used with --endpoint) or pySHACL (reference)")
    parser.add_argument("--workers", type=at_least_one, default=1, help="worker processes (default 1)")
    parser.add_argument("--input-format", choices=("nt", "nq", "ttl", "csv", "fhir"),
                        help="input format (default: from the file name; folders and .ndjson are FHIR)")
    parser.add_argument("--mapping", action="append", default=[], metavar="FILE.yaml",
                        help="a site's mapping (repeatable), by its format: a registry CSV layout "
                        "(npc-kg-cohort-csv/1) or FHIR codes and rules (npc-kg-fhir-mapping/1); extends or overrides "
                        "the shipped mapping")
    parser.add_argument("--strict", action="store_true",
                        help="refuse CSV columns the mapping does not name (default: ignore them, with one notice)")
    parser.add_argument("--timeout", type=seconds, metavar="SECONDS",
                        help="with --endpoint: seconds each request may take (default 60); without: seconds the "
                        "package's own queries may run (default 60, NPC_KG_QUERY_TIMEOUT; 0: no limit)")
    parser.add_argument("--graph", metavar="IRI", default=DEFAULT_GRAPH_IRI,
                        help=f"with --endpoint: the named graph that holds the patients (default {DEFAULT_GRAPH_IRI}, "
                        "where npc-kg load writes; 'default': the endpoint's default graph)")
    parser.add_argument("--encoding", default="utf-8",
                        help="encoding of CSV input (default utf-8; e.g. latin-1, cp1252)")
    parser.add_argument("--report", metavar="FILE.html",
                        help="also write the cohort view as HTML: attrition chart and table, verdict counts (docs/report.md)")
    parser.add_argument("--at", metavar="ISO8601",
                        help="time of assessment recorded in the provenance (default: SOURCE_DATE_EPOCH, else now)")
    add_treatment_option(parser, "default: the one treatment the loaded packs state criteria of; with several, "
                                 "exit 2 and list them")
    add_pack_option(parser)
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    import sys

    from npc_kg.atomic import check_distinct_outputs, check_output_path, is_stdout
    from npc_kg.cohort import assess_cohort
    from npc_kg.errors import OutputError

    check_distinct_outputs(args.out, args.attrition, args.report, names=("--out", "--attrition", "--report"))
    for target in (args.out, args.attrition, args.report):
        if target is not None and not is_stdout(target):
            check_output_path(target)  # before the run: a device, FIFO or link is refused at once
    if is_stdout(args.out) and (args.fmt == "parquet"):
        raise OutputError("-: parquet is binary; give a file for --out")

    if args.timeout is not None and not args.endpoint:
        from npc_kg.limits import configure

        configure(query_timeout=args.timeout)  # the package's own queries (docs/reliability.md)
    summary = assess_cohort(
        args.inputs, args.out, fmt=args.fmt, attrition=args.attrition, batch_size=args.batch_size,
        endpoint=args.endpoint, engine=args.engine, workers=args.workers, input_format=args.input_format,
        timeout=args.timeout if args.endpoint else None, report=args.report, at=args.at,
        mapping=args.mapping or None, strict=args.strict,
        treatment=args.treatment, packs=args.packs or None, graph=args.graph, encoding=args.encoding,
    )
    print(summary.attrition.text(), file=sys.stderr if is_stdout(args.out) else sys.stdout)
    return 0
