"""`attrition versions` runs real experiments through DVC's queue and leaves the workspace untouched."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import run

pytestmark = pytest.mark.integration


def test_one_queued_experiment_per_version_and_a_lineage_table(repo_copy: Path) -> None:
    run(["dvc", "repro"], repo_copy)
    params_before = (repo_copy / "params.yaml").read_bytes()
    table = run(["attrition", "versions", "2", "--timeout", "600"], repo_copy).stdout.splitlines()
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
