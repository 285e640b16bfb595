"""``npc-kg qc``: a ROBOT-report-like TSV of the QC queries and the knowledge-base shapes."""

from __future__ import annotations

import argparse
import sys

from npc_kg.atomic import atomic_write_text
from npc_kg.errors import ChecksFailedError
from npc_kg.kg.load import graph_files
from npc_kg.kg.quality import LEVELS, qc_report, qc_tsv

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register the sub-command."""
    parser = subparsers.add_parser(
        "qc",
        help="quality report (ROBOT-report-like TSV) of the QC queries and the knowledge-base shapes",
        description="Run queries/qc/*.rq and shapes/kb.ttl over the merged graph and print one TSV row per "
        "problem: Level, Rule Name, Subject, Property, Value (as ROBOT report does). Exit 6 when a row "
        "has level ERROR (or the level given with --fail-on), else 0 (exit 1 is kept for internal errors).",
    )
    parser.add_argument("-o", "--output", metavar="FILE", help="write the TSV to FILE (atomically) instead of stdout")
    parser.add_argument("--fail-on", choices=(*LEVELS, "none"), default="ERROR", help="lowest level that makes the exit code 6")
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    rows = qc_report()
    text = qc_tsv(rows)
    atomic_write_text(args.output or "-", text, inputs=graph_files())
    counts = {level: sum(1 for row in rows if row.level == level) for level in LEVELS}
    print("npc-kg qc: " + ", ".join(f"{n} {level}" for level, n in counts.items()), file=sys.stderr)
    if args.fail_on == "none":
        return 0
    failing = LEVELS[: LEVELS.index(args.fail_on) + 1]
    found = sum(1 for row in rows if row.level in failing)
    if found:
        raise ChecksFailedError(f"qc: {found} row(s) at level {' or '.join(failing)}")
    return 0
