"""Real `dvc` commands in a temporary copy of the repository.

The copy is a clone of the run's repository template, which `dvc repro` built from scratch (conftest);
the forced rebuilds here run every stage again and must reproduce the committed dvc.lock byte for byte.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO_ROOT, clone_template, run

pytestmark = pytest.mark.dvc

REPRODUCIBLE = ("data/employee_attrition_v3.csv", "models/model.joblib", "data/batch_scores.csv")


def lock_md5s(lock_path: Path) -> dict[str, str]:
    """Every output path in a dvc.lock with its md5."""
    lock = yaml.safe_load(lock_path.read_text())
    return {out["path"]: out["md5"] for stage in lock["stages"].values() for out in stage.get("outs", [])}


@pytest.fixture(scope="module")
def reproduced(repo_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A private copy of the repository as `dvc repro` built it from scratch."""
    return clone_template(repo_template, tmp_path_factory.mktemp("repro") / "repo")


def test_repro_reproduces_the_committed_lock_byte_for_byte(reproduced: Path) -> None:
    """Every output, the package, training record, metrics and plots included, is a pure function."""
    assert (reproduced / "dvc.lock").read_bytes() == (REPO_ROOT / "dvc.lock").read_bytes()
    assert run(["git", "status", "--porcelain"], reproduced).stdout == ""
    assert "up to date" in run(["dvc", "status"], reproduced).stdout


def test_run_records_say_when_and_where_outside_the_hashed_outputs(reproduced: Path) -> None:
    record = json.loads((reproduced / "models" / ".runs" / "package.json").read_text())
    assert record["stage"] == "package" and record["host"] and record["duration_s"] > 0
    head = run(["git", "rev-parse", "HEAD"], reproduced).stdout.strip()
    assert record["commit"] == head
    assert record["source_dirty"] is False  # dvc.lock and metrics/ being rewritten is not "dirty"
    meta = json.loads((reproduced / "models" / "attrition-model" / "metadata.json").read_text())
    assert record["produced"]["model_version"] == meta["model_version"]


def test_lineage_of_the_workspace_and_of_a_revision(reproduced: Path) -> None:
    workspace = json.loads(run(["attrition", "lineage", "--json"], reproduced).stdout)
    at_head = json.loads(run(["attrition", "lineage", "--json", "--rev", "HEAD"], reproduced).stdout)
    assert workspace["package"]["md5"] == at_head["package"]["md5"]
    assert at_head["model_version"] == workspace["model_version"]  # read through DVC's cache
    assert at_head["dataset"]["md5"] == lock_md5s(reproduced / "dvc.lock")["data/employee_attrition_v3.csv"]
    head = run(["git", "rev-parse", "HEAD"], reproduced).stdout.strip()
    assert at_head["package"]["recorded_by"]["commit"] == head
    assert set(workspace["run_records"]) >= {"train", "package"}
    text = run(["attrition", "lineage"], reproduced).stdout
    assert f"recorded by     {head}" in text
    bad = run(["attrition", "lineage", "--rev", "no-such-rev"], reproduced, check=False)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "no-such-rev" in bad.stderr


def test_noop_repro_runs_nothing(reproduced: Path) -> None:
    out = run(["dvc", "repro"], reproduced).stdout
    assert "Running stage" not in out


def test_metrics_and_plots_are_visible_to_dvc(reproduced: Path) -> None:
    shown = json.loads(run(["dvc", "metrics", "show", "--json"], reproduced).stdout)
    metrics = shown[""]["data"]["metrics/metrics.json"]["data"]
    assert metrics["holdout"]["roc_auc"] > 0.75
    assert metrics["fairness"]["age_gap_status"] in ("measured", "insufficient_data")
    table = run(["dvc", "metrics", "show"], reproduced).stdout
    assert max(len(line) for line in table.splitlines()) <= 160, table
    plots = run(["dvc", "plots", "show", "--json"], reproduced).stdout
    for title in ("ROC curve", "Precision-recall curve", "Confusion matrix", "Calibration curve"):
        assert title in plots
    rendered = run(["attrition", "plots", "--out", "images"], reproduced).stdout
    names = {p.name for p in (reproduced / "images").iterdir()}
    assert names == {
        "roc_curve.png",
        "precision_recall_curve.png",
        "confusion_matrix.png",
        "calibration_curve.png",
    }
    assert "Confusion matrix" in rendered


def test_artifact_is_declared_for_the_registry(reproduced: Path) -> None:
    dvc_yaml = yaml.safe_load((reproduced / "dvc.yaml").read_text())
    assert dvc_yaml["artifacts"]["attrition-model"]["type"] == "model"
    verified = run(["attrition", "verify", "models/attrition-model"], reproduced)
    assert "match to 1e-09" in verified.stdout


def test_bad_params_fail_with_one_line_and_keep_outputs(reproduced: Path) -> None:
    before = {path: (reproduced / path).read_bytes() for path in REPRODUCIBLE}
    params = reproduced / "params.yaml"
    original = params.read_text()
    try:
        for bad in ("n_samples: 0", "n_samples: -4"):
            params.write_text(original.replace("n_samples: 800", bad))
            failed = run(["dvc", "repro"], reproduced, check=False)
            assert failed.returncode != 0
            assert "invalid generate.n_samples" in failed.stdout + failed.stderr
        params.write_text(original.replace("test_size: 0.2", "test_size: 1.5"))
        failed = run(["python", "-m", "attrition.params", "params.yaml"], reproduced, check=False)
        assert failed.returncode == 2 and "train.test_size" in failed.stderr
    finally:
        params.write_text(original)
    assert {path: (reproduced / path).read_bytes() for path in REPRODUCIBLE} == before
    assert "up to date" in run(["dvc", "status"], reproduced).stdout


def test_exp_run_with_another_version_changes_metrics(built_repo: Path) -> None:
    repo_copy = built_repo
    baseline = json.loads((repo_copy / "metrics" / "metrics.json").read_text())
    run(["dvc", "exp", "run", "-S", "version=2"], repo_copy)
    assert (repo_copy / "data" / "employee_attrition_v2.csv").exists()
    changed = json.loads((repo_copy / "metrics" / "metrics.json").read_text())
    assert changed["holdout"]["roc_auc"] != baseline["holdout"]["roc_auc"]
    meta = json.loads((repo_copy / "models" / "attrition-model" / "metadata.json").read_text())
    assert meta["dataset"]["version"] == 2 and meta["model_version"].startswith("v2-")
    diff = json.loads(run(["dvc", "metrics", "diff", "--json"], repo_copy).stdout)
    assert diff["metrics/metrics.json"]["holdout.roc_auc"]["diff"] != 0
    shown = run(["dvc", "exp", "show", "--no-pager", "--csv"], repo_copy).stdout
    assert "version" in shown.splitlines()[0]
