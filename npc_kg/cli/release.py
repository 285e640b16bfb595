"""``npc-kg release``: ODK-style base, full (HermiT-classified) and simple artefacts with a release note."""

from __future__ import annotations

import argparse
import sys

from npc_kg.kg.release import release

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register the sub-command."""
    parser = subparsers.add_parser(
        "release",
        help="write ODK-style release artefacts (base, full, simple) and a release note",
        description="Write npc-kg-base, npc-kg-full (with imports, classified by HermiT) and npc-kg-simple in "
        "Turtle, OWL RDF/XML and OWL functional syntax (Java and libowlapi-java), each with its version IRI, plus "
        "release-notes.md and release.json, into DIR (new or empty). With --previous, the note lists what "
        "changed since that release. Exit 5 if the ontology is inconsistent.",
    )
    parser.add_argument("-o", "--output", required=True, metavar="DIR", help="new or empty output folder")
    parser.add_argument("--previous", metavar="DIR", help="folder of the previous release, to list the changes")
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    path = release(args.output, previous=args.previous)
    print(f"wrote {path}", file=sys.stderr)
    return 0
