"""Export formats: the registry (:mod:`npc_kg.exporters.registry`) and the modules that register ``owl``,
``ofn``/``owx``, ``sssom`` and ``kgx``. :func:`npc_kg.kg.export.export` writes any of them."""
