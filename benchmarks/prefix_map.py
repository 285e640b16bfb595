"""The one prefix map: the checked-in bioregistry extract against bioregistry itself (same run).

    python benchmarks/prefix_map.py [--repeat 3]

Each measure runs in a fresh Python process (so imports are counted) and prints one JSON line:

- ``extract``: ``npc_kg.kg.prefixes.converter()`` (curies over mappings/prefix-map.json plus npc-kg's own prefixes);
- ``bioregistry-import``: ``import bioregistry`` and one resource lookup;
- ``bioregistry-converter``: ``bioregistry.manager.get_converter()`` (the whole registry as a curies converter).

The last line gives each baseline's ratio to the extract (median of ``--repeat`` runs).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CODE = {
    "extract": "from npc_kg.kg.prefixes import converter; converter().expand('mondo:0015459')",
    "bioregistry-import": "import bioregistry; bioregistry.get_resource('mondo')",
    "bioregistry-converter": "import bioregistry; bioregistry.manager.get_converter().expand('mondo:0015459')",
}


def _run(code: str) -> float:
    timed = f"import time; t = time.perf_counter(); {code}; print(time.perf_counter() - t)"
    out = subprocess.run([sys.executable, "-c", timed], cwd=ROOT, capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    medians = {}
    for name, code in CODE.items():
        times = [_run(code) for _ in range(args.repeat)]
        medians[name] = statistics.median(times)
        print(json.dumps({"measure": name, "median_s": round(medians[name], 4), "runs": [round(t, 4) for t in times]}))
    base = medians["extract"]
    print(json.dumps({"ratio_to_extract": {name: round(value / base, 1) for name, value in medians.items()}}))


if __name__ == "__main__":
    main()
