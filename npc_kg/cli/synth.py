"""`npc-kg synth`: write a synthetic cohort (no patient is real)."""

from __future__ import annotations

import argparse

from npc_kg.cli.packs_option import add_pack_option, add_treatment_option

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register the sub-command."""
    parser = subparsers.add_parser(
        "synth",
        help="write a synthetic cohort (N-Triples, Turtle, CSV or a FHIR Bulk Data export); deterministic for a seed",
        description="Synthetic patients for tests and benchmarks: the findings the treatment's criteria concern, "
        "drawn with the made-up rates of mappings/synth.yaml (docs/cohort.md).",
    )
    parser.add_argument("--n", type=int, required=True, help="number of patients")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    parser.add_argument("-o", "--out", required=True,
                        help="output file (written atomically); for fhir-ndjson a new or empty folder")
    parser.add_argument("--format", dest="fmt", choices=("nt", "ttl", "csv", "fhir-ndjson"),
                        help="default: from the file name; fhir-ndjson: one NDJSON file per resource type (read it "
                        "back with --mapping tests/data/fhir/synth-mapping.yaml --at 2026-01-01, docs/fhir.md)")
    parser.add_argument("--error-rate", type=float, default=0.0, help="share of patients with an injected defect (0-1)")
    parser.add_argument("--no-syntax-errors", action="store_true", help="inject only readable defects (no broken lines or cells)")
    add_treatment_option(parser, "default: the findings of every treatment the loaded packs state criteria of")
    add_pack_option(parser)
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from npc_kg.cohort.synth import synth

    count = synth(args.n, args.seed, args.out, fmt=args.fmt, error_rate=args.error_rate, syntax_errors=not args.no_syntax_errors,
                  treatment=args.treatment, packs=args.packs or None)
    print(f"wrote {count} synthetic patients to {args.out}")
    return 0
