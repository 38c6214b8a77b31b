"""Builders for tests that need a real model registry: a temp copy of this repository with a bare git
origin and a local DVC remote, its first production version registered and promoted (issue 9).

Shared by the registry end-to-end test and the monitoring loop test, so both exercise the same
`attrition registry` flow a person runs: rebuild, commit, push code and outputs, propose, promote.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from tests.conftest import copy_repo, run

PY = [sys.executable, "-m"]


def set_params(repo: Path, **changes: Any) -> None:
    """Edit params.yaml keys given as section__key=value."""
    path = repo / "params.yaml"
    params = yaml.safe_load(path.read_text())
    for dotted, value in changes.items():
        *sections, key = dotted.split("__")
        target = params
        for section in sections:
            target = target[section]
        target[key] = value
    path.write_text(yaml.safe_dump(params, sort_keys=False))


def build_commit_push(repo: Path, message: str) -> None:
    """What a person does before proposing: rebuild, commit, push code and outputs."""
    run(["dvc", "repro", "-q"], repo)
    run(["git", "add", "-A"], repo)
    run(["git", "commit", "-qm", message], repo)
    branch = run(["git", "rev-parse", "--abbrev-ref", "HEAD"], repo).stdout.strip()
    run(["git", "push", "-q", "-u", "origin", branch], repo)
    run(["dvc", "push", "-q"], repo)


def registry(repo: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return run([*PY, "attrition.lifecycle.registry", *args], repo, check=check)


def stages(repo: Path) -> dict[str, str | None]:
    """Each stage's version as GTO resolves it."""
    shown = json.loads(run(["gto", "show", "--json"], repo).stdout)
    return dict(shown["attrition-model"]["stage"])


def lock_md5(repo: Path, rev: str, path: str) -> str:
    """The md5 dvc.lock records for an output at a git revision."""
    lock = yaml.safe_load(run(["git", "show", f"{rev}:dvc.lock"], repo).stdout)
    return next(
        out["md5"]
        for stage in lock["stages"].values()
        for out in stage.get("outs", [])
        if out["path"] == path
    )


def registry_repo(root: Path, message: str, **params: Any) -> dict[str, Path]:
    """A repo with origin and DVC remote whose first build (params applied) is proposed and promoted.

    Built from scratch, not cloned from the run's repository template: the params change every stage
    but generate (or all of them), so waiting for the template would cost more than it saves.
    Returns root, repo and prod_package (v1.0.0 fetched with `dvc artifacts get`).
    """
    repo = copy_repo(root / "repo")
    run(["git", "init", "-q", "--bare", str(root / "origin.git")], root)
    for args in (
        ["git", "config", "user.name", "registry-test"],
        ["git", "config", "user.email", "registry-test@localhost"],
        ["git", "remote", "add", "origin", str(root / "origin.git")],
        # committed, absolute: `dvc artifacts get` clones the repo and must find the same remote
        ["dvc", "remote", "add", "-d", "-f", "local", str(root / "remote")],
    ):
        run(args, repo)
    set_params(repo, **params)
    run(["git", "commit", "-qam", f"Test parameters: {', '.join(sorted(params))}"], repo)
    build_commit_push(repo, message)
    proposed = registry(repo, "propose")
    assert "registered v1.0.0" in proposed.stdout
    promoted = registry(repo, "promote")
    assert "first production version without a gate" in promoted.stdout
    fetched = root / "prod-v1.0.0"
    run(
        ["dvc", "artifacts", "get", str(repo), "attrition-model", "--rev", "v1.0.0", "-o", str(fetched)], root
    )
    return {"root": root, "repo": repo, "prod_package": fetched}


def link_venv(repo: Path) -> None:
    """Let `make` targets run in the temp repo with this interpreter's venv instead of building one.

    The Makefile's `install` prerequisite must be satisfied by the venv's marker files: were the
    repo's requirements newer than them (a checkout made after the venv), make would run
    `pip install -e .` and point the shared venv's editable install at this temporary repo, breaking
    every later import of `attrition`. So the requirement files are dated just before the markers.
    `.venv` goes into the repo's local exclude file, because the committed `.venv/` pattern matches
    directories, not a symlink.
    """
    venv = Path(sys.prefix)
    markers = [venv / name for name in (".installed", ".installed-dev") if (venv / name).exists()]
    if markers:
        before = min(marker.stat().st_mtime for marker in markers) - 1
        for name in ("requirements.txt", "requirements-dev.txt", "pyproject.toml"):
            if (repo / name).exists():
                os.utime(repo / name, (before, before))
    (repo / ".venv").symlink_to(venv, target_is_directory=True)
    with (repo / ".git" / "info" / "exclude").open("a", encoding="utf-8") as exclude:
        exclude.write("/.venv\n")
