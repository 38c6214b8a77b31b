"""Shared fixtures: a real package built by running the stages, temp copies of the repository, and one
PostgreSQL server for the session."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.postgres import PostgresServer, temporary_postgres

REPO_ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent


def stage_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """Environment in which `python` and `dvc` resolve to this interpreter's venv, as under make."""
    env = {**os.environ, **(extra or {})}
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    env.pop("DVC_EXP_BASELINE_REV", None)
    return env


def run(
    args: list[str], cwd: Path, *, check: bool = True, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    completed = subprocess.run(
        args, cwd=cwd, env=stage_env(env), capture_output=True, text=True, timeout=240, check=False
    )
    if check and completed.returncode != 0:
        raise AssertionError(
            f"{' '.join(args)} exited {completed.returncode}\n{completed.stdout}\n{completed.stderr}"
        )
    return completed


def run_stages(workdir: Path, version: int = 3) -> Path:
    """Run the stage modules as dvc.yaml wires them, without DVC (fast, for unit-level fixtures)."""
    shutil.copy(REPO_ROOT / "params.yaml", workdir / "params.yaml")
    data = f"data/employee_attrition_v{version}.csv"
    py = [sys.executable, "-m"]
    run([*py, "attrition.pipeline.generate", "--params", "params.yaml", "--out", data], workdir)
    common = ["--params", "params.yaml", "--data", data, "--model", "models/model.joblib"]
    run([*py, "attrition.pipeline.train", *common, "--record", "models/train.json"], workdir)
    run(
        [*py, "attrition.pipeline.evaluate", *common, "--record", "models/train.json", "--live", "metrics"],
        workdir,
    )
    evalset = f"data/evalset_v{version}.csv"
    run(
        [*py, "attrition.pipeline.evalset", "--params", "params.yaml", "--data", data, "--out", evalset],
        workdir,
    )
    package_outputs = [
        "--metrics",
        "metrics/metrics.json",
        "--evalset",
        evalset,
        "--out",
        "models/attrition-model",
    ]
    run(
        [*py, "attrition.pipeline.package", *common, "--record", "models/train.json", *package_outputs],
        workdir,
    )
    return workdir


@pytest.fixture(scope="session")
def pipeline_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory holding the outputs of all four stages for dataset version 3 (800 rows)."""
    return run_stages(tmp_path_factory.mktemp("pipeline"))


@pytest.fixture(scope="session")
def model_package(pipeline_dir: Path) -> Path:
    """A real, verified model package. Tests that alter it must copy it first."""
    return pipeline_dir / "models" / "attrition-model"


@pytest.fixture(scope="session")
def dataset_csv(pipeline_dir: Path) -> Path:
    return pipeline_dir / "data" / "employee_attrition_v3.csv"


@pytest.fixture
def package_copy(model_package: Path, tmp_path: Path) -> Path:
    """A private copy of the package that a test may tamper with."""
    return Path(shutil.copytree(model_package, tmp_path / "attrition-model"))


def copy_repo(destination: Path) -> Path:
    """A git repository holding the committed-or-staged files of this one (no DVC outputs)."""
    files = (
        subprocess.run(["git", "ls-files", "-z", "--cached"], cwd=REPO_ROOT, capture_output=True, check=True)
        .stdout.decode()
        .split("\0")
    )
    for name in filter(None, files):
        source = REPO_ROOT / name
        if source.is_file():
            target = destination / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    for args in (
        ["git", "init", "-q", "-b", "main"],
        ["git", "-c", "user.name=test", "-c", "user.email=test@localhost", "add", "-A"],
        ["git", "-c", "user.name=test", "-c", "user.email=test@localhost", "commit", "-qm", "copy"],
    ):
        run(args, destination)
    # Each copy gets its own local remote so tests never share state with the developer's.
    run(["dvc", "remote", "add", "--local", "-f", "local", str(destination.parent / "remote")], destination)
    return destination


@pytest.fixture
def repo_copy(tmp_path: Path) -> Iterator[Path]:
    yield copy_repo(tmp_path / "repo")


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """One real PostgreSQL 16 (pgserver's binaries) for the session, on a Unix socket only (about 2 s)."""
    with temporary_postgres() as server:
        yield server
