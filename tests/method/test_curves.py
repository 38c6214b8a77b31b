"""Plot data stays small at any data size, keeps the exact operating point (flagged for the plots), carries
the ROC AUC, and counts the rows of each calibration bin."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest
from sklearn.calibration import calibration_curve
from sklearn.metrics import roc_auc_score

from attrition.method.curves import (
    calibration_points,
    confusion_counts,
    precision_recall_points,
    roc_points,
)
from attrition.method.evaluation import calibration_error


@pytest.fixture(scope="module")
def million() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    y = (rng.random(1_000_000) < 0.2).astype(int)
    scores = np.clip(rng.normal(0.2 + 0.3 * y, 0.15), 0, 1).round(6)
    return y, scores


def test_a_million_rows_give_under_a_megabyte_of_plot_data(million: tuple[np.ndarray, np.ndarray]) -> None:
    y, scores = million
    threshold = 0.31
    documents = [
        roc_points(y, scores, threshold, 200),
        precision_recall_points(y, scores, threshold, 200),
        confusion_counts(y, scores >= threshold),
        calibration_points(y, scores, 10),
    ]
    assert len(documents[0]) <= 200 and len(documents[1]) <= 200 and len(documents[2]) == 4
    assert len(documents[3]) == 10
    assert sum(len(json.dumps(document)) for document in documents) < 1_000_000


def test_the_operating_point_is_exact(million: tuple[np.ndarray, np.ndarray]) -> None:
    y, scores = million
    threshold = 0.31
    decided = scores >= threshold
    tpr = decided[y == 1].mean()
    fpr = decided[y == 0].mean()
    precision = y[decided].mean()
    roc = roc_points(y, scores, threshold, 50)
    # exactly one point is flagged for the plots' marker, and it is the package's operating point
    (flagged,) = [p for p in roc if p["operating_point"]]
    assert flagged["tpr"] == pytest.approx(tpr) and flagged["fpr"] == pytest.approx(fpr)
    pr = precision_recall_points(y, scores, threshold, 50)
    (flagged,) = [p for p in pr if p["operating_point"]]
    assert flagged["recall"] == pytest.approx(tpr) and flagged["precision"] == pytest.approx(precision)
    assert flagged["threshold"] >= threshold


def test_curve_ends_are_kept_and_points_are_ordered() -> None:
    y = np.array([0, 0, 1, 1, 0, 1, 0, 1])
    scores = np.array([0.1, 0.4, 0.35, 0.8, 0.2, 0.7, 0.5, 0.9])
    roc = roc_points(y, scores, 0.5, 10)
    assert (roc[0]["fpr"], roc[0]["tpr"]) == (0.0, 0.0) and (roc[-1]["fpr"], roc[-1]["tpr"]) == (1.0, 1.0)
    assert all(a["fpr"] <= b["fpr"] for a, b in itertools.pairwise(roc))
    assert all(point["threshold"] <= 1.0 for point in roc)  # no infinity in JSON


def test_confusion_counts_are_the_four_cells() -> None:
    y = np.array([1, 1, 0, 0, 0])
    d = np.array([1, 0, 1, 0, 0])
    cells = {(c["actual"], c["predicted"]): c["count"] for c in confusion_counts(y, d)}
    assert cells == {(1, 1): 1, (1, 0): 1, (0, 1): 1, (0, 0): 2}


def test_roc_points_carry_the_exact_auc(million: tuple[np.ndarray, np.ndarray]) -> None:
    """The plot prints the AUC of metrics.json, not a trapezoid over the thinned points."""
    y, scores = million
    roc = roc_points(y, scores, 0.31, 50)
    assert {p["auc"] for p in roc} == {float(roc_auc_score(y, scores))}


def test_no_operating_point_when_the_threshold_is_above_every_score() -> None:
    """Nothing is flagged at such a threshold: the ROC marker sits at (0, 0), the PR curve has none."""
    y = np.array([0, 1, 0, 1, 1])
    scores = np.array([0.1, 0.2, 0.3, 0.4, 0.5])
    (flagged,) = [p for p in roc_points(y, scores, 0.9, 10) if p["operating_point"]]
    assert (flagged["fpr"], flagged["tpr"]) == (0.0, 0.0)
    assert not any(p["operating_point"] for p in precision_recall_points(y, scores, 0.9, 10))


def test_calibration_bins_count_their_rows_and_match_the_calibration_error() -> None:
    rng = np.random.default_rng(1)
    scores = rng.random(2_000) ** 2
    y = (rng.random(2_000) < scores).astype(int)
    bins = calibration_points(y, scores, 10)
    assert sum(b["count"] for b in bins) == 2_000 and all(b["count"] > 0 for b in bins)
    # the same observed rates and mean scores as scikit-learn's uniform calibration curve ...
    prob_true, prob_pred = calibration_curve(y, scores, n_bins=10)
    assert [b["prob_true"] for b in bins] == pytest.approx(list(prob_true))
    assert [b["prob_pred"] for b in bins] == pytest.approx(list(prob_pred))
    # ... and the bins the calibration error is computed over
    weighted = sum(b["count"] / 2_000 * abs(b["prob_true"] - b["prob_pred"]) for b in bins)
    assert weighted == pytest.approx(calibration_error(y, scores, 10))


def test_empty_calibration_bins_are_left_out() -> None:
    bins = calibration_points(np.array([0, 1, 1]), np.array([0.05, 0.92, 0.97]), 10)
    assert [(b["count"], b["prob_true"]) for b in bins] == [(1, 0.0), (2, 1.0)]


def test_plot_data_is_deterministic_json(million: tuple[np.ndarray, np.ndarray]) -> None:
    y, scores = million[0][:5_000], million[1][:5_000]

    def documents() -> str:
        return json.dumps(
            [
                roc_points(y, scores, 0.31, 100),
                precision_recall_points(y, scores, 0.31, 100),
                calibration_points(y, scores, 10),
            ]
        )

    assert documents() == documents()
