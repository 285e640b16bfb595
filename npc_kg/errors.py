"""Exception classes of npc-kg, each with the CLI exit code it maps to.

Exit codes (also in the README):

- 0: the command ran (an assessment ran, whatever its verdicts; a query returned rows);
- 1: an internal or unexpected error, or a program npc-kg runs (Java, the OWL API) is missing or failed;
- 2: unreadable input (file missing, syntax error), bad arguments, or a refused operation;
- 3: readable input that breaks the patient model (data errors are listed);
- 4: a remote SPARQL endpoint failed (unreachable, timed out, rejected the request);
- 5: the ontology is inconsistent or has unsatisfiable classes;
- 6: a check ran and found errors (``npc-kg qc``, ``npc-kg pack check``);
- 130 / 143: interrupted by SIGINT (Ctrl-C) / SIGTERM; partial outputs are removed.

Several input files (``npc-kg assess a.ttl b.ttl``): each file is reported, and the exit code is
the highest code of any file.
"""

from __future__ import annotations

__all__ = [
    "ChecksFailedError",
    "EndpointError",
    "ExternalToolError",
    "InconsistentOntologyError",
    "InputError",
    "LimitError",
    "NpcKgError",
    "OutputError",
    "PackError",
    "PatientModelError",
    "QueryError",
    "QueryTimeoutError",
    "UnsafeQueryError",
    "WorkerError",
]


class NpcKgError(Exception):
    """Base class of every error npc-kg raises on purpose."""

    exit_code = 1


class ExternalToolError(NpcKgError):
    """A program npc-kg runs (Java with the OWL API) is missing or failed; the message says what to install."""


class InputError(NpcKgError):
    """An input cannot be read or parsed. The message names the file and, if known, the line."""

    exit_code = 2

    def __init__(self, message: str, *, path: str | None = None, line: int | None = None,
                 column: int | None = None) -> None:
        where = ""
        if path is not None:
            where = f"{path}: "
            if line is not None:
                where = f"{path}:{line}:{column}: " if column is not None else f"{path}:{line}: "
        super().__init__(where + message)
        self.path = path
        self.line = line
        self.column = column
        self.message = message


class LimitError(InputError):
    """An input is over a configured limit (size, findings per patient, nesting); the message names
    the limit, its value and the flag or environment variable that raises it."""


class OutputError(NpcKgError):
    """An output cannot be written, e.g. because it would overwrite an input."""

    exit_code = 2


class PackError(NpcKgError):
    """A criteria pack cannot be used: no manifest, a malformed one, a clash with another pack, or
    ``npc-kg pack check`` found errors (listed in ``errors``, each naming file, line and field)."""

    exit_code = 2

    def __init__(self, message: str, errors: list[str] | None = None) -> None:
        super().__init__(message)
        self.errors = list(errors or [])


class QueryError(NpcKgError):
    """A SPARQL query is malformed, unknown, or given parameters it does not declare."""

    exit_code = 2


class WorkerError(NpcKgError):
    """A worker process of a cohort run ended before its batch was done (exit code 2, as for a limit
    reached): its own reason is on stderr, e.g. a query past ``--timeout``."""

    exit_code = 2


class QueryTimeoutError(QueryError):
    """A local query (rdflib, pyoxigraph) ran past its timeout and was stopped (exit code 2, as for
    any other limit; a remote endpoint's timeout is an :class:`EndpointError`, exit code 4)."""


class UnsafeQueryError(QueryError):
    """A query would reach the network (SERVICE, LOAD, remote FROM) or update the store."""


class PatientModelError(NpcKgError):
    """Readable patient data that breaks the patient model (``shapes/patient.ttl``)."""

    exit_code = 3

    def __init__(self, message: str, errors: list[str] | None = None) -> None:
        super().__init__(message)
        self.errors = list(errors or [])


class EndpointError(NpcKgError):
    """A remote SPARQL endpoint is unreachable, timed out, or rejected a request."""

    exit_code = 4


class InconsistentOntologyError(NpcKgError):
    """The reasoner found the ontology inconsistent or found unsatisfiable classes."""

    exit_code = 5


class ChecksFailedError(NpcKgError):
    """A check ran to the end and found errors (``npc-kg qc``, ``npc-kg pack check``): exit code 6.

    Exit code 1 stays reserved for internal errors, so a script can tell "the data has problems"
    from "npc-kg broke".
    """

    exit_code = 6
