"""``npc-kg pack check DIR`` and ``npc-kg pack blocks DIR``: check a criteria pack, generate its building blocks."""

from __future__ import annotations

import argparse
import sys

from npc_kg.cli.packs_option import add_pack_option

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register the sub-command."""
    parser = subparsers.add_parser(
        "pack",
        help="criteria packs: check one (npc-kg pack check DIR), or generate its building-block shapes",
        description="A criteria pack is a folder of Turtle files holding one treatment's criteria and shapes "
        "(docs/packs.md). Exit codes: 0 fine (warnings allowed), 6 the check found errors, 2 bad arguments.",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", parser_class=type(parser))
    actions.required = True
    check = actions.add_parser(
        "check", help="run the knowledge-base shapes and the pack rules on a pack; list problems with file, line and field",
        description="Check the pack in DIR, loaded with the package's packs (and --pack ones): manifest, Turtle syntax, "
        "IRIs defined twice, shapes/kb.ttl and shapes/pack.ttl, generated building blocks, shapes the evaluators "
        "read, verbatim quotes, csv.yaml and synth.yaml. Exit 0 without errors (warnings allowed), 6 with errors.",
    )
    check.add_argument("folder", metavar="DIR", help="the pack's folder (with pack.ttl)")
    add_pack_option(check)
    check.set_defaults(func=_check)
    blocks = actions.add_parser(
        "blocks", help="generate the pack's building-block shapes (shapes/findings.ttl) from its kb/*.ttl",
        description="Write DIR/shapes/findings.ttl: the present / absent / recorded / no-present / "
        "recorded-for-patient shapes of every finding the pack's criteria concern. With --check, write nothing and "
        "exit 6 if the file is missing or stale.",
    )
    blocks.add_argument("folder", metavar="DIR", help="the pack's folder (with pack.ttl)")
    blocks.add_argument("--check", action="store_true", help="only check that shapes/findings.ttl is up to date")
    blocks.set_defaults(func=_blocks)


def _check(args: argparse.Namespace) -> int:
    from npc_kg.errors import ChecksFailedError
    from npc_kg.kg.pack_check import check_pack

    report = check_pack(args.folder, packs=args.packs or None)
    sys.stdout.write(report.text())
    if not report.ok:
        raise ChecksFailedError(f"{args.folder}: the pack check found {len(report.errors)} error(s) (listed above)")
    return 0


def _blocks(args: argparse.Namespace) -> int:
    from npc_kg.errors import ChecksFailedError
    from npc_kg.kg.packs import read_pack
    from npc_kg.shacl.blocks import stale_blocks, write_blocks

    if args.check:
        stale = stale_blocks(read_pack(args.folder))
        if stale is not None:
            raise ChecksFailedError(stale)
        print(f"{args.folder}: shapes/findings.ttl is up to date")
        return 0
    print(f"wrote {write_blocks(args.folder)}")
    return 0
