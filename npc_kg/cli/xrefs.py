"""`npc-kg xrefs` (not yet implemented)."""

from __future__ import annotations

import argparse

from npc_kg.errors import NpcKgError

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register the sub-command."""
    parser = subparsers.add_parser("xrefs", help="(not yet implemented)")
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    raise NpcKgError("not yet implemented")
