"""Plot data whose size does not grow with the data: bounded ROC and PR curves, counted confusion cells,
calibration bins with their counts.

DVC commits plot files to git (`cache: false`), and dvclive's sklearn plots write one point per
distinct score and one confusion entry per row: a million-row hold-out became ~50 MB of JSON. Here a
curve keeps at most a declared number of points, always including its ends and the exact operating
point at the package's threshold; the confusion matrix is four counts; calibration is one row per
non-empty bin.

What the templates in .dvc/plots/ draw from it: every ROC and PR point says whether it is the
operating point (`operating_point`), so the plots can mark it; every ROC point carries the curve's
`auc` (the hold-out ROC AUC of metrics.json), so the plot can print it per revision in a
`dvc plots diff` overlay; every calibration bin carries its `count`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.metrics import precision_recall_curve, roc_auc_score, roc_curve

from attrition.method.confidence import confusion_cells


def _keep(count: int, max_points: int, must: list[int]) -> np.ndarray:
    """Evenly spaced indices into a curve of `count` points, plus the ones that must stay."""
    spaced = np.linspace(0, count - 1, num=min(count, max_points - len(must))).round().astype(int)
    return np.unique(np.concatenate([spaced, np.array(must, dtype=int)]))


def _operating_index(thresholds: np.ndarray, threshold: float) -> int | None:
    """Index of the curve point that decides like `score >= threshold` (the smallest threshold >= it).

    None when no point does: the threshold is above every score, so nothing is flagged.
    """
    at_or_above = np.flatnonzero(thresholds >= threshold)
    return int(at_or_above[np.argmin(thresholds[at_or_above])]) if at_or_above.size else None


def roc_points(
    y_true: np.ndarray, scores: np.ndarray, threshold: float, max_points: int, auc: float | None = None
) -> list[dict[str, Any]]:
    """`auc`: the hold-out ROC AUC when the caller already has it (evaluate's metrics), else computed."""
    fpr, tpr, thresholds = roc_curve(y_true, scores, drop_intermediate=False)
    operating = _operating_index(thresholds, threshold)  # never None: thresholds[0] is +inf
    must = [0, len(fpr) - 1] + ([] if operating is None else [operating])
    index = _keep(len(fpr), max_points, must)
    if auc is None:
        auc = float(roc_auc_score(y_true, scores))  # the same call as metrics.json's holdout/roc_auc
    return [
        {
            "fpr": float(fpr[i]),
            "tpr": float(tpr[i]),
            "threshold": float(min(thresholds[i], 1.0)),
            "operating_point": bool(i == operating),
            "auc": auc,
        }
        for i in index
    ]


def precision_recall_points(
    y_true: np.ndarray, scores: np.ndarray, threshold: float, max_points: int
) -> list[dict[str, Any]]:
    precision, recall, thresholds = precision_recall_curve(y_true, scores)
    precision, recall = precision[:-1], recall[:-1]  # the last point has no threshold
    operating = _operating_index(thresholds, threshold)
    must = [0, len(thresholds) - 1] + ([] if operating is None else [operating])
    index = _keep(len(thresholds), max_points, must)
    return [
        {
            "recall": float(recall[i]),
            "precision": float(precision[i]),
            "threshold": float(thresholds[i]),
            "operating_point": bool(i == operating),
        }
        for i in index
    ]


def confusion_counts(y_true: np.ndarray, decided: np.ndarray) -> list[dict[str, int]]:
    """One row per (actual, predicted) cell with its count: what the `confusion_counts` template sums."""
    cells = confusion_cells(y_true, decided)
    return [{"actual": a, "predicted": p, "count": int(cells[a, p])} for a in (0, 1) for p in (0, 1)]


def calibration_points(y_true: np.ndarray, scores: np.ndarray, bins: int) -> list[dict[str, Any]]:
    """One row per non-empty bin of `bins` equal-width score bins: mean score, observed rate, row count.

    attrition.method.evaluation.calibration_error is computed from these rows (a score on an inner
    edge belongs to the upper bin), so the plot shows what the calibration error summarises.
    """
    y = np.asarray(y_true).astype(float)
    s = np.asarray(scores, dtype=float)
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(s, edges[1:-1]), 0, bins - 1)
    rows = []
    for b in range(bins):
        members = which == b
        count = int(np.count_nonzero(members))
        if count:
            rows.append(
                {
                    "prob_pred": float(s[members].mean()),
                    "prob_true": float(y[members].mean()),
                    "count": count,
                }
            )
    return rows
