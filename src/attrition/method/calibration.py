"""A strictly increasing recalibration of a classifier's log-odds, fitted on out-of-fold predictions.

Managers read ``attrition_probability`` as a probability, so the score must be calibrated; the ranking
(ROC AUC, the order of the batch list) must not change. Both hold for any *strictly* increasing map
applied after the classifier. Isotonic regression alone is only non-decreasing: its flat steps tie
scores that the classifier had ordered, which is what cost ROC AUC before.

The map here is piecewise linear in log-odds, with knots as plain numbers, so a data-only (JSON) form
of the model can carry it and the compiled scorer can apply it: ``sigmoid(interp(raw_log_odds))``.
Beyond the end knots it continues the end segments' lines, so it is strictly increasing on the whole
real line. Two methods fill the knots:

* ``platt``: a logistic regression of the label on the raw log-odds (two knots: one line). Two
  parameters estimated from every out-of-fold row: low variance, enough when the classifier is only
  over- or under-confident.
* ``isotonic``: isotonic regression on the raw log-odds, then a line through the centres of its
  blocks (each block's mean log-odds and observed rate). Follows any monotone distortion, at the cost
  of more parameters resting on fewer rows each.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.special import expit, logit
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression

from attrition.canonical_json import canonical_float

METHODS: tuple[str, ...] = ("none", "platt", "isotonic")


@dataclass(frozen=True)
class LogOddsMap:
    """Strictly increasing piecewise-linear map from raw log-odds ``x`` to calibrated log-odds ``y``."""

    x: tuple[float, ...]
    y: tuple[float, ...]
    method: str = "none"

    def __post_init__(self) -> None:
        if len(self.x) != len(self.y) or len(self.x) < 2:
            raise ValueError("a log-odds map needs at least two knots with one y per x")
        if not all(np.isfinite(self.x)) or not all(np.isfinite(self.y)):
            raise ValueError("log-odds knots must be finite numbers")
        if np.any(np.diff(self.x) <= 0) or np.any(np.diff(self.y) <= 0):
            raise ValueError("log-odds knots must be strictly increasing in x and in y")

    def log_odds(self, raw: np.ndarray) -> np.ndarray:
        """Calibrated log-odds: interpolation inside the knots, the end segments' lines outside."""
        x, y = np.asarray(self.x), np.asarray(self.y)
        raw = np.asarray(raw, dtype=np.float64)
        out = np.interp(raw, x, y)
        low_slope = (y[1] - y[0]) / (x[1] - x[0])
        high_slope = (y[-1] - y[-2]) / (x[-1] - x[-2])
        out = np.where(raw < x[0], y[0] + low_slope * (raw - x[0]), out)
        return np.where(raw > x[-1], y[-1] + high_slope * (raw - x[-1]), out)

    def probability(self, raw: np.ndarray) -> np.ndarray:
        """Calibrated probability for raw log-odds."""
        return np.asarray(expit(self.log_odds(raw)))

    def as_dict(self) -> dict[str, Any]:
        """The plain numbers a data-only model form stores."""
        return {"method": self.method, "x": list(self.x), "y": list(self.y)}


IDENTITY = LogOddsMap((0.0, 1.0), (0.0, 1.0), "none")


def fit_platt(raw: np.ndarray, y_true: np.ndarray) -> LogOddsMap:
    """Platt scaling: calibrated log-odds = a * raw + b, fitted by (nearly unpenalised) logistic regression.

    A non-positive slope means the raw scores do not rank positives higher; the map would reverse the
    ranking, so that is refused rather than returned.
    """
    fitted = LogisticRegression(C=1e6, max_iter=1000).fit(np.asarray(raw).reshape(-1, 1), y_true)
    # canonical (attrition.canonical_json): L-BFGS goes through BLAS, whose kernels differ by CPU
    slope, intercept = canonical_float(fitted.coef_[0, 0]), canonical_float(fitted.intercept_[0])
    if slope <= 0:
        raise ValueError(f"Platt slope {slope:.4g} is not positive: the scores do not rank positives higher")
    return LogOddsMap((0.0, 1.0), (intercept, intercept + slope), "platt")


def _block_centres(raw: np.ndarray, y_true: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Isotonic blocks as (mean raw log-odds, positives, rows), ordered by raw log-odds."""
    order = np.argsort(raw, kind="stable")
    raw, y_true = raw[order], y_true[order]
    fitted = IsotonicRegression(out_of_bounds="clip").fit_transform(raw, y_true)
    # A block is a run of equal fitted values; equal raw scores always share a block.
    starts = np.flatnonzero(np.r_[True, np.diff(fitted) != 0])
    rows = np.diff(np.r_[starts, len(raw)])
    centres = np.add.reduceat(raw, starts) / rows
    positives = np.add.reduceat(y_true.astype(np.float64), starts)
    return centres, positives, rows


def fit_isotonic(raw: np.ndarray, y_true: np.ndarray) -> LogOddsMap:
    """Isotonic regression on raw log-odds, then the line through its block centres (log-odds scale).

    Every block is kept, however thin: the scores cluster (a few cells of similar employees), and
    merging thin blocks into their neighbours averages rates of different cells (measured: it doubled
    the calibration error on fresh rows for most dataset versions).
    Pool-adjacent-violators makes block rates strictly increasing, so only the first block can have
    rate 0 and only the last rate 1; those two get a Jeffreys-prior rate ((k + 1/2) / (n + 1)) so
    their log-odds are finite. A block whose smoothed rate no longer increases is dropped.
    """
    centres, positives, rows = _block_centres(np.asarray(raw, dtype=np.float64), np.asarray(y_true))
    if len(centres) < 2:
        raise ValueError("isotonic calibration found a single block: the scores carry no ranking")
    rates = positives / rows
    rates[0] = (positives[0] + 0.5) / (rows[0] + 1.0) if rates[0] <= 0 else rates[0]
    rates[-1] = (positives[-1] + 0.5) / (rows[-1] + 1.0) if rates[-1] >= 1 else rates[-1]
    keep_x: list[float] = []
    keep_y: list[float] = []
    for centre, rate in zip(centres, logit(rates), strict=True):
        if keep_y and rate <= keep_y[-1]:
            continue  # smoothing touched an end block; drop the knot rather than tie
        keep_x.append(float(centre))
        keep_y.append(float(rate))
    if len(keep_x) < 2:
        raise ValueError("isotonic calibration left fewer than two increasing knots")
    return LogOddsMap(tuple(keep_x), tuple(keep_y), "isotonic")


def fit_map(method: str, raw: np.ndarray, y_true: np.ndarray) -> LogOddsMap:
    """The declared method's map fitted on out-of-fold raw log-odds and labels."""
    if method == "none":
        return IDENTITY
    if method == "platt":
        return fit_platt(raw, y_true)
    if method == "isotonic":
        return fit_isotonic(raw, y_true)
    raise ValueError(f"unknown calibration method {method!r}; allowed: {', '.join(METHODS)}")


class RecalibratedClassifier(ClassifierMixin, BaseEstimator):  # type: ignore[misc]
    """A fitted binary classifier followed by a fixed LogOddsMap on its decision function.

    The map is fitted elsewhere (on out-of-fold predictions, never on the rows the classifier was fitted
    on); ``fit`` refits only the classifier. It is the last step of the model Pipeline, so every
    consumer that calls ``predict_proba`` gets calibrated probabilities.
    """

    def __init__(self, classifier: Any, knots_x: Sequence[float], knots_y: Sequence[float], method: str):
        self.classifier = classifier
        self.knots_x = knots_x
        self.knots_y = knots_y
        self.method = method

    @property
    def log_odds_map(self) -> LogOddsMap:
        return LogOddsMap(tuple(self.knots_x), tuple(self.knots_y), self.method)

    def fit(self, X: Any, y: Any) -> RecalibratedClassifier:
        self.classifier_ = clone(self.classifier).fit(X, y)
        self.classes_ = self.classifier_.classes_
        return self

    def decision_function(self, X: Any) -> np.ndarray:
        """Calibrated log-odds."""
        return self.log_odds_map.log_odds(self.classifier_.decision_function(X))

    def predict_proba(self, X: Any) -> np.ndarray:
        positive = expit(self.decision_function(X))
        return np.column_stack([1.0 - positive, positive])

    def predict(self, X: Any) -> np.ndarray:
        return np.asarray(self.classes_)[(self.decision_function(X) > 0).astype(int)]


def model_calibration(model: Any) -> LogOddsMap:
    """The map after the classifier of a fitted preprocess + classifier Pipeline (IDENTITY if none)."""
    steps = getattr(model, "steps", None)
    classifier = steps[-1][1] if steps else model
    return classifier.log_odds_map if isinstance(classifier, RecalibratedClassifier) else IDENTITY
