"""Intervals: exact point values, coverage that behaves like a bootstrap, and the undefined cases."""

from __future__ import annotations

import numpy as np
import pytest

from attrition.method.confidence import confusion_cells, paired_difference, recall_precision


def test_confusion_cells_counts_each_row_once() -> None:
    y = np.array([1, 1, 0, 0, 1])
    d = np.array([1, 0, 1, 0, 1])
    assert confusion_cells(y, d).tolist() == [[1, 1], [1, 2]]


def test_recall_precision_values_and_interval_contain_them() -> None:
    rng = np.random.default_rng(0)
    y = rng.random(2000) < 0.2
    d = np.where(y, rng.random(2000) < 0.75, rng.random(2000) < 0.2)
    result = recall_precision(y, d, n=500, seed=1)
    recall, precision = result["recall"], result["precision"]
    assert recall.value == pytest.approx((y & d).sum() / y.sum())
    assert precision.value == pytest.approx((y & d).sum() / d.sum())
    assert recall.support == y.sum() and precision.support == d.sum()
    for estimate in (recall, precision):
        assert estimate.low is not None and estimate.high is not None
        assert estimate.low < estimate.value < estimate.high
    # binomial standard error sqrt(p(1-p)/n_pos): the 95% interval is about 4 of them wide
    se = np.sqrt(recall.value * (1 - recall.value) / y.sum())
    assert (recall.high - recall.low) == pytest.approx(3.92 * se, rel=0.2)


def test_no_positives_means_no_recall_not_zero() -> None:
    y = np.zeros(50, dtype=int)
    d = np.ones(50, dtype=int)
    result = recall_precision(y, d, n=100, seed=0)
    assert result["recall"].value is None and result["recall"].low is None
    assert result["precision"].value == 0.0


def test_same_seed_same_interval() -> None:
    y = np.array([1, 0, 1, 1, 0, 0, 1, 0] * 10)
    d = np.array([1, 0, 0, 1, 1, 0, 1, 0] * 10)
    assert recall_precision(y, d, n=200, seed=3) == recall_precision(y, d, n=200, seed=3)


def test_paired_difference_sees_a_small_real_improvement() -> None:
    rng = np.random.default_rng(2)
    rows = 20_000
    y = rng.random(rows) < 0.2
    b = np.where(y, rng.random(rows) < 0.70, rng.random(rows) < 0.15)
    # A flags everything B flags, plus 10% more of the positives B misses
    a = b | (y & (rng.random(rows) < 0.10))
    result = paired_difference(y, a, b, n=1000, seed=0)
    recall = result["recall"]
    assert recall.value == pytest.approx((a & y).sum() / y.sum() - (b & y).sum() / y.sum())
    assert recall.low is not None and recall.low > 0


def test_paired_difference_of_a_model_with_itself_is_exactly_zero() -> None:
    rng = np.random.default_rng(4)
    y = rng.random(500) < 0.2
    d = rng.random(500) < 0.3
    result = paired_difference(y, d, d, n=200, seed=0)
    assert result["recall"].value == 0.0 and result["recall"].low == 0.0 and result["recall"].high == 0.0
