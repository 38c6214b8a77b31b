"""Recall compared between groups (age bands): the one implementation evaluate, the gate and the monitor use.

Why not the range (max - min) of the observed recalls with a percentile bootstrap, as before: the
largest of several noisy differences is biased upward (three bands of equal true recall with ~200
positives each show a range of ~5 pp on average), and a percentile bootstrap of a biased statistic
carries the bias into its interval, which then missed the truth. The method here is analytic, cheap
and has a stated error rate:

* each group's recall with a Wilson score interval (Wilson 1927; recommended over Wald by Brown, Cai
  & DasGupta 2001, Statist. Sci. 16:101-133);
* every pairwise difference d_ij = r_i - r_j with Newcombe's hybrid score interval (Newcombe 1998,
  Stat. Med. 17:873-890, method 10), Bonferroni-adjusted over the m = k(k-1)/2 pairs: each pair's
  interval is two-sided at 1 - 2*alpha/m, so all hold together with probability >= 1 - 2*alpha;
* the gap G = max_ij |d_ij| (= max - min of the true recalls) lies in
  [max_ij dist(0, I_ij), max_ij max |I_ij|] whenever every pairwise interval holds: coverage of the
  true gap >= 1 - 2*alpha by construction, with no resampling;
* the point shown is the positive-part moment estimate max_ij sqrt(max(0, d_ij^2 - v_ij)), where v_ij
  is the unbiased variance estimate of d_ij (so d^2 - v is unbiased for the squared difference; the
  positive part as for tau^2 in DerSimonian & Laird 1986). The observed range is kept for reference.

Claims, each with error rate <= alpha (one-sided, family-wise over the pairs):

* ``exceeds(L)``: the lower bound is above L (a family whose true gap is <= L is called over it in
  <= alpha of samples, plus the far-tail term P(Z > z + 2L/se), negligible for L > 0);
* ``within(L)``: the upper bound is <= L: every pair's TOST (Schuirmann 1987) at alpha, combined as an
  intersection-union test (Berger 1982), which needs no adjustment; the Bonferroni-adjusted
  intervals make it conservative, in exchange for one set of intervals that is shown and decided on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations
from statistics import NormalDist
from typing import Any

import numpy as np

from attrition.method.confidence import LEVEL, Estimate

METHOD = (
    "Wilson per group; Newcombe hybrid score interval per pair, Bonferroni over pairs; "
    "gap = max |pairwise difference|, point = positive-part moment estimate"
)


def wilson(hits: np.ndarray, n: np.ndarray, z: float) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval of hits/n (NaN where n == 0); vectorised over arrays of counts."""
    hits, n = np.asarray(hits, dtype=float), np.asarray(n, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = hits / n
        denominator = 1 + z * z / n
        centre = (p + z * z / (2 * n)) / denominator
        half = z / denominator * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return centre - half, centre + half


def newcombe(
    hits_a: np.ndarray, n_a: np.ndarray, hits_b: np.ndarray, n_b: np.ndarray, z: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Difference of two independent proportions a - b with Newcombe's hybrid score interval."""
    low_a, high_a = wilson(hits_a, n_a, z)
    low_b, high_b = wilson(hits_b, n_b, z)
    with np.errstate(invalid="ignore", divide="ignore"):
        p_a, p_b = np.asarray(hits_a) / n_a, np.asarray(hits_b) / n_b
    d = p_a - p_b
    low = d - np.sqrt((p_a - low_a) ** 2 + (high_b - p_b) ** 2)
    high = d + np.sqrt((high_a - p_a) ** 2 + (p_b - low_b) ** 2)
    return d, low, high


def pair_z(alpha: float, groups: int) -> float:
    """Normal quantile for a two-sided 1 - 2*alpha/m interval per pair (Bonferroni over m pairs)."""
    pairs = max(1, groups * (groups - 1) // 2)
    return NormalDist().inv_cdf(1 - alpha / pairs)


def gap_arrays(
    hits: np.ndarray, positives: np.ndarray, alpha: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(corrected gap, low, high, observed range) for count tables of shape (..., groups).

    Vectorised over leading axes, so a benchmark judges thousands of samples at once. Groups without
    positives are left out; fewer than two defined groups give NaN.
    """
    hits = np.asarray(hits, dtype=float)
    positives = np.asarray(positives, dtype=float)
    k = hits.shape[-1]
    z = pair_z(alpha, k)
    pairs = list(combinations(range(k), 2))
    first, second = [a for a, _ in pairs], [b for _, b in pairs]
    d, low, high = newcombe(
        hits[..., first], positives[..., first], hits[..., second], positives[..., second], z
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        p = hits / positives
        variance = p * (1 - p) / np.maximum(positives - 1, 1)
        corrected = np.sqrt(np.maximum(0.0, d * d - variance[..., first] - variance[..., second]))
    low_abs = np.where(low > 0, low, np.where(high < 0, -high, 0.0))
    high_abs = np.maximum(np.abs(low), np.abs(high))
    defined = np.isfinite(d)
    enough = defined.any(axis=-1)

    def largest(values: np.ndarray) -> np.ndarray:
        return np.where(enough, np.where(defined, values, -np.inf).max(axis=-1), np.nan)

    gap_low, gap_high = largest(low_abs), largest(high_abs)
    point = np.clip(largest(corrected), gap_low, gap_high)
    observed = largest(np.abs(d))
    return point, gap_low, gap_high, observed


@dataclass(frozen=True)
class GroupComparison:
    """Recall per group and the gap between groups, with the declared error rate of every claim."""

    by_group: dict[str, Estimate]  # recall, its own 95% Wilson interval, positives
    pairs: dict[str, Estimate]  # "a - b": difference with its simultaneous interval
    gap: Estimate  # bias-corrected value, simultaneous interval, total positives
    observed_range: float | None  # max - min of the observed recalls: biased upward, for reference
    alpha: float
    min_positives: int

    @property
    def level(self) -> float:
        """Simultaneous coverage of the pairwise intervals, hence of the gap's interval."""
        return round(1 - 2 * self.alpha, 6)  # 0.9, not 0.8999999999999999, in every document

    @property
    def sufficient(self) -> bool:
        """Every group has at least `min_positives` positives: only then is a verdict given."""
        return all(estimate.support >= self.min_positives for estimate in self.by_group.values())

    def exceeds(self, limit: float) -> bool:
        """Shown above `limit` (wrongly so in <= alpha of samples when the true gap is <= limit)."""
        return self.gap.low is not None and self.gap.low > limit

    def within(self, limit: float) -> bool:
        """Shown within `limit` (wrongly so in <= alpha of samples when the true gap is > limit)."""
        return self.gap.high is not None and self.gap.high <= limit

    def as_dict(self) -> dict[str, Any]:
        return {
            "by_group": {name: estimate.as_dict() for name, estimate in self.by_group.items()},
            "pairs": {
                name: {"value": e.value, "interval": [e.low, e.high]} for name, e in self.pairs.items()
            },
            "gap": {
                "value": self.gap.value,
                "interval": [self.gap.low, self.gap.high],
                "positives": self.gap.support,
                "observed_range": self.observed_range,
            },
            "level": self.level,
            "alpha": self.alpha,
            "method": METHOD,
            "min_positives": self.min_positives,
            "sufficient": self.sufficient,
        }


def _float(value: float) -> float | None:
    return None if not np.isfinite(value) else float(value)


def compare_groups(
    y_true: np.ndarray,
    decided: np.ndarray,
    groups: Sequence[str] | np.ndarray,
    *,
    alpha: float,
    min_positives: int,
) -> GroupComparison:
    """Recall per group, every pairwise difference and the gap, by the method of the module docstring."""
    labels = np.asarray(groups).astype(str)
    y = np.asarray(y_true).astype(bool)
    d = np.asarray(decided).astype(bool)
    names = sorted(set(labels.tolist()))
    positives = np.array([np.count_nonzero(y & (labels == g)) for g in names])
    hits = np.array([np.count_nonzero(y & d & (labels == g)) for g in names])
    low95, high95 = wilson(hits, positives, NormalDist().inv_cdf(0.5 + LEVEL / 2))
    by_group = {
        name: Estimate(
            _float(hits[i] / positives[i]) if positives[i] else None,
            _float(low95[i]),
            _float(high95[i]),
            int(positives[i]),
        )
        for i, name in enumerate(names)
    }
    z = pair_z(alpha, len(names))
    pairs: dict[str, Estimate] = {}
    for a, b in combinations(range(len(names)), 2):
        value, low, high = (float(x) for x in newcombe(hits[a], positives[a], hits[b], positives[b], z))
        support = int(positives[a] + positives[b])
        pairs[f"{names[a]} - {names[b]}"] = Estimate(_float(value), _float(low), _float(high), support)
    if len(names) < 2:
        gap = Estimate(None, None, None, int(positives.sum()))
        return GroupComparison(by_group, pairs, gap, None, alpha, min_positives)
    point, gap_low, gap_high, observed = (float(x) for x in gap_arrays(hits, positives, alpha))
    gap = Estimate(_float(point), _float(gap_low), _float(gap_high), int(positives.sum()))
    return GroupComparison(by_group, pairs, gap, _float(observed), alpha, min_positives)


def bias_outcomes(
    candidate_low: np.ndarray,
    candidate_high: np.ndarray,
    production_low: np.ndarray,
    *,
    thin: np.ndarray,
    limit: float,
    margin: float,
    burden: str,
) -> np.ndarray:
    """The gate's bias rule on gap bounds (vectorised, so the benchmark runs the very rule).

    ``no_worse``: candidate gap - production gap shown <= `margin` (candidate's upper bound minus
    production's lower bound). ``burden="unfairness"``: fail only when the candidate's gap is shown
    above `limit` and it is not shown no worse than production; otherwise pass. ``burden="fairness"``:
    pass only when shown within `limit` or no worse than production; fail when shown above `limit`
    (and not no worse); otherwise insufficient_evidence. `thin` (a band below its positives minimum)
    gives insufficient_evidence either way. NaN bounds decide nothing.
    """
    c_low, c_high = np.asarray(candidate_low, dtype=float), np.asarray(candidate_high, dtype=float)
    p_low = np.asarray(production_low, dtype=float)
    no_worse = c_high - p_low <= margin
    above = (c_low > limit) & ~no_worse
    undefined = ~np.isfinite(c_low) | ~np.isfinite(c_high)
    if burden == "unfairness":
        outcome = np.where(above, "fail", "pass")
    else:
        shown_fair = (c_high <= limit) | no_worse
        outcome = np.where(shown_fair, "pass", np.where(above, "fail", "insufficient_evidence"))
    return np.where(np.asarray(thin) | undefined, "insufficient_evidence", outcome)


def claim_alpha(alpha: float, burden: str) -> float:
    """Alpha for the gate's comparisons: under the fairness burden a pass may rest on either of two
    bounds (candidate's upper, production's lower), so each gets alpha/2 and the verdict errs <= alpha.
    """
    return alpha if burden == "unfairness" else alpha / 2
