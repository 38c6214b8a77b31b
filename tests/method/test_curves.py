"""Plot data stays small at any data size and keeps the exact operating point."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest

from attrition.method.curves import confusion_counts, precision_recall_points, roc_points


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
    ]
    assert len(documents[0]) <= 201 and len(documents[1]) <= 201 and len(documents[2]) == 4
    assert sum(len(json.dumps(document)) for document in documents) < 1_000_000


def test_the_operating_point_is_exact(million: tuple[np.ndarray, np.ndarray]) -> None:
    y, scores = million
    threshold = 0.31
    decided = scores >= threshold
    tpr = decided[y == 1].mean()
    fpr = decided[y == 0].mean()
    precision = y[decided].mean()
    roc = roc_points(y, scores, threshold, 50)
    assert any(p["tpr"] == pytest.approx(tpr) and p["fpr"] == pytest.approx(fpr) for p in roc)
    pr = precision_recall_points(y, scores, threshold, 50)
    assert any(p["recall"] == pytest.approx(tpr) and p["precision"] == pytest.approx(precision) for p in pr)


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
