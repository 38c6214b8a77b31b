"""`attrition versions` runs real experiments through DVC's queue and leaves the workspace untouched."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import run

pytestmark = pytest.mark.dvc


def test_one_queued_experiment_per_version_and_a_lineage_table(built_repo: Path) -> None:
    repo_copy = built_repo
    params_before = (repo_copy / "params.yaml").read_bytes()
    completed = run(["attrition", "versions", "2", "--timeout", "600"], repo_copy)
    # progress on stderr while the queue works, the table alone on stdout
    progress = completed.stderr.splitlines()
    assert progress[0].startswith("versions [") and progress[0].endswith("dataset-v2: queued (1 of 1)")
    assert any(line.endswith("dataset-v2: running") for line in progress)
    assert any("dataset-v2: done after " in line for line in progress)
    table = completed.stdout.splitlines()
    assert table[0].split()[:2] == ["version", "experiment"]
    version, name, md5, model_version, *_ = table[1].split()
    assert (version, name) == ("2", "dataset-v2") and model_version.startswith("v2-")
    assert len(md5) == 32
    # independent of the workspace: nothing applied, params.yaml untouched
    assert (repo_copy / "params.yaml").read_bytes() == params_before
    assert run(["git", "status", "--porcelain"], repo_copy).stdout == ""
    shown = json.loads(run(["dvc", "exp", "show", "--json"], repo_copy).stdout)
    names = {e.get("name") for baseline in shown for e in baseline.get("experiments") or []}
    assert "dataset-v2" in names
