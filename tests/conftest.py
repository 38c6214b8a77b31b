"""Shared fixtures: a real package built by running the stages, a repository template built by DVC once
per test run and cloned into tests' temp dirs, one PostgreSQL server per session, and the test tiers.

Tiers (markers registered in pyproject.toml): a module sets `dvc`, `e2e`, `system` or `security` with
`pytestmark`, a test that uses the session PostgreSQL gets `postgres` here, and every other test is `unit`
(`make unit`). Under pytest-xdist (`make test`: a module's tests on one worker) the work built once per
run (the stage outputs, the repository template and its DVC cache) lives in the directory all workers
share, built by the first worker that needs it under a file lock; the PostgreSQL server is per worker.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import threading
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path

import fasteners
import pytest

from tests.support.one_process import run_in_one_process, stage_commands
from tests.support.postgres import PostgresServer, temporary_postgres

REPO_ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent

TIERS = ("dvc", "postgres", "e2e", "system", "security")  # and `unit`: a test in none of these
POSTGRES_FIXTURES = {"postgres", "pg_url", "empty_pg_url"}
# Heaviest first, so that under xdist the long modules start early instead of ending the run alone.
_TIER_ORDER = {"e2e": 0, "system": 1, "dvc": 2, "security": 3, "postgres": 4, "unit": 5}
# Module-scoped fixtures that take minutes (a DVC build, a registry, a served package): their modules go
# first. `make test` uses `--dist loadscope`, so a module's tests share one worker and these fixtures are
# built once. (Not `--dist loadgroup` with xdist_group marks: pytest-xdist 3.8 renames the node id to
# group it, which pytest 9 ignores, so the groups are silently split.)
LONG_MODULE_FIXTURES = ("reproduced", "world", "loop", "service", "package", "rendered")
# What sets a process's BLAS and OpenMP thread counts (pytest_configure limits both under xdist).
THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS")


def pytest_configure(config: pytest.Config) -> None:
    """No DVC usage reports, and no more BLAS and OpenMP threads than each xdist worker's share of cores.

    Each of the suite's few hundred `dvc` commands would collect a usage report and fork a detached
    reporter (which, with no network, leaves its report file in the temp dir).

    Threads: OpenBLAS starts one per core in every process that imports NumPy, and an idle one spins
    before it sleeps, so two workers' stages, servers and gates on two cores fought over them (the whole
    suite, one run each: wall 309 s -> 288 s, user+sys 514 s -> 467 s with one thread each; three heavy
    modules alternated twice: 150.7 -> 136.1 s, then 144.6 -> 144.0 s). The share is scikit-learn's own
    conftest rule (cores // workers); it reaches the tests' subprocesses through the environment, and
    this process through threadpoolctl. It changes no output: the committed dvc.lock, built on the
    default counts, is reproduced byte for byte under it (tests/integration/test_dvc_pipeline.py), and
    the CPU-dispatch rebuilds run on the machine's own counts and on 1 and 3 OpenMP threads.
    """
    os.environ.setdefault("DVC_NO_ANALYTICS", "1")
    # a worker knows the count from xdist's variable; the controller, from `-n` (xdist resolved "auto")
    from_xdist = os.environ.get("PYTEST_XDIST_WORKER_COUNT")
    workers = int(from_xdist or getattr(config.option, "numprocesses", 0) or 1)
    if workers > 1:
        share = max((os.cpu_count() or 1) // workers, 1)
        for name in THREAD_VARIABLES:
            os.environ.setdefault(name, str(share))
        from threadpoolctl import threadpool_limits

        threadpool_limits(share)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark `postgres` (by fixture) and `unit` (none of the other tiers); run heavy modules first (by
    tier, and a module with a long module fixture first), so xdist starts the long poles early.

    Runs before `-m` selection. The order is stable and keeps each module's tests together, so a
    module-scoped fixture is still set up once.
    """
    weight: dict[str, tuple[int, int]] = {}  # per module: its heaviest tier, then 0 if a fixture is long
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        if POSTGRES_FIXTURES & fixtures:
            item.add_marker(pytest.mark.postgres)
        if not any(item.get_closest_marker(tier) for tier in TIERS):
            item.add_marker(pytest.mark.unit)
        tier = min(_TIER_ORDER[name] for name in _TIER_ORDER if item.get_closest_marker(name))
        long = 0 if fixtures & set(LONG_MODULE_FIXTURES) else 1
        module = item.nodeid.split("::", 1)[0]
        weight[module] = min(weight.get(module, (tier, long)), (tier, long))
    items.sort(key=lambda item: weight[item.nodeid.split("::", 1)[0]])


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


def run_stages(workdir: Path) -> Path:
    """Run every stage as dvc.yaml's commands say, without DVC, in one process (for unit-level fixtures).

    tests/support/one_process.py says why one process gives the bytes a process per stage gives.
    """
    shutil.copy(REPO_ROOT / "params.yaml", workdir / "params.yaml")
    commands = stage_commands(REPO_ROOT / "dvc.yaml", workdir / "params.yaml")
    run_in_one_process([command for command, _ in commands.values()], workdir, stage_env(), what="the stages")
    return workdir


def shared_dir(factory: pytest.TempPathFactory) -> Path:
    """The directory every xdist worker of this run shares (the session's basetemp without xdist)."""
    base = factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def built_once(factory: pytest.TempPathFactory, name: str, build: Callable[[Path], object]) -> Path:
    """`shared_dir/name`, built by `build(path)` by the first worker that asks, under a file lock.

    The others wait for it and then use it read-only. A failed build is recorded, so the other
    workers fail at once with its reason instead of building it again.
    """
    shared = shared_dir(factory)
    target, done, failed = shared / name, shared / f"{name}.done", shared / f"{name}.failed"
    with fasteners.InterProcessLock(str(shared / f"{name}.lock")):
        if failed.exists():
            pytest.fail(f"building {name} failed in another worker:\n{failed.read_text()}")
        if not done.exists():
            shutil.rmtree(target, ignore_errors=True)
            target.mkdir()
            try:
                build(target)
            except BaseException:
                failed.write_text(traceback.format_exc())
                raise
            done.touch()
    return target


def _xdist_controller(config: pytest.Config) -> bool:
    """This process hands tests to xdist workers (and runs none itself)."""
    return bool(getattr(config.option, "numprocesses", None)) and not hasattr(config, "workerinput")


_PREBUILDS: list[threading.Thread] = []


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    """Under xdist, on the whole suite (no paths given): start the shared builds at once, in the
    controller, while the workers start and run tests that need none.

    Without this, the first worker to need the stage outputs builds them (about 15 s) while the other
    waits on the lock: a quarter of `make unit`. The build runs under the same lock, so a worker that
    needs it early waits for it as before. `-m unit` needs no repository template, so only the full
    suite and the DVC-using tiers also start that one.
    """
    config = session.config
    if not _xdist_controller(config) or config.args_source != pytest.Config.ArgsSource.TESTPATHS:
        return
    factory: pytest.TempPathFactory = config._tmp_path_factory  # type: ignore[attr-defined]  # pytest's own
    builds: list[tuple[str, Callable[[Path], object]]] = [("pipeline", run_stages)]
    if config.option.markexpr.strip() != "unit":
        builds.append(("repo-template", _build_template))
    for name, build in builds:
        # built_once holds the run's file lock while it builds; a failure is recorded for the workers.
        thread = threading.Thread(target=_prebuild, args=(factory, name, build), name=f"prebuild-{name}")
        thread.start()
        _PREBUILDS.append(thread)


def _prebuild(factory: pytest.TempPathFactory, name: str, build: Callable[[Path], object]) -> None:
    with contextlib.suppress(BaseException):  # recorded in <name>.failed; the workers report it
        built_once(factory, name, build)


def pytest_sessionfinish(session: pytest.Session) -> None:
    for thread in _PREBUILDS:
        thread.join(timeout=600)


@pytest.fixture(scope="session")
def pipeline_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory holding the outputs of every stage of dvc.yaml for params.yaml's version 3 (800 rows).

    Built once per test run and shared by every worker: tests must not change it (copy first).
    """
    return built_once(tmp_path_factory, "pipeline", run_stages)


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
    """A fresh copy of the repository (git, no DVC outputs)."""
    yield copy_repo(tmp_path / "repo")


TEMPLATE_CACHE = "dvc-cache"  # beside the template in the shared dir: the one DVC cache of the run


def _build_template(repo: Path) -> None:
    """copy_repo, then `dvc repro` from scratch into the run's shared DVC cache."""
    copy_repo(repo)
    cache = repo.parent / TEMPLATE_CACHE
    run(["dvc", "cache", "dir", "--local", str(cache)], repo)
    run(["dvc", "repro"], repo)


@pytest.fixture(scope="session")
def repo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This repository copied and built by `dvc repro` from scratch, once per test run (all workers).

    Never used directly: `clone_template` copies it into a test's own directory.
    """
    return built_once(tmp_path_factory, "repo-template", _build_template)


def clone_template(template: Path, destination: Path, *, local_remote: bool = True) -> Path:
    """A private copy of the built template: its git history, workspace, outputs and dvc.lock.

    Its `.dvc/config.local` points at the run's shared DVC cache (which holds every output), and,
    unless `local_remote` is False, at its own remote `destination/../remote` as copy_repo's does.
    """

    def skip(directory: str, names: list[str]) -> list[str]:
        return ["tmp"] if Path(directory) == template / ".dvc" else []

    shutil.copytree(template, destination, symlinks=True, ignore=skip)
    config = f"[cache]\n    dir = {template.parent / TEMPLATE_CACHE}\n"
    if local_remote:
        config += f"['remote \"local\"']\n    url = {destination.parent / 'remote'}\n"
    (destination / ".dvc" / "config.local").write_text(config, encoding="utf-8")
    return destination


@pytest.fixture
def built_repo(repo_template: Path, tmp_path: Path) -> Path:
    """A private, already built copy of the repository (see clone_template)."""
    return clone_template(repo_template, tmp_path / "repo")


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """One real PostgreSQL 16 (pgserver's binaries) for the session (each xdist worker has its own), on a
    Unix socket only (about 2 s)."""
    with temporary_postgres() as server:
        yield server
