"""``npc-kg serve``: an ASGI service (Starlette on uvicorn) for clinical systems and people.

- CDS Hooks 2.0 (:mod:`npc_kg.service.cds`): discovery at ``GET /cds-services`` and the
  ``patient-view`` service at ``POST /cds-services/{id}``, which reads only the prefetch;
- a read-only SPARQL 1.1 Protocol endpoint over the knowledge graph at ``/sparql``
  (:mod:`npc_kg.service.sparql_endpoint`);
- a plain HTML form at ``/`` that turns an uploaded or pasted patient into the HTML report.

Reports live in memory only and expire; nothing is written to disk; logs hold no request body,
query string or patient value. See ``docs/service.md``.
"""

from __future__ import annotations

__all__ = ["ServiceConfig", "check_base_url", "create_app", "serve"]

from npc_kg.service.app import ServiceConfig, check_base_url, create_app, serve
