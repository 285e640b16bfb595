"""Run compiled queries on a remote SPARQL endpoint (SPARQL 1.1 protocol, HTTP POST, urllib).

Only the compiled queries (which name no patient) are sent; results come back as SPARQL JSON.
The endpoint must already hold the patient data; it needs no ontology, because the class
hierarchy is inlined in the queries.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable

from npc_kg.errors import EndpointError
from npc_kg.shacl.sparql import QueryRunner

__all__ = ["endpoint_runner"]


def endpoint_runner(url: str, *, timeout: float = 60.0) -> QueryRunner:
    """A query runner that POSTs each query to ``url`` and parses the SPARQL JSON results."""
    if not url.startswith(("http://", "https://")):
        raise EndpointError(f"{url}: not an http(s) SPARQL endpoint URL")

    def run(query: str) -> Iterable[dict[str, str]]:
        body = urllib.parse.urlencode({"query": query}).encode()
        request = urllib.request.Request(url, data=body, method="POST", headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Accept": "application/sparql-results+json",
        })
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:  # http(s) only, checked above
                document = json.load(response)
        except urllib.error.HTTPError as error:
            raise EndpointError(f"{url}: HTTP {error.code} {error.reason}") from None
        except (urllib.error.URLError, TimeoutError, OSError) as error:
            reason = getattr(error, "reason", error)
            raise EndpointError(f"{url}: unreachable or timed out ({reason})") from None
        except json.JSONDecodeError:
            raise EndpointError(f"{url}: the reply is not SPARQL JSON results") from None
        rows = []
        for binding in document.get("results", {}).get("bindings", []):
            row = {}
            for name, term in binding.items():
                value = term.get("value", "")
                row[name] = f"_:{value}" if term.get("type") == "bnode" else value
            rows.append(row)
        return rows

    return run
