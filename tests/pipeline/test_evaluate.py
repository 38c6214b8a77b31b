"""Metric computation on small fixed inputs, and the metrics file the stage writes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from attrition.method.evaluation import (
    bootstrap_intervals,
    calibration_error,
    recall_by_group,
    score_metrics,
    thresholded_metrics,
)
from attrition.params import EvaluateParams

Y = np.array([1, 1, 1, 0, 0, 0, 0, 1])
D = np.array([1, 1, 0, 1, 0, 0, 0, 0])


def test_thresholded_metrics_by_hand() -> None:
    # TP=2, FP=1, FN=2, TN=3
    m = thresholded_metrics(Y, D)
    assert m["accuracy"] == pytest.approx(5 / 8)
    assert m["precision"] == pytest.approx(2 / 3)
    assert m["recall"] == pytest.approx(2 / 4)
    assert m["f1"] == pytest.approx(2 * (2 / 3) * 0.5 / (2 / 3 + 0.5))


def test_no_flagged_rows_give_zero_precision_not_an_error() -> None:
    assert thresholded_metrics(Y, np.zeros_like(Y))["precision"] == 0.0


def test_score_metrics_on_a_perfect_ranking() -> None:
    scores = np.array([0.9, 0.8, 0.7, 0.1, 0.2, 0.3, 0.4, 0.6])
    m = score_metrics(Y, scores)
    assert m["roc_auc"] == 1.0 and m["average_precision"] == 1.0
    assert m["brier"] == pytest.approx(np.mean((scores - Y) ** 2))


def test_bootstrap_interval_brackets_the_point_estimate_and_is_repeatable() -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 400)
    d = np.where(rng.random(400) < 0.8, y, 1 - y)
    first = bootstrap_intervals(y, d, n=300, seed=1)
    assert first == bootstrap_intervals(y, d, n=300, seed=1)
    point = thresholded_metrics(y, d)
    for name in ("precision", "recall"):
        low, high = first[name]
        assert low < point[name] < high and high - low < 0.2


def test_calibration_error_is_zero_when_rates_match_and_positive_otherwise() -> None:
    y = np.array([0, 1, 0, 1])
    assert calibration_error(y, np.full(4, 0.5), bins=10) == pytest.approx(0.0)
    assert calibration_error(y, np.full(4, 0.9), bins=10) == pytest.approx(0.4)


def test_recall_by_group_reports_each_group_with_interval_and_positives() -> None:
    groups = pd.Series(["a", "a", "b", "b", "b", "a", "c", "b"])
    params = EvaluateParams(fairness_min_positives=1)
    result = recall_by_group(Y, D, groups, params)
    # a: positives rows 0,1 -> both flagged = 1.0; b: positives rows 2,7 -> none = 0.0; c: no positives
    assert result["by_group"]["a"]["recall"] == 1.0 and result["by_group"]["a"]["positives"] == 2
    assert result["by_group"]["b"]["recall"] == 0.0 and result["by_group"]["b"]["positives"] == 2
    assert result["by_group"]["c"] == {
        "recall": "undefined",
        "ci95": {"low": "undefined", "high": "undefined"},
        "positives": 0,
    }
    assert result["gap"] == pytest.approx(1.0)
    # c has no positive, so even a minimum of one positive is not met
    assert result["status"] == "insufficient_data"


def test_gap_is_measured_only_when_every_group_has_enough_positives() -> None:
    rng = np.random.default_rng(0)
    groups = pd.Series(rng.choice(["x", "y"], 4000))
    y = rng.integers(0, 2, 4000)
    decided = np.where(rng.random(4000) < 0.8, y, 1 - y)
    enough = recall_by_group(y, decided, groups, EvaluateParams(fairness_min_positives=500))
    assert enough["status"] == "measured"
    low, high = enough["gap_interval"]["low"], enough["gap_interval"]["high"]
    assert low <= enough["gap"] <= high and high - low < 0.08
    assert enough["gap_interval"]["level"] == 0.9 and enough["gap"] <= enough["gap_observed_range"]
    assert all(g["positives"] > 900 for g in enough["by_group"].values())
    too_few = recall_by_group(y, decided, groups, EvaluateParams(fairness_min_positives=1500))
    assert too_few["status"] == "insufficient_data" and too_few["gap"] == enough["gap"]


def test_metrics_json_keeps_the_headline_so_dvc_metrics_show_fits_a_terminal(pipeline_dir: Path) -> None:
    metrics = json.loads((pipeline_dir / "metrics" / "metrics.json").read_text())
    evaluation = json.loads((pipeline_dir / "metrics" / "evaluation.json").read_text())
    assert set(metrics) == {"holdout", "fairness"}
    assert set(metrics["holdout"]) == {"roc_auc", "precision", "recall", "threshold"}
    for key, value in metrics["holdout"].items():
        assert value == evaluation["holdout"][key]
    assert metrics["fairness"]["age_gap"] == evaluation["fairness"]["equal_opportunity_difference_age"]
    assert (
        metrics["fairness"]["age_gap_status"]
        == evaluation["fairness"]["equal_opportunity_difference_age_status"]
    )
    assert evaluation["cv"]["roc_auc"]["mean"] > 0.5
    # one column per key in `dvc metrics show`: header widths plus the path stay under 160 characters
    keys = [f"{section}.{key}" for section, values in metrics.items() for key in values]
    assert len("metrics/metrics.json") + sum(len(key) + 2 for key in keys) < 160


def test_evaluation_file_has_every_reported_figure(pipeline_dir: Path) -> None:
    metrics = json.loads((pipeline_dir / "metrics" / "evaluation.json").read_text())
    holdout = metrics["holdout"]
    for key in ("accuracy", "precision", "recall", "f1", "roc_auc", "average_precision", "brier"):
        assert 0.0 <= holdout[key] <= 1.0
    assert holdout["precision_ci95"]["low"] <= holdout["precision"] <= holdout["precision_ci95"]["high"]
    assert holdout["recall_ci95"]["low"] <= holdout["recall"] <= holdout["recall_ci95"]["high"]
    assert holdout["rows"] == 160
    fairness = metrics["fairness"]
    assert set(fairness["recall_by_age_band"]) == {"<30", "30-44", "45+"}
    band_positives = [band["positives"] for band in fairness["recall_by_age_band"].values()]
    assert sum(band_positives) == round(holdout["positive_rate"] * holdout["rows"])
    assert fairness["equal_opportunity_difference_age"] >= 0
    # a 160-row hold-out has a few positives per band: its gap is not a finding
    assert min(band_positives) < fairness["min_positives"]
    assert fairness["equal_opportunity_difference_age_status"] == "insufficient_data"
    gap_ci = fairness["equal_opportunity_difference_age_interval"]
    assert gap_ci["low"] <= fairness["equal_opportunity_difference_age"] <= gap_ci["high"]
    assert metrics["method"]["calibration"] == "isotonic" and metrics["method"]["calibration_knots"] >= 2
    assert "job_role" in metrics["method"]["columns"].split(",")
    assert metrics["cv"]["roc_auc"]["mean"] > 0.7
    plots = pipeline_dir / "metrics" / "plots"
    assert {p.name for p in (plots / "custom").iterdir()} == {
        "roc.json",
        "precision_recall.json",
        "confusion_matrix.json",
        "calibration.json",
    }
    assert not (plots / "sklearn").exists()  # calibration carries counts per bin: attrition.method.curves
    bins = json.loads((plots / "custom" / "calibration.json").read_text())
    assert sum(b["count"] for b in bins) == holdout["rows"]


def test_evaluation_reports_what_the_model_relies_on(pipeline_dir: Path) -> None:
    """Each model input's mean |contribution| on the hold-out, in probability, per dataset version."""
    explanations = json.loads((pipeline_dir / "metrics" / "evaluation.json").read_text())["explanations"]
    assert explanations["measured_in"] == "probability" and explanations["rows"] == 160
    means = explanations["mean_abs_contribution"]
    assert set(means) == {"monthly_income", "years_at_company", "job_role"}  # age is not an input
    assert all(0 < value < 1 for value in means.values())
    assert 0 < explanations["baseline"] < 1 and explanations["background_rows"] == 200
