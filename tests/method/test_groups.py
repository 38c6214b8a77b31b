"""Between-group recall comparisons: published interval values, coverage, the bias the old range had."""

from __future__ import annotations

import numpy as np
import pytest

from attrition.method.groups import bias_outcomes, claim_alpha, compare_groups, gap_arrays, newcombe, wilson
from tests.support.bands import rows_with_band_recalls

Z95 = 1.959964


def test_wilson_and_newcombe_reproduce_the_published_examples() -> None:
    low, high = wilson(np.array(8), np.array(10), Z95)
    assert (round(float(low), 4), round(float(high), 4)) == (0.4902, 0.9433)
    # Newcombe (1998), Table II, method 10: 56/70 - 48/80 and 9/10 - 3/10
    for counts, expected in (((56, 70, 48, 80), (0.0524, 0.3339)), ((9, 10, 3, 10), (0.1705, 0.8090))):
        _, low, high = newcombe(*(np.array(c) for c in counts), Z95)
        assert (round(float(low), 4), round(float(high), 4)) == expected


def test_compare_groups_figures_and_claims() -> None:
    y, d, g = rows_with_band_recalls({"<30": 0.9, "30-44": 0.6, "45+": 0.75}, 200)
    result = compare_groups(y, d, g, alpha=0.05, min_positives=100)
    assert result.by_group["<30"].value == pytest.approx(0.9) and result.by_group["<30"].support == 200
    assert result.observed_range == pytest.approx(0.3)
    assert set(result.pairs) == {"30-44 - 45+", "30-44 - <30", "45+ - <30"}
    gap = result.gap
    assert gap.low is not None and gap.high is not None and gap.value is not None
    assert gap.low < gap.value <= 0.3 < gap.high and gap.support == 600
    assert result.level == pytest.approx(0.9) and result.sufficient
    assert result.exceeds(0.05) and not result.within(0.05)
    assert result.as_dict()["gap"]["observed_range"] == pytest.approx(0.3)


def test_equal_groups_are_not_called_unfair_and_the_point_is_not_the_range() -> None:
    y, d, g = rows_with_band_recalls({"a": 0.75, "b": 0.75, "c": 0.75}, 2000)
    result = compare_groups(y, d, g, alpha=0.05, min_positives=100)
    assert result.gap.value == 0.0 and result.gap.low == 0.0
    assert result.gap.high is not None and result.gap.high < 0.05 and result.within(0.05)


def test_undefined_groups() -> None:
    y = np.array([1, 1, 0, 0])
    d = np.array([1, 0, 1, 0])
    result = compare_groups(y, d, np.array(["a", "a", "b", "b"]), alpha=0.05, min_positives=1)
    assert result.by_group["b"].value is None and result.gap.value is None
    assert not result.sufficient and not result.exceeds(0.0) and not result.within(1.0)
    single = compare_groups(y, d, np.array(["a"] * 4), alpha=0.05, min_positives=1)
    assert single.gap.value is None and single.pairs == {}


def test_vectorised_gap_matches_the_single_comparison() -> None:
    y, d, g = rows_with_band_recalls({"<30": 0.8, "30-44": 0.7, "45+": 0.72}, 150)
    result = compare_groups(y, d, g, alpha=0.05, min_positives=1)
    names = sorted(result.by_group)
    hits = np.array([[round(result.by_group[n].value * 150) for n in names]])
    point, low, high, observed = gap_arrays(hits, np.full((1, 3), 150), 0.05)
    assert (point[0], low[0], high[0], observed[0]) == pytest.approx(
        (result.gap.value, result.gap.low, result.gap.high, result.observed_range)
    )


def test_coverage_and_bias_on_simulated_samples() -> None:
    """Equal true recalls, ~200 positives per band: the old range averaged ~5 pp; the interval covers 0."""
    rng = np.random.default_rng(0)
    positives = np.full((4000, 3), 200)
    hits = rng.binomial(positives, 0.75)
    point, low, high, observed = gap_arrays(hits, positives, 0.05)
    assert np.mean((low <= 0.0) & (high >= 0.0)) >= 0.9
    assert observed.mean() > 0.045 and point.mean() < 0.6 * observed.mean()
    assert np.mean(low > 0.02) <= 0.05  # a fair model is called over 2 pp in <= alpha of samples
    # a 13 pp true gap: the interval still covers it
    shifted = rng.binomial(positives, np.array([0.80, 0.79, 0.67]))
    _, low, high, _ = gap_arrays(shifted, positives, 0.05)
    assert np.mean((low <= 0.13) & (high >= 0.13)) >= 0.9


def test_bias_outcomes_by_burden() -> None:
    """Bounds (candidate low, candidate high, production low) -> the gate's outcome, for both burdens."""
    c_low = np.array([0.00, 0.03, 0.03, 0.00, np.nan])
    c_high = np.array([0.015, 0.10, 0.10, 0.08, np.nan])
    p_low = np.array([0.0, 0.0, 0.09, 0.0, 0.0])  # third: production at least 9 pp, so no worse
    common = {"thin": np.zeros(5, bool), "limit": 0.02, "margin": 0.02}
    unfair = bias_outcomes(c_low, c_high, p_low, burden="unfairness", **common)
    assert unfair.tolist() == ["pass", "fail", "pass", "pass", "insufficient_evidence"]
    fair = bias_outcomes(c_low, c_high, p_low, burden="fairness", **common)
    assert fair.tolist() == ["pass", "fail", "pass", "insufficient_evidence", "insufficient_evidence"]
    thin = bias_outcomes(c_low, c_high, p_low, burden="unfairness", **{**common, "thin": np.ones(5, bool)})
    assert set(thin.tolist()) == {"insufficient_evidence"}
    assert claim_alpha(0.05, "unfairness") == 0.05 and claim_alpha(0.05, "fairness") == 0.025
