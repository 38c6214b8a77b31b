"""The committed default remote works from any path: push, push -a, pull, and `dvc artifacts get`.

`dvc artifacts get <repo> attrition-model` and `dvc push -a` work in a temporary clone of the repo,
where a relative remote URL would point somewhere else (treeverse/dvc issues 2756 and 10617). The
default remote is under the user's home; each test gets its own HOME so it never touches the real one.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT, clone_template, run

pytestmark = pytest.mark.dvc


def test_default_remote_serves_push_pull_and_artifacts_get(repo_template: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    env = {"HOME": str(home)}
    # built, and no local remote: the committed default is used, as a new user would
    repo = clone_template(repo_template, tmp_path / "repo", local_remote=False)
    assert run(["git", "status", "--porcelain"], repo).stdout == ""
    run(["dvc", "push"], repo, env=env)
    run(["dvc", "push", "-a"], repo, env=env)
    assert (home / ".cache" / "attrition" / "dvc-remote" / "files" / "md5").is_dir()

    fetched = tmp_path / "elsewhere"
    fetched.mkdir()
    git_user = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@localhost"}
    git_user |= {"GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@localhost"}
    run(["gto", "register", "attrition-model", "HEAD", "--version", "v1.0.0"], repo, env=git_user)
    run(
        ["dvc", "artifacts", "get", str(repo), "attrition-model", "--rev", "v1.0.0", "-o", "pkg"],
        fetched,
        env=env,
    )
    for name in ("model.joblib", "metadata.json", "MANIFEST.sha256"):
        built = repo / "models" / "attrition-model" / name
        assert (fetched / "pkg" / name).read_bytes() == built.read_bytes(), name
    assert run(["attrition", "verify", "pkg"], fetched).returncode == 0

    clone = tmp_path / "clone"
    run(["git", "clone", "-q", str(repo), str(clone)], tmp_path)
    run(["dvc", "pull"], clone, env=env)
    assert (clone / "models" / "model.joblib").read_bytes() == (repo / "models" / "model.joblib").read_bytes()
    assert "up to date" in run(["dvc", "status"], clone, env=env).stdout
    shutil.rmtree(home / ".cache", ignore_errors=True)


def test_the_committed_default_remote_is_absolute_and_per_user() -> None:
    config = (REPO_ROOT / ".dvc" / "config").read_text()
    assert "url = ~/.cache/attrition/dvc-remote" in config
