"""Services of the knowledge graph: load it, summarise it, query it, cross-reference it, reason over it, check it."""
