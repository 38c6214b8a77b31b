"""The paired row bootstrap of two models' precision-recall curves on the same labelled rows.

Pure functions of arrays (no file I/O): the gate's rules read their figures from here. Both curves
are read by the same function at production's operating point, so a candidate identical to
production differs by exactly 0 in every resample and can never be "superior":

* precision at production's recall: on each curve, the best precision among thresholds whose
  recall reaches production's deployed recall (interpolated precision), candidate minus production;
* recall at production's precision: on each curve, the highest recall among thresholds whose
  precision reaches production's deployed precision, candidate minus production.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from attrition.method.confidence import LEVEL, Estimate, percentile_interval


def resample_weights(n_rows: int, n_draws: int, rng: np.random.Generator) -> np.ndarray:
    """`n_draws` bootstrap resamples as counts per row, shape (n_draws, n_rows).

    Counting drawn indices with one bincount is O(rows) per draw; numpy's multinomial over n_rows
    equal cells loops over the cells in Python-visible time.
    """
    drawn = rng.integers(0, n_rows, size=(n_draws, n_rows))
    drawn += (np.arange(n_draws) * n_rows)[:, None]
    return np.bincount(drawn.ravel(), minlength=n_draws * n_rows).reshape(n_draws, n_rows).astype(np.int32)


def _tie_ends(scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows by descending score, and the sorted positions closing each group of tied scores.

    Thresholds only fall between distinct scores: every row of a tie is flagged together.
    """
    order = np.argsort(-scores, kind="stable")
    ordered = scores[order]
    ends = np.flatnonzero(np.r_[ordered[1:] != ordered[:-1], True])
    return order, ends


@dataclass(frozen=True)
class PairedRows:
    """Labelled rows scored by both models: the input of every paired comparison."""

    y: np.ndarray  # bool
    candidate_scores: np.ndarray
    production_scores: np.ndarray
    candidate_threshold: float
    production_threshold: float
    bands: np.ndarray  # age-band label per row (str)

    @property
    def candidate_decided(self) -> np.ndarray:
        return np.asarray(self.candidate_scores >= self.candidate_threshold)

    @property
    def production_decided(self) -> np.ndarray:
        return np.asarray(self.production_scores >= self.production_threshold)


def _curve_reads(
    weights: np.ndarray,
    positive: np.ndarray,
    tied: tuple[np.ndarray, np.ndarray],
    target_tp: np.ndarray,
    target_flagged: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Read one model's PR curve, per resample, at production's (recall, precision) point.

    Returns (best precision among thresholds with TP >= target_tp, best recall among thresholds with
    precision >= target_tp / target_flagged). Comparisons are on integer counts, not floats, so a
    curve read at its own operating point returns exactly that point.
    """
    order, ends = tied
    # int32 over the (resamples x rows) arrays (counts never exceed the row count), int64 once cut
    ordered = weights[:, order]
    flagged = np.cumsum(ordered, axis=1, dtype=np.int32)[:, ends].astype(np.int64)
    ordered *= positive[order]
    tp = np.cumsum(ordered, axis=1, dtype=np.int32)[:, ends].astype(np.int64)
    positives = tp[:, -1]
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(flagged > 0, tp / np.maximum(flagged, 1), 0.0)
        recall = tp / np.maximum(positives, 1)[:, None]
    reaches_recall = tp >= target_tp[:, None]
    best_precision = np.where(reaches_recall, precision, -np.inf).max(axis=1)
    reaches_precision = (tp * target_flagged[:, None] >= target_tp[:, None] * flagged) & (flagged > 0)
    best_recall = np.where(reaches_precision, recall, 0.0).max(axis=1)
    undefined = (positives == 0) | (target_flagged == 0)
    return np.where(undefined, np.nan, best_precision), np.where(undefined, np.nan, best_recall)


Ties = tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


def score_ties(rows: PairedRows) -> Ties:
    """Both models' score order and tie ends: they depend on the scores only, not on a resample."""
    return _tie_ends(rows.candidate_scores), _tie_ends(rows.production_scores)


def paired_curve_draws(
    rows: PairedRows, weights: np.ndarray, ties: Ties | None = None
) -> dict[str, np.ndarray]:
    """Candidate minus production for the two curve reads, one value per resample.

    `weights` holds one resample per row (counts per evaluation row); ones give the observed values.
    `ties` (:func:`score_ties`) is computed here when not given; the bootstrap passes it to every chunk.
    """
    tie_c, tie_p = score_ties(rows) if ties is None else ties
    w = weights.astype(np.int32, copy=False)
    positive = rows.y.astype(np.int32)
    decided_p = rows.production_decided.astype(np.int32)
    target_tp = (w @ (positive * decided_p)).astype(np.int64)
    target_flagged = (w @ decided_p).astype(np.int64)
    reads_c = _curve_reads(w, positive, tie_c, target_tp, target_flagged)
    reads_p = _curve_reads(w, positive, tie_p, target_tp, target_flagged)
    return {
        "precision_at_production_recall": reads_c[0] - reads_p[0],
        "recall_at_production_precision": reads_c[1] - reads_p[1],
        "candidate_precision_at_production_recall": reads_c[0],
        "candidate_recall_at_production_precision": reads_c[1],
        "production_precision": reads_p[0],
        "production_recall": reads_p[1],
    }


def paired_curve_differences(
    rows: PairedRows, *, n: int, seed: int, chunk_cells: int, level: float = LEVEL
) -> dict[str, Estimate]:
    """Observed values and paired row-bootstrap intervals of :func:`paired_curve_draws`.

    Resampling whole rows keeps each row's label and both scores together (the pairing), and is
    exact for curve reads that a cell-count bootstrap cannot express. Memory stays bounded: at most
    `chunk_cells` (rows x resamples) weights are held at once.
    """
    n_rows = len(rows.y)
    ties = score_ties(rows)
    observed = paired_curve_draws(rows, np.ones((1, n_rows), dtype=np.int32), ties)
    rng = np.random.default_rng(seed)
    per_chunk = max(1, chunk_cells // max(n_rows, 1))
    collected: dict[str, list[np.ndarray]] = {name: [] for name in observed}
    done = 0
    while done < n:
        size = min(per_chunk, n - done)
        for name, values in paired_curve_draws(rows, resample_weights(n_rows, size, rng), ties).items():
            collected[name].append(values)
        done += size
    support = int(rows.y.sum())
    result: dict[str, Estimate] = {}
    for name, values in observed.items():
        low, high = percentile_interval(np.concatenate(collected[name]), level)
        value = float(values[0])
        result[name] = Estimate(None if np.isnan(value) else value, low, high, support)
    return result
