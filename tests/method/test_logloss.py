"""Log loss through the C library's log: scikit-learn's formula, no CPU-dispatched NumPy kernel."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import get_scorer
from sklearn.metrics import log_loss as sklearn_log_loss

from attrition.method.logloss import NEG_LOG_LOSS, log_loss


def labelled(n: int = 500, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    proba = rng.random(n)
    return (rng.random(n) < proba).astype(int), proba


def test_each_log_is_the_c_librarys() -> None:
    y, p = labelled()
    expected = -sum(math.log(q if label else 1 - q) for label, q in zip(y.tolist(), p.tolist(), strict=True))
    assert log_loss(y, p) == pytest.approx(expected / len(y), rel=1e-15)


def test_agrees_with_scikit_learn_within_the_last_bits() -> None:
    y, p = labelled()
    assert log_loss(y, p) == pytest.approx(sklearn_log_loss(y, p, labels=[0, 1]), rel=1e-14)
    two_columns = np.column_stack([1 - p, p])
    assert log_loss(y, two_columns) == log_loss(y, p)


def test_certain_mistakes_are_clipped_like_scikit_learns() -> None:
    y, p = np.array([1, 0]), np.array([0.0, 1.0])
    assert log_loss(y, p) == pytest.approx(sklearn_log_loss(y, p, labels=[0, 1]), rel=1e-14)
    assert math.isfinite(log_loss(y, p))


def test_the_scorer_is_negated_like_neg_log_loss() -> None:
    y, p = labelled(200)
    X = p.reshape(-1, 1)
    model = LogisticRegression().fit(X, y)
    assert NEG_LOG_LOSS(model, X, y) == pytest.approx(get_scorer("neg_log_loss")(model, X, y), rel=1e-14)
    assert NEG_LOG_LOSS(model, X, y) < 0
