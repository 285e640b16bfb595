"""``npc-kg info``: the version, counts of classes, criteria, figures and sources, the loaded criteria packs
and their treatments."""

from __future__ import annotations

import argparse
import json

from npc_kg.cli.packs_option import add_pack_option
from npc_kg.kg.info import info

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register the sub-command."""
    parser = subparsers.add_parser("info", help="show the version, counts, criteria packs and treatments of the knowledge graph")
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    add_pack_option(parser)
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    summary = info(packs=args.packs or None)
    if args.json:
        print(json.dumps(summary, indent=2))
        return 0
    width = max(len(key) for key in summary)
    for key, value in summary.items():
        if key == "packs" and isinstance(value, list):
            print(f"{'packs':<{width}}  {len(value)}")
            for pack in value:
                where = "built in" if pack["builtin"] else pack["folder"]
                print(f"  {pack['label']} {pack['version']} <{pack['iri']}> ({where})")
        elif key == "treatments" and isinstance(value, list):
            print(f"{'treatments':<{width}}  {len(value)}")
            for treatment in value:
                print(f"  {treatment['label']} <{treatment['iri']}>")
        else:
            print(f"{key.replace('_', ' '):<{width}}  {value}")
    return 0
