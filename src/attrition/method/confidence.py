"""Intervals for the figures models are judged by, shared by evaluate, the promotion gate and the monitor.

Every verdict about recall or precision is made on a finite sample; the figure alone says nothing about
whether a difference is real. These functions return the estimate together with a percentile-bootstrap
interval and the count it rests on. Gaps between groups are not bootstrapped here: the range of noisy
group recalls is biased upward and a percentile bootstrap carries that bias into its interval, so they
have their own analytic method in :mod:`attrition.method.groups`.

Resampling rows with replacement and recounting a confusion table is the same as drawing the table's
cell counts from a multinomial with the observed cell shares, so the bootstrap here draws cell counts
directly: exact, and O(cells) per resample instead of O(rows) (a million-row window costs the same as
a 160-row hold-out).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

LEVEL = 0.95


@dataclass(frozen=True)
class Estimate:
    """A rate with its interval. ``value`` is None when undefined (e.g. recall with no positives)."""

    value: float | None
    low: float | None
    high: float | None
    support: int  # how many rows the rate is a share of: positives for recall, flagged rows for precision

    def as_dict(self) -> dict[str, Any]:
        return {"value": self.value, "ci95": [self.low, self.high], "support": self.support}


def percentile_interval(samples: np.ndarray, level: float = LEVEL) -> tuple[float | None, float | None]:
    """Percentile interval over the finite bootstrap draws (None when no draw is defined)."""
    finite = samples[np.isfinite(samples)]
    if finite.size == 0:
        return None, None
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(finite, [tail, 100 - tail])
    return float(low), float(high)


def _resample_cells(counts: np.ndarray, n: int, seed: int) -> np.ndarray:
    """`n` bootstrap draws of a table of cell counts: shape (n, *counts.shape)."""
    flat = counts.reshape(-1).astype(np.int64)
    total = int(flat.sum())
    if total == 0:
        return np.zeros((n, *counts.shape), dtype=np.int64)
    rng = np.random.default_rng(seed)
    return rng.multinomial(total, flat / total, size=n).reshape(n, *counts.shape)


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denominator > 0, numerator / np.maximum(denominator, 1), np.nan)


def confusion_cells(y_true: np.ndarray, decided: np.ndarray) -> np.ndarray:
    """[[TN, FP], [FN, TP]] as a 2x2 integer array (rows: truth, columns: decision)."""
    y = np.asarray(y_true).astype(bool)
    d = np.asarray(decided).astype(bool)
    return np.array(
        [
            [np.count_nonzero(~y & ~d), np.count_nonzero(~y & d)],
            [np.count_nonzero(y & ~d), np.count_nonzero(y & d)],
        ],
        dtype=np.int64,
    )


def _recall_of(cells: np.ndarray) -> np.ndarray:
    return _ratio(cells[..., 1, 1], cells[..., 1, 0] + cells[..., 1, 1])


def _precision_of(cells: np.ndarray) -> np.ndarray:
    return _ratio(cells[..., 1, 1], cells[..., 0, 1] + cells[..., 1, 1])


def recall_precision(
    y_true: np.ndarray, decided: np.ndarray, *, n: int, seed: int, level: float = LEVEL
) -> dict[str, Estimate]:
    """Recall and precision at one operating point, each with a bootstrap interval over rows."""
    cells = confusion_cells(y_true, decided)
    draws = _resample_cells(cells, n, seed)
    result: dict[str, Estimate] = {}
    for name, rate, support in (
        ("recall", _recall_of, int(cells[1].sum())),
        ("precision", _precision_of, int(cells[:, 1].sum())),
    ):
        value = rate(cells)
        low, high = percentile_interval(rate(draws), level)
        result[name] = Estimate(None if np.isnan(value) else float(value), low, high, support)
    return result


def paired_difference(
    y_true: np.ndarray,
    decided_a: np.ndarray,
    decided_b: np.ndarray,
    *,
    n: int,
    seed: int,
    level: float = LEVEL,
) -> dict[str, Estimate]:
    """Recall and precision of A minus B on the same rows, with paired-bootstrap intervals.

    Pairing (resampling the rows both models scored, not each model's figures separately) removes the
    row-to-row noise both share, which is what makes a small real difference visible.
    """
    y = np.asarray(y_true).astype(bool)
    a = np.asarray(decided_a).astype(bool)
    b = np.asarray(decided_b).astype(bool)
    # joint[truth, a, b]: every row falls in exactly one of eight cells
    joint = np.zeros((2, 2, 2), dtype=np.int64)
    np.add.at(joint, (y.astype(int), a.astype(int), b.astype(int)), 1)
    draws = _resample_cells(joint, n, seed)

    def rates(table: np.ndarray) -> dict[str, np.ndarray]:
        tp_a, tp_b = table[..., 1, 1, :].sum(-1), table[..., 1, :, 1].sum(-1)
        positives = table[..., 1, :, :].sum((-1, -2))
        flagged_a, flagged_b = table[..., :, 1, :].sum((-1, -2)), table[..., :, :, 1].sum((-1, -2))
        return {
            "recall": _ratio(tp_a, positives) - _ratio(tp_b, positives),
            "precision": _ratio(tp_a, flagged_a) - _ratio(tp_b, flagged_b),
        }

    observed, resampled = rates(joint), rates(draws)
    result: dict[str, Estimate] = {}
    for name in ("recall", "precision"):
        value = float(observed[name])
        low, high = percentile_interval(resampled[name], level)
        support = (
            int(joint[1].sum()) if name == "recall" else int(joint[:, 1, :].sum() + joint[:, :, 1].sum())
        )
        result[name] = Estimate(None if np.isnan(value) else value, low, high, support)
    return result
