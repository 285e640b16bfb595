"""``npc-kg import-mondo``: rebuild the ODK-style MONDO import from a MONDO release file."""

from __future__ import annotations

import argparse
import sys

from npc_kg.kg.mondo_import import write_mondo_import

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register the sub-command."""
    parser = subparsers.add_parser(
        "import-mondo",
        help="rebuild ontology/imports/mondo_import.ttl from a MONDO release file",
        description="Extract the seed classes of ontology/imports/mondo_terms.txt and all their MONDO ancestors, with "
        "labels, definitions, synonyms, cross-references and SKOS mappings, from a MONDO file (mondo.owl, mondo.ttl, "
        "or a slice such as ../shared/mondo/mondo-npc-slice.ttl) and write them as Turtle, atomically. Nothing is "
        "fetched. Method: docs/linking.md.",
    )
    parser.add_argument("--source", required=True, metavar="FILE", help="MONDO release file (.owl RDF/XML, .ttl, .nt)")
    parser.add_argument(
        "--source-version", required=True, metavar="TEXT", help="release or commit of the source, kept in the header"
    )
    parser.add_argument("--terms", metavar="FILE", help="seed list (default: ontology/imports/mondo_terms.txt)")
    parser.add_argument("-o", "--output", required=True, metavar="FILE", help="output Turtle file")
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    result = write_mondo_import(args.source, args.output, terms=args.terms, source_version=args.source_version)
    print(f"wrote {args.output}: {len(result.seeds)} seed(s), {len(result.classes)} class(es)", file=sys.stderr)
    return 0
