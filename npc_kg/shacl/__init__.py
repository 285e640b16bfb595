"""SHACL for patient data: the shapes, one plan of them, and the evaluators built from it.

- :mod:`npc_kg.shacl.shapes`: the shapes graph and the class hierarchy every evaluator uses;
- :mod:`npc_kg.shacl.plan`: the one reader of the shapes graph, which builds the plan;
- :mod:`npc_kg.shacl.values`: value tests as pySHACL judges them (shared by the compiled evaluators);
- :mod:`npc_kg.shacl.closures`: the plan compiled to Python closures (the default);
- :mod:`npc_kg.shacl.sparql_queries`: the plan compiled to SPARQL queries;
- :mod:`npc_kg.shacl.sparql`: those queries run on a pyoxigraph store or a remote endpoint;
- :mod:`npc_kg.shacl.reference`: pySHACL, the reference, its results mapped onto the plan;
- :mod:`npc_kg.shacl.engines`: the evaluators of one configuration, and the chain between them.
"""
