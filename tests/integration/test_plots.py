"""`attrition plots` through DVC itself: `dvc plots show --json` fills the project's templates in
.dvc/plots/ from dvc.yaml's `plots:` and every plot draws, with its annotations, offline."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
import yaml

from attrition.lifecycle.plots import main, plot_specs
from tests.conftest import REPO_ROOT, VENV_BIN, run
from tests.lifecycle.test_plots import _plot_data, drawn_text

pytestmark = pytest.mark.dvc


def test_dvc_fills_the_project_templates_and_every_plot_draws(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}")  # dvc of this venv
    run(["dvc", "init", "--no-scm", "-q"], tmp_path)
    shutil.copytree(REPO_ROOT / ".dvc" / "plots", tmp_path / ".dvc" / "plots")
    plots = yaml.safe_load((REPO_ROOT / "dvc.yaml").read_text())["plots"]
    (tmp_path / "dvc.yaml").write_text(yaml.safe_dump({"plots": plots}))
    for file, rows in _plot_data(0).items():
        (tmp_path / file).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / file).write_text(json.dumps(rows))

    specs = plot_specs(tmp_path, [])
    assert set(specs) == {"ROC curve", "Precision-recall curve", "Confusion matrix", "Calibration curve"}
    assert any(t.startswith("workspace: AUC ") for t in drawn_text(specs["ROC curve"]))
    assert any(t.startswith("workspace: precision ") for t in drawn_text(specs["Precision-recall curve"]))
    assert any(t.startswith("n=") for t in drawn_text(specs["Calibration curve"]))

    out = tmp_path / "images"
    assert main(["--repo", str(tmp_path), "--out", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == [
        "calibration_curve.png",
        "confusion_matrix.png",
        "precision_recall_curve.png",
        "roc_curve.png",
    ]
