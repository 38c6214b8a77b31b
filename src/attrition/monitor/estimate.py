"""Recall and precision before the labels: confidence-based performance estimation (CBPE).

Attrition labels arrive a year after the prediction, so the decay check reads nothing for a year. The
package's scores are calibrated (the champion recalibrates), so each scored employee leaves with
probability p, and the confusion table a window will show is expected from its scores alone
(as NannyML's CBPE computes it, which here equals five lines of numpy):

    E[TP] = sum p * d,   E[FP] = sum (1 - p) * d,   E[FN] = sum p * (1 - d)      (d: flagged)

What is random, and so what the interval covers: given the scores, the realized labels. Flagged rows
add A = sum y*d positives, the others B = sum y*(1 - d), independent sums of Bernoulli(p); realized
recall is A / (A + B) and precision A / flagged. The interval is the 2.5-97.5 percentiles of those
ratios over simulated label sets (binomial draws per score bin, a hair wider than the exact
Poisson-binomial), so the ratio's skew at small counts is kept. Calibration is estimated too: on the
labelled rows the monitor has, each decision side's observed / expected positives (O/E) has a posterior
Gamma(O + 1/2, E); each simulated label set scales that side's scores by a draw from it, and the point
scales them by O/E itself. This matters: on 5,000 labelled version-3 employees the champion's
unflagged side leaves 1.37 times as often as its scores say (O/E 1.19-1.58), so plain CBPE recall is
5 pp too high on the very population it was trained on (bench/bench_cbpe.py). With no labelled rows to
measure it on, the estimate assumes calibration and says so.

What it cannot see: a change in how attrition depends on the inputs (concept shift) leaves the scores,
and so the estimate, unchanged; only the labels show it. Covariate shift it follows, as long as the
calibration holds where the new population lives. So every estimate carries its trust: the calibration
check on labelled rows (realized against estimated, :func:`calibration_check`) and the window's score
drift.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from attrition.method.confidence import LEVEL, Estimate, percentile_interval

METRICS: tuple[str, ...] = ("recall", "precision")
Trust = Literal["calibrated", "calibration_off", "calibration_unchecked"]
CAVEAT = (
    "CBPE sees covariate shift, not a change in how attrition depends on the inputs; "
    "it holds only while the scores stay calibrated"
)


@dataclass(frozen=True)
class SideRatio:
    """Observed / expected positives on one decision side of labelled rows, with its 95% interval."""

    observed: int
    expected: float
    value: float | None
    low: float | None
    high: float | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "observed": self.observed,
            "expected": self.expected,
            "value": self.value,
            "ci95": [self.low, self.high],
        }


@dataclass(frozen=True)
class Calibration:
    """O/E on the flagged and the unflagged side of labelled rows: what scales the simulated labels."""

    flagged: SideRatio
    unflagged: SideRatio
    rows: int

    def as_dict(self) -> dict[str, Any]:
        return {"rows": self.rows, "flagged": self.flagged.as_dict(), "unflagged": self.unflagged.as_dict()}


def expected_cells(probabilities: np.ndarray, decided: np.ndarray) -> dict[str, float]:
    """CBPE's expected confusion cells from calibrated scores alone."""
    p = np.asarray(probabilities, dtype=float)
    d = np.asarray(decided, dtype=bool)
    return {
        "tp": float(p[d].sum()),
        "fp": float((1 - p[d]).sum()),
        "fn": float(p[~d].sum()),
        "tn": float((1 - p[~d]).sum()),
    }


def point_estimates(
    probabilities: np.ndarray, decided: np.ndarray, calibration: Calibration | None = None
) -> dict[str, float | None]:
    """Expected recall E[TP] / (E[TP] + E[FN]) and precision E[TP] / flagged (None when undefined).

    With `calibration`, each side's expected positives are scaled by its measured O/E first (the
    centre of the interval's simulation): plain CBPE when the scores are calibrated, corrected when
    the labelled rows showed they are not.
    """
    cells = expected_cells(probabilities, decided)
    flagged = cells["tp"] + cells["fp"]
    hits, missed = cells["tp"], cells["fn"]
    if calibration is not None:
        hits *= calibration.flagged.value if calibration.flagged.value is not None else 1.0
        missed *= calibration.unflagged.value if calibration.unflagged.value is not None else 1.0
    return {
        "recall": hits / (hits + missed) if hits + missed > 0 else None,
        "precision": min(1.0, hits / flagged) if flagged > 0 else None,
    }


def side_ratio(labels: np.ndarray, probabilities: np.ndarray, level: float = LEVEL) -> SideRatio:
    """O/E with the equal-tailed interval of its Jeffreys-style Gamma(O + 1/2, E) posterior."""
    observed = int(np.asarray(labels).sum())
    expected = float(np.asarray(probabilities, dtype=float).sum())
    if expected <= 0:
        return SideRatio(observed, expected, None, None, None)
    draws = np.random.default_rng(0).gamma(observed + 0.5, 1 / expected, size=20000)
    low, high = percentile_interval(draws, level)
    return SideRatio(observed, expected, observed / expected, low, high)


def calibration_of(labels: np.ndarray, probabilities: np.ndarray, decided: np.ndarray) -> Calibration:
    """O/E per decision side on labelled rows (the scale the estimate's simulation draws around)."""
    y = np.asarray(labels, dtype=int)
    p = np.asarray(probabilities, dtype=float)
    d = np.asarray(decided, dtype=bool)
    return Calibration(side_ratio(y[d], p[d]), side_ratio(y[~d], p[~d]), len(y))


def _bins(probabilities: np.ndarray, bins: int) -> tuple[np.ndarray, np.ndarray]:
    """(rows, mean score) of up to `bins` equal-count bins of sorted scores."""
    p = np.sort(np.asarray(probabilities, dtype=float))
    if p.size == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    chunks = np.array_split(p, min(bins, p.size))
    return np.array([c.size for c in chunks], dtype=np.int64), np.array([c.mean() for c in chunks])


def _side_positives(
    probabilities: np.ndarray, scale: np.ndarray, rng: np.random.Generator, bins: int
) -> np.ndarray:
    """Simulated positives on one side: one binomial per score bin per draw, scores times `scale`."""
    rows, means = _bins(probabilities, bins)
    if rows.size == 0:
        return np.zeros(scale.size, dtype=np.int64)
    chances = np.clip(means[None, :] * scale[:, None], 0.0, 1.0)
    return np.asarray(rng.binomial(rows[None, :], chances).sum(axis=1), dtype=np.int64)


def _scales(side: SideRatio | None, n: int, rng: np.random.Generator) -> np.ndarray:
    if side is None or side.expected <= 0:
        return np.ones(n)
    return rng.gamma(side.observed + 0.5, 1 / side.expected, size=n)


def estimate_rates(
    probabilities: np.ndarray,
    decided: np.ndarray,
    *,
    calibration: Calibration | None,
    n: int,
    seed: int,
    bins: int,
    level: float = LEVEL,
) -> dict[str, Estimate]:
    """Estimated recall and precision with the realized figures' predictive interval.

    With `calibration` None the scores are taken at their word (plain CBPE, as NannyML computes it);
    with it, the point and the interval carry each decision side's measured O/E and its uncertainty.
    ``support`` is what the figure is a share of: expected positives (rounded) for recall, flagged
    rows for precision. `bins` equal-count score bins per decision side (monitor.estimate.score_bins)
    stand for the rows in the label simulation.
    """
    p = np.asarray(probabilities, dtype=float)
    d = np.asarray(decided, dtype=bool)
    rng = np.random.default_rng(seed)
    flagged_scale = _scales(None if calibration is None else calibration.flagged, n, rng)
    unflagged_scale = _scales(None if calibration is None else calibration.unflagged, n, rng)
    hits = _side_positives(p[d], flagged_scale, rng, bins)
    missed = _side_positives(p[~d], unflagged_scale, rng, bins)
    flagged = int(d.sum())
    with np.errstate(invalid="ignore", divide="ignore"):
        draws = {
            "recall": np.where(hits + missed > 0, hits / np.maximum(hits + missed, 1), np.nan),
            "precision": np.full(n, np.nan) if flagged == 0 else hits / flagged,
        }
    points = point_estimates(p, d, calibration)
    supports = {"recall": round(float(p.sum())), "precision": flagged}
    result: dict[str, Estimate] = {}
    for metric in METRICS:
        low, high = percentile_interval(draws[metric], level)
        result[metric] = Estimate(points[metric], low, high, supports[metric])
    return result


@dataclass(frozen=True)
class Agreement:
    """Realized against estimated on the same labelled rows: is the calibration good enough to trust?"""

    metric: str
    realized: Estimate
    estimated: Estimate  # interval assumes calibration: the realized figure's spread if calibrated
    tolerance: float

    @property
    def sufficient(self) -> bool:
        return self.realized.value is not None and self.estimated.low is not None

    @property
    def off(self) -> bool:
        """Realized outside the calibrated interval widened by `tolerance`: off by more than tolerated.

        Under calibration, realized falls outside the bare interval in ~5% of windows; outside it
        widened by the tolerance (the decay check's 5 pp) far less often.
        """
        if not self.sufficient:
            return False
        assert self.realized.value is not None and self.estimated.low is not None
        assert self.estimated.high is not None
        return not (
            self.estimated.low - self.tolerance <= self.realized.value <= self.estimated.high + self.tolerance
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "realized": self.realized.as_dict(),
            "estimated": self.estimated.as_dict(),
            "error": None
            if self.realized.value is None or self.estimated.value is None
            else self.estimated.value - self.realized.value,
            "tolerance": self.tolerance,
        }
