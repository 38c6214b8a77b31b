"""Plot data whose size does not grow with the data: bounded ROC and PR curves, counted confusion cells.

DVC commits plot files to git (`cache: false`), and dvclive's sklearn plots write one point per
distinct score and one confusion entry per row: a million-row hold-out became ~50 MB of JSON. Here a
curve keeps at most a declared number of points, always including its ends and the exact operating
point at the package's threshold; the confusion matrix is four counts.
"""

from __future__ import annotations

import numpy as np
from sklearn.metrics import precision_recall_curve, roc_curve

from attrition.method.confidence import confusion_cells


def _keep(count: int, max_points: int, must: list[int]) -> np.ndarray:
    """Evenly spaced indices into a curve of `count` points, plus the ones that must stay."""
    spaced = np.linspace(0, count - 1, num=min(count, max_points - len(must))).round().astype(int)
    return np.unique(np.concatenate([spaced, np.array(must, dtype=int)]))


def _operating_index(thresholds: np.ndarray, threshold: float) -> int:
    """Index of the curve point that decides like `score >= threshold` (the smallest threshold >= it)."""
    at_or_above = np.flatnonzero(thresholds >= threshold)
    return int(at_or_above[np.argmin(thresholds[at_or_above])]) if at_or_above.size else 0


def roc_points(
    y_true: np.ndarray, scores: np.ndarray, threshold: float, max_points: int
) -> list[dict[str, float]]:
    fpr, tpr, thresholds = roc_curve(y_true, scores, drop_intermediate=False)
    index = _keep(len(fpr), max_points, [0, len(fpr) - 1, _operating_index(thresholds, threshold)])
    return [
        {"fpr": float(fpr[i]), "tpr": float(tpr[i]), "threshold": float(min(thresholds[i], 1.0))}
        for i in index
    ]


def precision_recall_points(
    y_true: np.ndarray, scores: np.ndarray, threshold: float, max_points: int
) -> list[dict[str, float]]:
    precision, recall, thresholds = precision_recall_curve(y_true, scores)
    precision, recall = precision[:-1], recall[:-1]  # the last point has no threshold
    index = _keep(
        len(thresholds), max_points, [0, len(thresholds) - 1, _operating_index(thresholds, threshold)]
    )
    return [
        {"recall": float(recall[i]), "precision": float(precision[i]), "threshold": float(thresholds[i])}
        for i in index
    ]


def confusion_counts(y_true: np.ndarray, decided: np.ndarray) -> list[dict[str, int]]:
    """One row per (actual, predicted) cell with its count: what the `confusion_counts` template sums."""
    cells = confusion_cells(y_true, decided)
    return [{"actual": a, "predicted": p, "count": int(cells[a, p])} for a in (0, 1) for p in (0, 1)]
