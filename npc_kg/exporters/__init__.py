"""Exporters that register extra ``npc-kg export --format`` values with :func:`npc_kg.exporting.register_exporter`.

Importing this package registers ``owl`` (RDF/XML written by owlready2, for Protégé),
``ofn`` and ``owx`` (OWL functional syntax and OWL/XML written by the OWL API, which needs Java
and the Debian package libowlapi-java when run), ``sssom`` (the SSSOM mapping set) and ``kgx``
(KGX TSV nodes and edges with Biolink categories and predicates).
"""

from __future__ import annotations

from npc_kg.exporters import kgx, owl, owlapi, sssom

__all__ = ["kgx", "owl", "owlapi", "sssom"]
