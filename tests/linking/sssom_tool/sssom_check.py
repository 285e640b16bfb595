"""sssom-py's checks of SSSOM/TSV files, run with the Python of the tools environment (``.venv/tools``).

sssom-py pulls linkml, which pins antlr4-python3-runtime<4.10; npc-kg's fhir extra (fhirpathpy)
needs >=4.10. So sssom-py lives in the tools virtual environment beside kgx, and the tests of
npc-kg run this script there (``tests/tools_venv.py``) and read its JSON answer:

- ``validate FILE...``: per file, ``{"rows": <rows sssom-py kept>, "problems": [...]}``, the
  problems being sssom-py's JSON-schema, prefix-map-completeness and strict-CURIE checks, or the
  reason it cannot parse the file;
- ``fhir FILE``: sssom-py's FHIR ConceptMap of the file (``sssom.writers.to_fhir_json``).

Nothing here reaches the network: every socket connection is refused.
"""

from __future__ import annotations

import json
import socket
import sys
import warnings


def _refuse(*_args: object, **_kwargs: object) -> None:
    raise OSError("sssom_check: network access refused")


socket.socket.connect = _refuse  # type: ignore[method-assign,assignment]
socket.create_connection = _refuse  # type: ignore[assignment]
warnings.simplefilter("ignore")

from sssom.constants import SchemaValidationType  # noqa: E402
from sssom.parsers import parse_sssom_table  # noqa: E402
from sssom.validators import validate  # noqa: E402
from sssom.writers import to_fhir_json  # noqa: E402

CHECKS = [SchemaValidationType.JsonSchema, SchemaValidationType.PrefixMapCompleteness, SchemaValidationType.StrictCurieFormat]


def _validate(path: str) -> dict[str, object]:
    try:
        msdf = parse_sssom_table(path)
    except Exception as error:  # sssom-py raises many kinds: report them all as a problem
        return {"rows": None, "problems": [f"sssom-py cannot parse it: {error}"]}
    problems = [f"{kind.value}: {result}" for kind, report in validate(msdf, CHECKS, fail_on_error=False).items()
                for result in report.results]
    return {"rows": len(msdf.df), "problems": problems}


def main(argv: list[str]) -> int:
    if len(argv) < 2 or argv[0] not in ("validate", "fhir"):
        print(__doc__, file=sys.stderr)
        return 2
    if argv[0] == "validate":
        print(json.dumps({path: _validate(path) for path in argv[1:]}))
    else:
        print(json.dumps(to_fhir_json(parse_sssom_table(argv[1])), default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
