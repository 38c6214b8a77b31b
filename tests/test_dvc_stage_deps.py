"""dvc.yaml's deps must cover every project module a stage's code imports, or DVC misses code changes.

A stage whose module imports `attrition.dataset` but does not list `src/attrition/dataset.py` would
not rerun when dataset.py changes, and dvc.lock would claim an output that the current code no longer
makes. Imports are read statically (including those inside functions), transitively, within the
project's package; the console-script dispatcher is excluded because it only routes argv.
"""

from __future__ import annotations

import ast
import shlex
from pathlib import Path

import pytest
import yaml

from attrition.cli import COMMANDS

REPO = Path(__file__).resolve().parents[1]
SRC = REPO / "src"
DISPATCH = {"attrition.cli", "attrition.__main__"}


def module_file(name: str) -> Path | None:
    base = SRC / Path(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def imported_modules(name: str) -> set[str]:
    """Project modules `name` imports, directly or through other project modules (and packages' __init__)."""
    seen: set[str] = set()
    pending = [name]
    while pending:
        current = pending.pop()
        if current in seen or current in DISPATCH:
            continue
        file = module_file(current)
        if file is None:
            continue
        seen.add(current)
        parts = current.split(".")
        pending += [".".join(parts[:i]) for i in range(1, len(parts))]  # parent packages run first
        for node in ast.walk(ast.parse(file.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                pending += [alias.name for alias in node.names if alias.name.startswith("attrition")]
            elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("attrition"):
                pending.append(node.module)
                pending += [f"{node.module}.{alias.name}" for alias in node.names]
    return seen


def stage_module(cmd: str) -> str:
    words = shlex.split(cmd)
    if words[:1] == ["attrition"]:
        return next(command.module for command in COMMANDS if command.name == words[1])
    if words[:2] == ["python", "-m"]:
        return words[2]
    raise AssertionError(f"stage command {cmd!r} does not run a project module")


STAGES = yaml.safe_load((REPO / "dvc.yaml").read_text(encoding="utf-8"))["stages"]


@pytest.mark.parametrize("stage", sorted(STAGES))
def test_stage_deps_cover_the_modules_its_code_imports(stage: str) -> None:
    definition = STAGES[stage]
    module = stage_module(" ".join(definition["cmd"].split()))
    needed = {module_file(name) for name in imported_modules(module)}
    listed = {REPO / dep for dep in definition.get("deps", [])}
    missing = sorted(str(p.relative_to(REPO)) for p in needed if p is not None and p not in listed)
    assert not missing, f"stage {stage}: add to its deps in dvc.yaml: {', '.join(missing)}"


def test_the_walk_follows_imports_inside_functions() -> None:
    # the scorer imports attrition.method.calibration only inside export_model_data
    assert "attrition.method.calibration" in imported_modules("attrition.modelpkg.scorer")
    assert "attrition.cli" not in imported_modules("attrition.pipeline.train")
