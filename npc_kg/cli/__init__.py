"""The ``npc-kg`` command line. Each sub-command lives in its own module and calls one API function.

Exit codes are those of :mod:`npc_kg.errors`: 0 ran, 1 internal error or missing external tool, 2 unreadable input,
bad arguments or a limit reached, 3 patient data breaks the patient model, 4 endpoint failure, 5 inconsistent
ontology, 6 a check (qc, pack check) found errors, 130/143 interrupted. Errors print one line (or a short
list) to stderr, never a traceback; set ``NPC_KG_DEBUG=1`` to see the traceback of an unexpected error.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import re
import sys
from collections.abc import Sequence

from npc_kg import __version__
from npc_kg.atomic import Terminated, signal_cleanup
from npc_kg.errors import NpcKgError, OutputError, PatientModelError
from npc_kg.limits import scoped
from npc_kg.notices import printed_notices
from npc_kg.suggest import did_you_mean

__all__ = ["COMMAND_MODULES", "build_parser", "main", "print_error"]

COMMAND_MODULES = (
    "info",
    "export",
    "assess",
    "query",
    "load",
    "xrefs",
    "reason",
    "import_mondo",
    "qc",
    "release",
    "docs",
    "assess_cohort",
    "synth",
    "serve",
    "pack",
)
"""Modules under ``npc_kg.cli`` that each define ``register(subparsers)``."""


_INVALID_CHOICE = re.compile(r"invalid choice: '(?P<word>[^']*)' \(choose from (?P<choices>.*)\)")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        match = _INVALID_CHOICE.search(message)
        if match:  # argparse lists the choices; say which one was probably meant
            choices = [item.strip().strip("'") for item in match.group("choices").split(",")]
            hint = did_you_mean(match.group("word"), choices)
            if hint:
                message = f"{message}; {hint}"
        self.print_usage(sys.stderr)
        self.exit(2, f"npc-kg: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser with every sub-command registered."""
    parser = _Parser(
        prog="npc-kg",
        description="Computable knowledge about recurrent nasopharyngeal carcinoma and its treatment.",
        epilog="Exit codes: 0 ran; 1 internal error or missing external tool; 2 unreadable input, bad arguments "
        "or a limit reached; 3 patient data breaks the patient model; 4 SPARQL endpoint failure; 5 inconsistent "
        "ontology; 6 a check (qc, pack check) found errors; 130/143 interrupted (SIGINT/SIGTERM).",
    )
    parser.add_argument("--version", action="version", version=f"npc-kg {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    subparsers.required = True
    for name in COMMAND_MODULES:
        module = importlib.import_module(f"npc_kg.cli.{name}")
        module.register(subparsers)
    return parser


def print_error(error: NpcKgError) -> int:
    """Print ``error`` as the CLI does (one line; a patient-model error's list below it); return its exit code."""
    if isinstance(error, PatientModelError):
        print(f"npc-kg: {error}", file=sys.stderr)
        for item in error.errors:
            print(f"  - {item}", file=sys.stderr)
    else:
        print(f"npc-kg: error: {error}", file=sys.stderr)
        for item in getattr(error, "errors", None) or []:  # e.g. the IRIs two packs both define
            print(f"  - {item}", file=sys.stderr)
    return error.exit_code


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI and return its exit code. While it runs, SIGTERM removes partial outputs and
    ends it with exit code 143, and notes (:mod:`npc_kg.notices`) are printed as ``npc-kg: ...``
    lines on stderr; the caller's SIGTERM handler, warning filters and limits (:mod:`npc_kg.limits`,
    which the flags set) are back when it returns."""
    with signal_cleanup(), printed_notices(), scoped():
        return _main(argv)


def _main(argv: Sequence[str] | None) -> int:
    removed = ""  # once a command runs, a stop removes its partial outputs (npc_kg.atomic)
    try:
        parser = build_parser()  # imports the commands: Ctrl-C may come here too
        args = parser.parse_args(argv)
        from npc_kg.sparql.bounded import arm_watchdog

        removed = "; partial outputs were removed"
        with arm_watchdog():  # the package's own queries end the run past --timeout (docs/reliability.md)
            code = args.func(args)
        return int(code or 0)
    except NpcKgError as error:
        return print_error(error)
    except KeyboardInterrupt:
        print(f"npc-kg: interrupted{removed}", file=sys.stderr)
        return 130
    except Terminated:
        print(f"npc-kg: terminated{removed}", file=sys.stderr)
        return 143
    except BrokenPipeError:
        with contextlib.suppress(OSError):  # the reader went away: nothing more to say, and no traceback at exit
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as error:  # the disk or standard output failed (full, gone): say so, as for any output error
        if os.environ.get("NPC_KG_DEBUG"):
            raise
        with contextlib.suppress(OSError):  # unwritten output left in stdout's buffer would fail again at exit
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        where = f"{error.filename}: " if error.filename else "an input or output (standard output?): "
        print(f"npc-kg: error: {where}{error.strerror or type(error).__name__}{removed}", file=sys.stderr)
        return OutputError.exit_code
    except Exception as error:  # last resort: one line, no traceback, unless debugging
        if os.environ.get("NPC_KG_DEBUG"):
            raise
        print(f"npc-kg: internal error: {type(error).__name__} (set NPC_KG_DEBUG=1 for the traceback; "
              "please report it)", file=sys.stderr)
        return 1


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())
