"""``npc-kg docs``: static HTML documentation of the ontology and the knowledge base."""

from __future__ import annotations

import argparse
import sys

from npc_kg.kg.docs import build_docs

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register the sub-command."""
    parser = subparsers.add_parser(
        "docs",
        help="write static HTML documentation of the ontology and the knowledge base",
        description="Write index.html and style.css into DIR (new or empty): classes, properties, criteria, "
        "evidence figures with their quotes, associations, statements, mappings and the MONDO placement. "
        "Needs Jinja2 (pip install 'npc-kg[docs]').",
    )
    parser.add_argument("-o", "--output", required=True, metavar="DIR", help="new or empty output folder")
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    path = build_docs(args.output)
    print(f"wrote {path / 'index.html'}", file=sys.stderr)
    return 0
