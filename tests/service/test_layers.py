"""The service's import graph: layers only import downwards, and nothing imports in a cycle.

settings, schemas  <  core  <  api  <  app  <  commands ; attrition.scorer never imports the service,
and core never imports FastAPI or Starlette (it must stay usable without a web framework).
"""

from __future__ import annotations

import ast
from pathlib import Path

import attrition

SOURCE = Path(attrition.__file__).parent
LAYERS = ["settings", "schemas", "core", "api", "app", "commands"]


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SOURCE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports() -> dict[str, set[str]]:
    """Every attrition module and the modules it imports (at any depth in the file)."""
    graph: dict[str, set[str]] = {}
    for path in SOURCE.rglob("*.py"):
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module:
                found.add(node.module)
                found.update(f"{node.module}.{alias.name}" for alias in node.names)
        graph[_module_name(path)] = found
    return graph


def _layer(module: str) -> int | None:
    parts = module.split(".")
    if parts[:2] != ["attrition", "service"] or len(parts) < 3:
        return None
    return LAYERS.index(parts[2]) if parts[2] in LAYERS else None


def test_service_layers_only_import_downwards() -> None:
    upward = []
    for module, imported in _imports().items():
        mine = _layer(module)
        for target in imported:
            theirs = _layer(target)
            if mine is not None and theirs is not None and theirs > mine:
                upward.append(f"{module} -> {target}")
    assert upward == []


def test_core_and_scorer_need_no_web_framework_and_scorer_no_service() -> None:
    graph = _imports()
    offenders = [
        f"{module} -> {target}"
        for module, imported in graph.items()
        if module.startswith("attrition.service.core") or module == "attrition.scorer"
        for target in imported
        if target.split(".")[0] in ("fastapi", "starlette", "uvicorn")
        or (module == "attrition.scorer" and target.startswith("attrition.service"))
    ]
    assert offenders == []


def test_no_import_cycles() -> None:
    graph = _imports()
    edges = {m: {t for t in targets if t in graph and t != m} for m, targets in graph.items()}
    # Tarjan's strongly connected components: any group larger than one module is a cycle.
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in edges[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                cycles.append(sorted(group))

    for node in edges:
        if node not in index:
            visit(node)
    assert cycles == []
