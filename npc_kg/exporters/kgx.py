"""KGX export (placeholder until the Biolink profile lands)."""

from __future__ import annotations

__all__: list[str] = []
