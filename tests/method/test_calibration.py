"""The recalibration map: strictly increasing everywhere, fitted from labels, a faithful last step."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import expit
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from attrition.method.calibration import (
    IDENTITY,
    LogOddsMap,
    RecalibratedClassifier,
    fit_isotonic,
    fit_map,
    fit_platt,
)


def overconfident_sample(n: int = 4000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Raw log-odds that are twice the true log-odds: a classifier that is too sure of itself."""
    rng = np.random.default_rng(seed)
    true_log_odds = rng.normal(-1.0, 1.2, n)
    y = (rng.random(n) < expit(true_log_odds)).astype(int)
    return 2.0 * true_log_odds, y


def test_map_interpolates_between_knots_and_extends_the_end_segments() -> None:
    knots = LogOddsMap((0.0, 1.0, 3.0), (0.0, 2.0, 3.0))
    got = knots.log_odds(np.array([-1.0, 0.5, 2.0, 5.0]))
    # left of 0: slope 2; between 1 and 3: slope 1/2, continued to the right
    assert got == pytest.approx([-2.0, 1.0, 2.5, 4.0])


@pytest.mark.parametrize(
    ("x", "y"),
    [((0.0,), (0.0,)), ((0.0, 1.0), (1.0, 1.0)), ((1.0, 0.0), (0.0, 1.0)), ((0.0, np.inf), (0.0, 1.0))],
)
def test_map_refuses_knots_that_would_tie_or_reverse_scores(
    x: tuple[float, ...], y: tuple[float, ...]
) -> None:
    with pytest.raises(ValueError, match="knots"):
        LogOddsMap(x, y)


def test_identity_map_returns_the_classifier_probability() -> None:
    raw = np.linspace(-6, 6, 13)
    assert IDENTITY.probability(raw) == pytest.approx(expit(raw))


@pytest.mark.parametrize("method", ["platt", "isotonic"])
def test_fitted_maps_are_strictly_increasing_and_keep_the_ranking(method: str) -> None:
    raw, y = overconfident_sample()
    fitted = fit_map(method, raw, y)
    grid = np.linspace(-30, 30, 2001)
    assert np.all(np.diff(fitted.log_odds(grid)) > 0)
    assert roc_auc_score(y, fitted.probability(raw)) == pytest.approx(roc_auc_score(y, raw), abs=1e-12)


@pytest.mark.parametrize("method", ["platt", "isotonic"])
def test_fitted_maps_undo_overconfidence(method: str) -> None:
    raw, y = overconfident_sample()
    fresh_raw, fresh_y = overconfident_sample(seed=1)
    fitted = fit_map(method, raw, y)

    def mean_abs_error_by_decile(probability: np.ndarray) -> float:
        bins = np.array_split(np.argsort(probability), 10)
        return float(np.mean([abs(probability[b].mean() - fresh_y[b].mean()) for b in bins]))

    assert mean_abs_error_by_decile(fitted.probability(fresh_raw)) < 0.5 * mean_abs_error_by_decile(
        expit(fresh_raw)
    )


def test_platt_recovers_a_known_slope_and_intercept() -> None:
    raw, y = overconfident_sample(n=20000)
    fitted = fit_platt(raw, y)
    slope = (fitted.y[1] - fitted.y[0]) / (fitted.x[1] - fitted.x[0])
    assert slope == pytest.approx(0.5, abs=0.05)
    assert fitted.y[0] == pytest.approx(0.0, abs=0.05)


def test_platt_refuses_scores_that_rank_positives_lower() -> None:
    raw, y = overconfident_sample()
    with pytest.raises(ValueError, match="slope"):
        fit_platt(-raw, y)


def test_isotonic_knots_are_finite_even_when_end_blocks_are_pure() -> None:
    raw = np.array([-3.0, -2.0, -1.0, 0.0, 1.0, 2.0, 3.0, 4.0])
    y = np.array([0, 0, 0, 1, 0, 1, 1, 1])
    fitted = fit_isotonic(raw, y)
    assert all(np.isfinite(fitted.y)) and len(fitted.x) >= 2
    # the first block (three negatives) gets the Jeffreys rate 0.5 / 4 instead of 0
    assert expit(fitted.y[0]) == pytest.approx(0.5 / 4)


def test_isotonic_refuses_scores_without_any_ranking() -> None:
    with pytest.raises(ValueError, match="single block"):
        fit_isotonic(np.array([0.0, 1.0, 2.0, 3.0]), np.array([1, 1, 0, 0]))


def test_unknown_method_is_refused_with_the_allowed_ones() -> None:
    with pytest.raises(ValueError, match="allowed: none, platt, isotonic"):
        fit_map("beta", np.zeros(3), np.zeros(3))


def test_recalibrated_classifier_applies_the_map_after_the_classifier() -> None:
    rng = np.random.default_rng(3)
    X = rng.normal(size=(300, 2))
    y = (X[:, 0] + rng.normal(size=300) > 0).astype(int)
    knots = LogOddsMap((-1.0, 0.0, 2.0), (-2.0, -0.5, 1.0), "isotonic")
    model = RecalibratedClassifier(LogisticRegression(), knots.x, knots.y, knots.method).fit(X, y)
    plain = LogisticRegression().fit(X, y)
    expected = knots.probability(plain.decision_function(X))
    proba = model.predict_proba(X)
    assert proba[:, 1] == pytest.approx(expected, abs=1e-12)
    assert proba.sum(axis=1) == pytest.approx(np.ones(300))
    assert set(model.predict(X)) <= {0, 1}
    assert model.log_odds_map == knots
