"""`make retrain` commits what the experiment made and nothing else (issue 19).

Its step 3 is `make retrain-commit`: it commits params.yaml, dvc.lock, metrics/ and the .gitignore files
DVC maintains, never `git add -A`, so files a walkthrough or a person leaves in the work tree (a bearer
token, outcomes, monitor output) stay out of the commit the retrain pushes. The experiment itself
(`dvc exp run`, seconds to minutes) is stood in for by the edits it makes; the real one runs in the
monitoring walkthrough (tests/walkthroughs).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
COPIED = (
    "Makefile",
    "params.yaml",
    "dvc.lock",
    "metrics",
    "data/.gitignore",
    "models/.gitignore",
    "README.md",
)
STRAY = {
    "token": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJkZW1vIiwic2NvcGUiOiJhdHRyaXRpb246YWRtaW4ifQ.c2lnbmF0dXJl\n",
    "outcomes_v8.csv": "employee_id,attrition,observed_at\nE00001,1,2026-12-01T00:00:00Z\n",
    "monitoring.json": "{}\n",
    "monitor.prom": "attrition_monitor_psi 1.4\n",
    "notes/todo.txt": "not part of any retrain\n",
}


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=True).stdout


def make(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", "--no-print-directory", *args],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A git repository with the project's Makefile and the files a retrain touches, all committed."""
    repo = tmp_path / "repo"
    for name in COPIED:
        source, target = REPO_ROOT / name, repo / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target)
        else:
            shutil.copy2(source, target)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "config", "user.name", "retrain-test")
    git(repo, "config", "user.email", "retrain-test@localhost")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "baseline")
    return repo


def run_experiment(repo: Path) -> set[str]:
    """What `dvc exp run -S version=8` changes in git's view; returns the paths it changed."""
    params = repo / "params.yaml"
    params.write_text(params.read_text().replace("\nversion: 3\n", "\nversion: 8\n"))
    (repo / "dvc.lock").write_text((repo / "dvc.lock").read_text() + "# relocked\n")
    (repo / "metrics" / "metrics.json").write_text('{"holdout": {"recall": 0.8}}\n')
    (repo / "metrics" / "plots" / "new_plot.json").write_text("[]\n")
    with (repo / "data" / ".gitignore").open("a") as ignore:
        ignore.write("/employee_attrition_v8.csv\n/evalset_v8.csv\n")
    return {
        "params.yaml",
        "dvc.lock",
        "metrics/metrics.json",
        "metrics/plots/new_plot.json",
        "data/.gitignore",
    }


def plant_stray_files(repo: Path) -> None:
    for name, content in STRAY.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(content)


def committed_paths(repo: Path) -> set[str]:
    return set(git(repo, "show", "--name-only", "--format=", "HEAD").split())


def test_the_retrain_commit_holds_what_the_experiment_changed_and_no_stray_file(repo: Path) -> None:
    changed = run_experiment(repo)
    plant_stray_files(repo)

    done = make(repo, "retrain-commit", "VERSION=8")

    assert done.returncode == 0, done.stdout + done.stderr
    assert committed_paths(repo) == changed
    assert git(repo, "log", "-1", "--format=%s") == "Retrain on dataset version 8 (make retrain)\n"
    untracked = set(git(repo, "ls-files", "--others", "--exclude-standard").split())
    assert untracked == set(STRAY), "every stray file is left where it was, untracked"
    assert git(repo, "status", "--porcelain", "--untracked-files=no") == ""


def test_a_tracked_change_outside_the_retrain_files_is_refused_and_not_committed(repo: Path) -> None:
    changed = run_experiment(repo)
    (repo / "README.md").write_text("edited while the experiment ran\n")

    done = make(repo, "retrain-commit", "VERSION=8")

    assert done.returncode != 0
    assert "error: tracked files changed outside params.yaml dvc.lock metrics" in done.stderr
    assert " M README.md" in done.stderr
    assert committed_paths(repo) == changed


def test_retrain_commits_through_retrain_commit_and_never_adds_everything() -> None:
    recipe = subprocess.run(
        ["make", "-n", "--no-print-directory", "-f", str(REPO_ROOT / "Makefile"), "retrain", "VERSION=4"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    ).stdout
    assert "git add -- params.yaml dvc.lock metrics data/.gitignore models/.gitignore" in recipe
    assert "add -A" not in recipe and "add ." not in recipe
