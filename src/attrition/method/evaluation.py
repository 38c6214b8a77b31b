"""Hold-out evaluation: threshold-free and thresholded metrics, bootstrap intervals, calibration error and
recall per group. Pure functions of labels and scores; the evaluate stage logs what they return.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    brier_score_loss,
    f1_score,
    precision_score,
    recall_score,
    roc_auc_score,
)

from attrition.dataset import FEATURES, TARGET, age_band_labels
from attrition.method.calibration import model_calibration
from attrition.method.confidence import Estimate
from attrition.method.curves import calibration_points
from attrition.method.groups import compare_groups
from attrition.method.logloss import log_loss
from attrition.method.selection import model_columns
from attrition.params import EvaluateParams


def thresholded_metrics(y_true: np.ndarray, decided: np.ndarray) -> dict[str, float]:
    """The seed's accuracy/precision/recall plus F1; an empty prediction set scores precision 0."""
    return {
        "accuracy": float(accuracy_score(y_true, decided)),
        "precision": float(precision_score(y_true, decided, zero_division=0)),
        "recall": float(recall_score(y_true, decided, zero_division=0)),
        "f1": float(f1_score(y_true, decided, zero_division=0)),
    }


def score_metrics(y_true: np.ndarray, scores: np.ndarray) -> dict[str, float]:
    """Metrics that do not depend on a threshold."""
    return {
        "roc_auc": float(roc_auc_score(y_true, scores)),
        "average_precision": float(average_precision_score(y_true, scores)),
        "brier": float(brier_score_loss(y_true, scores)),
        "log_loss": log_loss(y_true, scores),  # the C library's log: the same on every CPU
    }


def bootstrap_intervals(
    y_true: np.ndarray, decided: np.ndarray, *, n: int, seed: int, level: float = 0.95
) -> dict[str, tuple[float, float]]:
    """Percentile bootstrap intervals for precision and recall (resampling hold-out rows).

    Resamples without a positive (or without a flagged row) have no recall (precision) and are
    skipped for that metric rather than counted as zero.
    """
    rng = np.random.default_rng(seed)
    y = y_true.astype(bool)
    d = decided.astype(bool)
    precisions: list[float] = []
    recalls: list[float] = []
    for _ in range(n):
        index = rng.integers(0, len(y), size=len(y))
        ys, ds = y[index], d[index]
        hits = np.count_nonzero(ys & ds)
        flagged, positives = np.count_nonzero(ds), np.count_nonzero(ys)
        if flagged:
            precisions.append(hits / flagged)
        if positives:
            recalls.append(hits / positives)
    tail = (1 - level) / 2 * 100
    return {
        name: (float(np.percentile(values, tail)), float(np.percentile(values, 100 - tail)))
        for name, values in (("precision", precisions), ("recall", recalls))
        if values
    }


def calibration_error(y_true: np.ndarray, scores: np.ndarray, bins: int) -> float:
    """Expected calibration error: bin-weighted |observed rate - mean predicted probability|, over the
    bins the calibration plot draws (:func:`attrition.method.curves.calibration_points`)."""
    rows = len(scores)
    total = 0.0
    for point in calibration_points(y_true, scores, bins):
        total += point["count"] / rows * abs(point["prob_true"] - point["prob_pred"])
    return float(total)


INSUFFICIENT = "insufficient_data"
UNDEFINED = "undefined"  # a rate with no rows under it (recall of a group without positives)


def _number(value: float | None) -> float | str:
    """dvclive logs numbers and strings, not None."""
    return UNDEFINED if value is None else value


def _interval(estimate: Estimate) -> dict[str, float | str]:
    return {"low": _number(estimate.low), "high": _number(estimate.high)}


def recall_by_group(
    y_true: np.ndarray, decided: np.ndarray, groups: pd.Series, params: EvaluateParams
) -> dict[str, Any]:
    """Each group's recall with its interval and positives, and the gap between groups.

    The gap is :func:`attrition.method.groups.compare_groups`'s: bias-corrected, with an interval
    simultaneous over the pairs of groups (the observed range is kept, named as such). Its
    ``status`` is ``insufficient_data`` when any group has fewer than ``fairness_min_positives``
    positives: the figure is then shown, never acted on.
    """
    result = compare_groups(
        y_true,
        decided,
        groups.astype(str).to_numpy(),
        alpha=params.fairness_alpha,
        min_positives=params.fairness_min_positives,
    )
    return {
        "by_group": {
            name: {"recall": _number(e.value), "ci95": _interval(e), "positives": e.support}
            for name, e in result.by_group.items()
        },
        "gap": _number(result.gap.value),
        "gap_interval": {**_interval(result.gap), "level": result.level},
        "gap_observed_range": _number(result.observed_range),
        "status": "measured" if result.sufficient else INSUFFICIENT,
    }


@dataclass(frozen=True)
class Evaluation:
    """The hold-out figures (the shape of metrics.json) and the arrays the plots are drawn from."""

    metrics: dict[str, Any]
    y_true: np.ndarray
    scores: np.ndarray
    decided: np.ndarray


def evaluate(model: Any, holdout: pd.DataFrame, threshold: float, params: EvaluateParams) -> Evaluation:
    """Every hold-out figure, computed once from one pass of the model over the hold-out split."""
    age_bands, calibration_bins = list(params.age_bands), params.calibration_bins
    bootstrap_n, bootstrap_seed = params.bootstrap.n, params.bootstrap.seed
    y_true = holdout[TARGET].to_numpy()
    scores = model.predict_proba(holdout[FEATURES])[:, 1]
    decided = (scores >= threshold).astype(int)
    intervals = bootstrap_intervals(y_true, decided, n=bootstrap_n, seed=bootstrap_seed)
    by_age = recall_by_group(y_true, decided, age_band_labels(holdout["age"], age_bands), params)
    by_role = recall_by_group(y_true, decided, holdout["job_role"].astype(str), params)
    holdout_metrics: dict[str, Any] = {
        "rows": len(holdout),
        "positive_rate": float(y_true.mean()),
        "threshold": threshold,
        **score_metrics(y_true, scores),
        **thresholded_metrics(y_true, decided),
        "calibration_error": calibration_error(y_true, scores, calibration_bins),
    }
    for name, (low, high) in intervals.items():
        holdout_metrics[f"{name}_ci95"] = {"low": low, "high": high}
    fairness: dict[str, Any] = {"min_positives": params.fairness_min_positives}
    for name, groups in (("age", by_age), ("job_role", by_role)):
        axis = "age_band" if name == "age" else name
        fairness[f"recall_by_{axis}"] = groups["by_group"]
        fairness[f"equal_opportunity_difference_{name}"] = groups["gap"]
        fairness[f"equal_opportunity_difference_{name}_interval"] = groups["gap_interval"]
        fairness[f"equal_opportunity_difference_{name}_observed_range"] = groups["gap_observed_range"]
        fairness[f"equal_opportunity_difference_{name}_status"] = groups["status"]
    calibration = model_calibration(model)
    method = {
        "columns": ",".join(model_columns(model)),
        "calibration": calibration.method,
        "calibration_knots": len(calibration.x),
    }
    return Evaluation(
        {"holdout": holdout_metrics, "fairness": fairness, "method": method}, y_true, scores, decided
    )
