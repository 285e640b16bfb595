"""The ``--pack DIR`` option that commands share: criteria packs loaded beside the package's own."""

from __future__ import annotations

import argparse

__all__ = ["add_pack_option", "add_treatment_option"]


def add_pack_option(parser: argparse.ArgumentParser) -> None:
    """Add ``--pack DIR`` (repeatable) to ``parser``; the folders end up in ``args.packs`` (a list)."""
    parser.add_argument("--pack", dest="packs", action="append", default=[], metavar="DIR",
                        help="also load the criteria pack in DIR (repeatable; see docs/packs.md)")


def add_treatment_option(parser: argparse.ArgumentParser, default_help: str) -> None:
    """Add ``--treatment IRI|CURIE`` to ``parser``; ``default_help`` says what happens without it."""
    parser.add_argument("--treatment", default=None, metavar="IRI|CURIE",
                        help=f"the treatment whose criteria apply, an IRI or a CURIE such as npc:... ({default_help})")
