"""``npc-kg assess FILE...``: three-valued eligibility of patients (RDF or FHIR R4 JSON) for a treatment."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from npc_kg.assessment.assess import ENGINES
from npc_kg.assessment.render import FORMATS
from npc_kg.cli.numbers import non_negative, seconds
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
        "A file that cannot be assessed is reported on stderr and the others are still assessed. "
        "Exit 0 when every file was assessed, whatever the verdicts; otherwise the highest code of the "
        "failed files: 2 unreadable input or a limit reached; 3 the data breaks the patient model (errors listed).",
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
    parser.add_argument("--max-findings", type=non_negative, metavar="N",
                        help="refuse a patient with more than N finding records (default 2000; NPC_KG_MAX_FINDINGS)")
    parser.add_argument("--max-input-size", type=non_negative, metavar="BYTES",
                        help="refuse an input file larger than BYTES (default 256 MiB; NPC_KG_MAX_INPUT_BYTES)")
    parser.add_argument("--timeout", type=seconds, metavar="SECONDS",
                        help="stop a query after SECONDS (default 60; 0: no limit; NPC_KG_QUERY_TIMEOUT)")
    parser.add_argument("--at", metavar="ISO8601",
                        help="time of assessment recorded in the provenance; FHIR ages are counted to its date "
                        "(default: SOURCE_DATE_EPOCH, else now)")
    parser.add_argument("--mapping", action="append", default=[], metavar="FILE.yaml",
                        help="a site's FHIR mapping (repeatable): extends or overrides mappings/fhir-mcode.yaml and "
                        "its code table (docs/fhir.md, 'Site mappings')")
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from npc_kg.assessment.output import report
    from npc_kg.atomic import atomic_write_text, check_output_path, is_stdout
    from npc_kg.cli import print_error
    from npc_kg.errors import NpcKgError
    from npc_kg.limits import configure

    configure(max_findings=args.max_findings, max_input_bytes=args.max_input_size, query_timeout=args.timeout)
    files = [Path(name) for name in args.files]
    if not is_stdout(args.out):
        check_output_path(args.out)  # before the work: a device or a link is refused at once
    failures: list[tuple[str, NpcKgError]] = []
    text = report(files, args.format, args.treatment, engine=args.engine, at=args.at, mapping=args.mapping or None,
                  packs=args.packs or None, failures=failures)
    codes = [print_error(error) for _where, error in failures]
    if len(failures) < len(files):
        atomic_write_text(args.out, text, inputs=[*files, *map(Path, args.mapping)])
    if failures and len(files) > 1:
        print(f"npc-kg: {len(failures)} of {len(files)} file(s) could not be assessed", file=sys.stderr)
    return max(codes, default=0)
