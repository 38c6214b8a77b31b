"""The package's import contract (pyproject's [tool.importlinter], run by `make lint`) holds, catches an
upward import, and the import graph has no cycle inside a layer either (layers say nothing about that)."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SOURCE = REPO / "src" / "attrition"
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    """Run import-linter on the package under root/src with the project's configuration."""
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(REPO / "pyproject.toml"), "--no-cache"],
        cwd=root,
        env={"PYTHONPATH": str(root / "src"), "PATH": str(LINT_IMPORTS.parent)},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_contract_is_kept() -> None:
    result = lint_imports(REPO)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 5 kept, 0 broken." in result.stdout


@pytest.mark.parametrize(
    ("module", "upward"),
    [
        ("method/psi.py", "from attrition.modelpkg import artifact"),  # method above the package format
        ("modelpkg/scorer.py", "from attrition.pipeline import train"),  # the format importing a stage
        ("lifecycle/gate/rules.py", "from attrition.service import settings"),  # siblings are independent
        ("lifecycle/gate/rules.py", "from attrition.lifecycle.gate import load"),  # rules read no file
        ("lifecycle/registry/gto.py", "from attrition.lifecycle.registry import api"),  # under policy
        ("service/core/scoring.py", "import fastapi"),  # the core must run without a web framework
    ],
)
def test_a_planted_upward_import_breaks_it(tmp_path: Path, module: str, upward: str) -> None:
    shutil.copytree(SOURCE, tmp_path / "src" / "attrition")
    planted = tmp_path / "src" / "attrition" / module
    text = planted.read_text(encoding="utf-8")
    marker = "from __future__ import annotations\n"
    planted.write_text(text.replace(marker, f"{marker}\n{upward}  # noqa\n", 1), encoding="utf-8")
    result = lint_imports(tmp_path)
    assert result.returncode == 1, result.stdout
    assert "BROKEN" in result.stdout


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
