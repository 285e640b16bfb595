"""``npc-kg assess FILE...``: three-valued eligibility of patients (RDF or FHIR R4 JSON) for a treatment."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from npc_kg.assessment.assess import ENGINES
from npc_kg.assessment.render import FORMATS
from npc_kg.cli.packs_option import add_pack_option, add_treatment_option

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register the sub-command."""
    parser = subparsers.add_parser(
        "assess",
        help="assess patients (RDF or FHIR R4 JSON files) for a treatment: verdict, criteria, missing data, evidence",
        description="Assess each npc:Patient in the given RDF files (Turtle, JSON-LD, N-Triples, ...) and each FHIR "
        "R4 patient (a Bundle or one resource in a .json file; detected from its content, docs/fhir.md). "
        "A FHIR patient with no recorded disease of the treatment is out of scope (said plainly; not an error). "
        "Exit 0 when the assessment ran, whatever the verdicts; 2 for unreadable input; "
        "3 when the data breaks the patient model (errors listed).",
    )
    parser.add_argument("files", nargs="+", metavar="FILE",
                        help="patient file(s): RDF (format from the extension) or FHIR R4 JSON (.json)")
    parser.add_argument("--format", choices=FORMATS, default="text",
                        help="output format (default: text; html: one self-contained report, see docs/report.md)")
    parser.add_argument("-o", "--out", default="-", metavar="FILE",
                        help="write to FILE, atomically (default '-': standard output); never an input file")
    add_treatment_option(parser, "default: every treatment whose criteria the loaded packs' shapes implement, "
                                 "one assessment per patient and treatment")
    add_pack_option(parser)
    parser.add_argument(
        "--engine", choices=ENGINES, default="local",
        help="local: shapes compiled to Python (default, same rows); reference: pySHACL for every file",
    )
    parser.add_argument("--at", metavar="ISO8601",
                        help="time of assessment recorded in the provenance; FHIR ages are counted to its date "
                        "(default: SOURCE_DATE_EPOCH, else now)")
    parser.add_argument("--mapping", action="append", default=[], metavar="FILE.yaml",
                        help="a site's FHIR mapping (repeatable): extends or overrides mappings/fhir-mcode.yaml and "
                        "its code table (docs/fhir.md, 'Site mappings')")
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from npc_kg.assessment.output import report

    files = [Path(name) for name in args.files]
    text = report(files, args.format, args.treatment, engine=args.engine, at=args.at, mapping=args.mapping or None,
                  packs=args.packs or None)
    if args.out == "-":
        sys.stdout.write(text)
    else:
        from npc_kg.atomic import atomic_write_text

        atomic_write_text(args.out, text, inputs=[*files, *map(Path, args.mapping)])
    return 0
