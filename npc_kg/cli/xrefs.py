"""``npc-kg xrefs``: the external mappings of an npc-kg term, or the npc-kg terms an external ID maps to."""

from __future__ import annotations

import argparse
import csv
import json
import sys

from npc_kg.kg.xrefs import Xref, bridges, xrefs

__all__ = ["register"]

_COLUMNS = ("subject", "subject_label", "predicate", "object", "object_label", "confidence", "direction", "via", "source")


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register the sub-command."""
    parser = subparsers.add_parser(
        "xrefs",
        help="show the crosswalk of a term: its SKOS mappings, both directions, via npc-kg terms and the MONDO import",
        description="Look up CURIE_OR_IRI: for an npc-kg term (npc:...) print its "
        "mappings to external vocabularies; for an external identifier (PREFIX:ID, any prefix spelling "
        "bioregistry lists, e.g. mondo:0015459) print the npc-kg terms mapped to it (inverse SKOS "
        "predicate), their other mappings marked 'via' that term, and the cross-references the MONDO "
        "import gives the identifier, each with its source. Exit 0 also when there is no "
        "mapping (a note goes to stderr); exit 2 for an unknown prefix (with a suggestion).",
    )
    parser.add_argument("term", metavar="CURIE_OR_IRI", help="a CURIE (PREFIX:ID) or a full IRI; examples in docs/linking.md")
    parser.add_argument("--format", "-f", choices=("table", "json", "tsv"), default="table", help="output format")
    parser.set_defaults(func=_run)


def _table(rows: list[Xref]) -> str:
    cells = [[str(row.as_dict()[column] if row.as_dict()[column] is not None else "") for column in _COLUMNS] for row in rows]
    widths = [max(len(column), *(len(line[i]) for line in cells)) for i, column in enumerate(_COLUMNS)]
    lines = ["  ".join(column.ljust(widths[i]) for i, column in enumerate(_COLUMNS)).rstrip()]
    lines += ["  ".join(value.ljust(widths[i]) for i, value in enumerate(line)).rstrip() for line in cells]
    return "\n".join(lines) + "\n"


def _run(args: argparse.Namespace) -> int:
    rows = xrefs(args.term)
    if not rows:
        print(f"npc-kg: no mapping involves {args.term}", file=sys.stderr)
    for subject, predicate, obj in bridges(args.term):
        print(f"npc-kg: note: {subject} {predicate} {obj} is a logical bridge in the ontology, not a mapping", file=sys.stderr)
    if args.format == "json":
        json.dump([row.as_dict() for row in rows], sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
    elif args.format == "tsv":
        writer = csv.writer(sys.stdout, delimiter="\t", lineterminator="\n")
        writer.writerow([*_COLUMNS, "justification", "comment"])
        for row in rows:
            data = row.as_dict()
            writer.writerow(["" if data[key] is None else data[key] for key in (*_COLUMNS, "justification", "comment")])
    elif rows:
        sys.stdout.write(_table(rows))
    return 0
