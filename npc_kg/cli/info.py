"""``npc-kg info``: counts of classes, criteria, figures and sources, and the version."""

from __future__ import annotations

import argparse
import json

from npc_kg.kg.info import info

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register the sub-command."""
    parser = subparsers.add_parser("info", help="show the version and counts of the knowledge graph")
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    summary = info()
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        width = max(len(key) for key in summary)
        for key, value in summary.items():
            print(f"{key.replace('_', ' '):<{width}}  {value}")
    return 0
