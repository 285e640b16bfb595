"""``python -m npc_kg``: the ``npc-kg`` command line."""

from npc_kg.cli import run

if __name__ == "__main__":
    run()
