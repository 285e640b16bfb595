"""``npc-kg reason``: check the ontology and knowledge base with HermiT and show the inferred hierarchy."""

from __future__ import annotations

import argparse
import sys

from npc_kg.atomic import atomic_write_text, check_not_input, check_output_path
from npc_kg.kg.load import graph_files
from npc_kg.kg.reason import reason

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register the sub-command."""
    parser = subparsers.add_parser(
        "reason",
        help="check consistency with HermiT and print the inferred class hierarchy",
        description="Run HermiT over the ontology and the knowledge base (never patient data). Prints a "
        "summary; with -o, also writes the inferred class hierarchy (rdfs:subClassOf between named "
        "classes) as Turtle, atomically. Exit code 5 if the ontology is inconsistent or has "
        "unsatisfiable classes.",
    )
    parser.add_argument("-o", "--output", metavar="FILE", help="write the inferred class hierarchy (Turtle) to FILE")
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    if args.output:  # refused before HermiT runs, not after
        check_output_path(args.output)
        check_not_input(args.output, graph_files())
    report = reason()
    print(report.summary())
    if args.output:
        atomic_write_text(args.output, report.to_turtle(), inputs=graph_files())
        print(f"wrote {args.output}", file=sys.stderr)
    return 0
