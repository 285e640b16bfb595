"""The core rules of eligibility, shared by every evaluator and every surface (:mod:`npc_kg.core.rules`)."""
