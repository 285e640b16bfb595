"""The package's structure: no import cycles, no private imports, the rules stated once (npc_kg/core/rules.py).

- **No import cycles** among the modules of ``npc_kg``: every import statement counts, at any
  depth (also inside functions), except those under ``if TYPE_CHECKING:``; a package's
  ``__init__`` importing its own submodules is not a cycle with them. The same algorithm as
  ``../shared/tools/import_cycles.py`` (strongly connected components of the import graph).
- **No private imports**: no module imports a ``_name`` from another ``npc_kg`` module
  (``from npc_kg.x import _y``), or reads one off an imported ``npc_kg`` module (``x._y``). A
  package's own private submodules (the C extension ``npc_kg.cohort._ntscan``) may be imported
  by its modules.
- **Rules stated once**: outside ``npc_kg/core/rules.py``, a status or verdict value
  (``npc_kg.core.rules.STATUSES`` and ``ROW_VERDICTS``) written as a string is never compared
  (``==``, ``!=``, ``in``, also inside a tuple, list or set operand), returned as such, or chosen
  by a conditional expression, and no tuple, list, set or dict literal holds two or more of them (a
  restated list or table); no module writes a criterion kind's label (``indication``,
  ``contraindication``: the kinds and their order are data); and no tuple, list, set or dict
  literal holds two or more of ``SH.Violation``, ``SH.Warning``, ``SH.Info`` (a severity table).
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

from npc_kg.core.rules import ROW_VERDICTS, STATUSES

PACKAGE = Path(__file__).resolve().parents[1] / "npc_kg"
RULES = PACKAGE / "core" / "rules.py"
RULE_LITERALS = set(STATUSES) | set(ROW_VERDICTS)
KIND_LABELS = {"indication", "contraindication"}
SEVERITIES = {"Violation", "Warning", "Info"}


def _modules() -> dict[str, Path]:
    modules = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        modules[".".join(parts)] = path
    return modules


MODULES = _modules()


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for sub in node.body:
                skip |= {id(n) for n in ast.walk(sub)}
    return skip


def _imported(name: str, path: Path, tree: ast.AST) -> Iterator[tuple[ast.AST, str, str | None, str]]:
    """(node, module, imported name or None, local name) of every import of ``tree`` outside ``if TYPE_CHECKING:``."""
    skip = _type_checking_nodes(tree)
    base = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node, alias.name, None, alias.asname or alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                module = ".".join(base[: len(base) - node.level + 1] + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            for alias in node.names:
                yield node, module, alias.name, alias.asname or alias.name


def _resolve(target: str) -> str | None:
    while target and target not in MODULES:
        target = target.rpartition(".")[0]
    return target or None


def _import_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for name, path in MODULES.items():
        targets: set[str] = set()
        for _node, module, imported, _local in _imported(name, path, ast.parse(path.read_text(encoding="utf-8"))):
            for candidate in (module, f"{module}.{imported}" if imported else None):
                found = _resolve(candidate) if candidate else None
                if found and found != name and not found.startswith(name + "."):
                    targets.add(found)
        graph[name] = targets
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 10_000))
    try:
        for v in graph:
            if v not in index:
                visit(v)
    finally:
        sys.setrecursionlimit(limit)
    return found


def test_the_import_graph_has_no_cycles() -> None:
    graph = _import_graph()
    assert len(graph) > 50 and "npc_kg.core.rules" in graph["npc_kg.shacl.closures"], "the graph is read"
    assert _cycles(graph) == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def _private_imports(name: str, path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    aliases: dict[str, str] = {}  # local name -> npc_kg module it stands for
    for node, module, imported, local in _imported(name, path, tree):
        if not module.startswith("npc_kg"):
            continue
        if imported is None:
            aliases[local] = module
            continue
        if f"{module}.{imported}" in MODULES:
            aliases[local] = f"{module}.{imported}"
        own_package = name.rpartition(".")[0] if path.name != "__init__.py" else name
        if imported.startswith("_") and not imported.startswith("__") and module != own_package:
            found.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno}: from {module} import {imported}")
    for node in ast.walk(tree):
        if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in aliases
                and node.attr.startswith("_") and not node.attr.startswith("__")):
            found.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno}: {node.value.id}.{node.attr}")
    return found


def test_no_module_imports_a_private_name_of_another() -> None:
    found = [line for name, path in MODULES.items() for line in _private_imports(name, path)]
    assert found == []


def _strings(node: ast.AST) -> list[str]:
    """String constants of ``node`` and of the elements of a tuple, list or set it is."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.Tuple | ast.List | ast.Set):
        return [s for element in node.elts for s in _strings(element)]
    return []


def _restated_rules(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    where = path.relative_to(PACKAGE.parent)
    found = []
    core = path == RULES
    for node in ast.walk(tree):
        line = getattr(node, "lineno", 0)
        if isinstance(node, ast.Constant) and node.value in KIND_LABELS:
            found.append(f"{where}:{line}: the kind label {node.value!r}")
        if isinstance(node, ast.Tuple | ast.List | ast.Set | ast.Dict):
            elements = node.keys if isinstance(node, ast.Dict) else node.elts
            severities = {e.attr for e in elements if isinstance(e, ast.Attribute) and isinstance(e.value, ast.Name)
                          and e.value.id == "SH" and e.attr in SEVERITIES}
            if len(severities) > 1 and not core:
                found.append(f"{where}:{line}: a table of severities {sorted(severities)}")
            literals = {e.value for e in elements if isinstance(e, ast.Constant) and e.value in RULE_LITERALS}
            if len(literals) > 1 and not core:
                found.append(f"{where}:{line}: a list or table of statuses/verdicts {sorted(literals)}")
        if core:
            continue
        values: list[str] = []
        if isinstance(node, ast.Compare):
            values = [s for operand in (node.left, *node.comparators) for s in _strings(operand)]
        elif isinstance(node, ast.Return) and isinstance(node.value, ast.Constant):
            values = _strings(node.value)
        elif isinstance(node, ast.IfExp):
            values = [s for branch in (node.body, node.orelse) if isinstance(branch, ast.Constant) for s in _strings(branch)]
        found += [f"{where}:{line}: the status/verdict {value!r} compared, returned or chosen"
                  for value in values if value in RULE_LITERALS]
    return found


def test_statuses_verdicts_and_kind_order_are_stated_only_in_the_core() -> None:
    found = [line for path in MODULES.values() for line in _restated_rules(path)]
    assert found == []


def test_the_rule_check_catches_a_restated_rule(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "def verdict(s):\n"
        "    if 'violated' in s.values():\n"
        "        return 'ineligible'\n"
        "    return 'eligible' if s else 'indeterminate'\n"
        "KINDS = {'indication': 0}\n"
        "RANK = {SH.Violation: 2, SH.Warning: 1}\n"
        "ORDER = ('satisfied', 'unknown')\n", encoding="utf-8")
    global PACKAGE
    saved, PACKAGE = PACKAGE, tmp_path
    try:
        found = _restated_rules(sample)
    finally:
        PACKAGE = saved
    assert len(found) == 7, found
