"""SHACL for patient data: the shapes, one plan of them, and the evaluators built from it.

- :mod:`npc_kg.shacl.shapes`: the shapes graph and the class hierarchy every evaluator uses;
- :mod:`npc_kg.shacl.plan`: one reader of the shapes graph, which builds the plan;
- :mod:`npc_kg.shacl.reference`: pySHACL, the reference;
- :mod:`npc_kg.shacl.closures`: the plan compiled to Python closures (the default);
- :mod:`npc_kg.shacl.sparql`: the plan compiled to SPARQL (pyoxigraph or a remote endpoint).
"""
