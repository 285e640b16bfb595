"""``npc-kg export``: write the merged graph in a format other tools read, atomically."""

from __future__ import annotations

import argparse
import sys

from npc_kg.cli.packs_option import add_pack_option
from npc_kg.kg.export import export, formats

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register the sub-command."""
    parser = subparsers.add_parser(
        "export",
        help="export the merged graph (ontology + knowledge base + criteria packs + mappings)",
        description="Write the merged graph to FILE. The file is written to a temporary file "
        "beside it and moved into place, so a failed export never leaves a partial file. The RDF "
        "formats (ttl, nt, xml, jsonld) also carry the loaded packs' SHACL shapes.",
    )
    parser.add_argument("--format", "-f", required=True, choices=formats(), help="output format")
    parser.add_argument(
        "-o", "--output", required=True, metavar="FILE",
        help="output file, or '-' for standard output (a prefix or a new or empty folder for kgx; "
        "a new or empty folder for nanopub)",
    )
    parser.add_argument(
        "--sign", metavar="KEYFILE", help="nanopub only: sign with this RSA private key (PEM or base64); never published"
    )
    add_pack_option(parser)
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    path = export(args.format, args.output, sign=args.sign, packs=args.packs or None)
    if str(path) != "-":
        print(f"wrote {path}", file=sys.stderr)
    return 0
