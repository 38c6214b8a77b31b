"""Lineage and the lifecycle commands' repository root: found from a subfolder as git and dvc find theirs,
and a lineage whose model metadata cannot be read is an error (exit 1), not a quiet success."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import yaml

from attrition.lifecycle.lineage import PACKAGE_OUT, main, project_root
from attrition.lifecycle.registry.cli import main as registry_main

METADATA = {
    "model_version": "v3-abc",
    "dataset": {"version": 3, "rows": 800, "md5": "d" * 32},
    "code": {"train": {"digest": "c" * 64}},
    "params": {"version": 3},
}


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=True).stdout


def built_repo(root: Path) -> Path:
    """A git repository with a committed dvc.lock naming the package, and its metadata in the workspace."""
    repo = root / "repo"
    (repo / ".dvc").mkdir(parents=True)
    (repo / "src" / "attrition").mkdir(parents=True)
    lock = {"schema": "2.0", "stages": {"package": {"outs": [{"path": PACKAGE_OUT, "md5": "p.dir"}]}}}
    (repo / "dvc.lock").write_text(yaml.safe_dump(lock))
    git(repo, "init", "-q")
    git(repo, "add", "dvc.lock")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@localhost", "commit", "-qm", "lock")
    (repo / PACKAGE_OUT).mkdir(parents=True)
    (repo / PACKAGE_OUT / "metadata.json").write_text(json.dumps(METADATA))
    return repo


def test_the_root_is_found_upward_as_dvc_then_git_find_it(tmp_path: Path) -> None:
    repo = built_repo(tmp_path)
    assert project_root(repo / "src" / "attrition") == repo.resolve()
    assert project_root(repo) == repo.resolve()
    git_only = tmp_path / "git-only"
    (git_only / "a" / "b").mkdir(parents=True)
    git(git_only, "init", "-q")
    assert project_root(git_only / "a" / "b") == git_only.resolve()
    # outside any repository, the folder given (the command's own error then names it)
    outside = tmp_path / "plain"
    outside.mkdir()
    assert project_root(outside) == outside


def test_lineage_from_a_subfolder_reads_the_project(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = built_repo(tmp_path)
    monkeypatch.chdir(repo / "src")
    assert main([]) == 0
    out = capsys.readouterr().out
    assert "model version   v3-abc" in out and "nothing has been built" not in out


def test_lineage_exits_1_when_the_metadata_at_a_revision_cannot_be_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = built_repo(tmp_path)  # the package's bytes are in no DVC cache and on no remote
    monkeypatch.chdir(repo)
    assert main(["--rev", "HEAD"]) == 1
    captured = capsys.readouterr()
    assert "package md5     p.dir" in captured.out  # what could be read is still shown
    assert captured.err.startswith("error: ") and "neither in the cache nor on the remote" in captured.err
    assert len(captured.err.strip().splitlines()) == 1


def test_lineage_exits_1_when_the_workspace_has_no_package(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = built_repo(tmp_path)
    (repo / PACKAGE_OUT / "metadata.json").unlink()
    monkeypatch.chdir(repo)
    assert main([]) == 1
    assert "is not in the workspace (dvc pull or make repro)" in capsys.readouterr().err


def test_registry_from_a_subfolder_finds_the_repository(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = built_repo(tmp_path)
    monkeypatch.chdir(repo / "src" / "attrition")
    assert registry_main(["--no-push", "show"]) == 0
    assert capsys.readouterr().out.strip() == "no versions registered yet"
