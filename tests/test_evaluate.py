"""Metric computation on small fixed inputs, and the metrics file the stage writes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from attrition.evaluate import (
    age_band_labels,
    bootstrap_intervals,
    calibration_error,
    recall_by_group,
    score_metrics,
    thresholded_metrics,
)

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


def test_age_bands_are_upper_exclusive() -> None:
    labels = age_band_labels(pd.Series([22, 29, 30, 44, 45, 59]), [30, 45])
    assert labels.tolist() == ["<30", "<30", "30-44", "30-44", "45+", "45+"]


def test_recall_by_group_and_gap_via_fairlearn() -> None:
    groups = pd.Series(["a", "a", "b", "b", "b", "a", "c", "b"])
    by_group, gap = recall_by_group(Y, D, groups)
    # a: positives rows 0,1 -> both flagged = 1.0; b: positives rows 2,7 -> none = 0.0; c: no positives
    assert by_group == {"a": 1.0, "b": 0.0}
    assert gap == pytest.approx(1.0)


def test_metrics_file_has_every_reported_figure(pipeline_dir: Path) -> None:
    metrics = json.loads((pipeline_dir / "metrics" / "metrics.json").read_text())
    holdout = metrics["holdout"]
    for key in ("accuracy", "precision", "recall", "f1", "roc_auc", "average_precision", "brier"):
        assert 0.0 <= holdout[key] <= 1.0
    assert holdout["precision_ci95"]["low"] <= holdout["precision"] <= holdout["precision_ci95"]["high"]
    assert holdout["recall_ci95"]["low"] <= holdout["recall"] <= holdout["recall_ci95"]["high"]
    assert holdout["rows"] == 160
    assert set(metrics["fairness"]["recall_by_age_band"]) == {"<30", "30-44", "45+"}
    assert metrics["fairness"]["equal_opportunity_difference_age"] >= 0
    assert metrics["cv"]["roc_auc"]["mean"] > 0.7
    plots = pipeline_dir / "metrics" / "plots"
    assert {p.name for p in (plots / "custom").iterdir()} == {
        "roc.json",
        "precision_recall.json",
        "confusion_matrix.json",
    }
    assert {p.name for p in (plots / "sklearn").iterdir()} == {"calibration.json"}
