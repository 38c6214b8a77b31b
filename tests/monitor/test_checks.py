"""The verdict rules: declared minimums first, then thresholds; intervals decide decay and fairness."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from attrition.method.confidence import Estimate
from attrition.method.groups import compare_groups
from attrition.method.psi import profile_column
from attrition.modelpkg.reference import Baseline, Reference
from attrition.monitor.checks import (
    applicable_threshold,
    decay_check,
    drift_check,
    drift_checks,
    duration_seconds,
    fairness_check,
    labelled_checks,
    worst,
)
from attrition.params import MonitorParams, PsiThreshold
from tests.support.bands import rows_with_band_recalls

THRESHOLDS = [PsiThreshold(min_rows=500, psi=0.2), PsiThreshold(min_rows=2000, psi=0.1)]
BASELINE = Baseline(0.34, 0.33, 0.35, 7500)


@pytest.mark.parametrize(("rows", "level"), [(0, None), (499, None), (500, 0.2), (1999, 0.2), (2000, 0.1)])
def test_psi_threshold_depends_on_window_rows(rows: int, level: float | None) -> None:
    found = applicable_threshold(rows, THRESHOLDS)
    assert (found.psi if found else None) == level


def test_large_psi_on_a_small_window_is_insufficient_data_not_an_alert() -> None:
    reference = profile_column(["a"] * 50 + ["b"] * 50, numeric=False, max_values=100)
    result = drift_check("job_role", "1d", reference, np.array(["b"] * 200), THRESHOLDS)
    assert result.verdict == "insufficient_data"
    assert result.figures["psi"] > 1 and result.rows == 200


def test_drift_alerts_above_the_level_the_rows_allow() -> None:
    reference = profile_column(["a"] * 50 + ["b"] * 50, numeric=False, max_values=100)
    shifted = np.array(["a"] * 250 + ["b"] * 350)  # shares 0.42/0.58: PSI ~0.03
    assert drift_check("job_role", "1d", reference, shifted, THRESHOLDS).verdict == "ok"
    skewed = np.array(["a"] * 150 + ["b"] * 450)  # shares 0.25/0.75: PSI 0.27 > 0.2
    result = drift_check("job_role", "1d", reference, skewed, THRESHOLDS)
    assert result.verdict == "alert" and result.figures["threshold"] == 0.2


@pytest.mark.parametrize(
    ("value", "high", "support", "verdict"),
    [
        (0.27, 0.30, 1400, "alert"),  # 7 pp below and the interval is below the baseline
        (0.27, 0.36, 1400, "ok"),  # 7 pp below but the interval reaches the baseline: noise
        (0.31, 0.33, 1400, "ok"),  # below with confidence but only 3 pp: under the plan's 5 pp
        (0.20, 0.25, 40, "insufficient_data"),  # too few flagged rows to say anything
    ],
)
def test_decay_needs_both_the_drop_and_the_interval(
    value: float, high: float, support: int, verdict: str
) -> None:
    estimate = Estimate(value, value - 0.03, high, support)
    result = decay_check("precision", "90d", estimate, BASELINE, max_drop=0.05, min_support=50)
    assert result.verdict == verdict
    assert result.figures["baseline"]["value"] == 0.34


def test_fairness_alerts_only_when_the_gap_lower_bound_exceeds_the_limit() -> None:
    y, decided, groups = rows_with_band_recalls({"<30": 0.9, "30-44": 0.6, "45+": 0.75}, 200)
    result = fairness_check(
        "90d", compare_groups(y, decided, groups, alpha=0.05, min_positives=100), max_gap=0.05
    )
    assert result.verdict == "alert" and result.figures["gap"]["interval"][0] > 0.05
    assert "bias-corrected" in result.reason and "90% simultaneous interval" in result.reason


def test_a_fair_model_on_a_quarter_of_labels_does_not_alert_and_shows_a_small_gap() -> None:
    """Issue 21: equal true recalls, ~200-400 positives per band; the old range showed ~5 pp."""
    rng = np.random.default_rng(21)
    alerts, shown = 0, []
    for _ in range(100):
        groups = rng.choice(["<30", "30-44", "45+"], size=6000, p=[0.2, 0.4, 0.4])
        y = rng.random(6000) < 0.17
        decided = y & (rng.random(6000) < 0.78)
        result = fairness_check(
            "90d", compare_groups(y, decided, groups, alpha=0.05, min_positives=100), max_gap=0.05
        )
        alerts += result.verdict == "alert"
        shown.append(result.figures["gap"]["value"])
    assert alerts == 0 and np.mean(shown) < 0.03


def test_fairness_with_equal_recalls_is_ok() -> None:
    y, decided, groups = rows_with_band_recalls({"<30": 0.75, "30-44": 0.75, "45+": 0.75}, 200)
    result = fairness_check(
        "90d", compare_groups(y, decided, groups, alpha=0.05, min_positives=100), max_gap=0.05
    )
    assert result.verdict == "ok"


def test_fairness_with_a_thin_band_is_insufficient_even_with_a_huge_gap() -> None:
    y, decided, groups = rows_with_band_recalls({"<30": 1.0, "30-44": 0.1, "45+": 0.5}, 40)
    result = fairness_check(
        "90d", compare_groups(y, decided, groups, alpha=0.05, min_positives=100), max_gap=0.05
    )
    assert result.verdict == "insufficient_data" and "too few positives" in result.reason


def _reference() -> Reference:
    rng = np.random.default_rng(0)
    columns = {
        "age": profile_column(rng.integers(22, 60, 640), numeric=True, max_values=10000),
        "job_role": profile_column(rng.choice(["Sales", "HR"], 640), numeric=False, max_values=10000),
        "monthly_income": profile_column(rng.normal(6500, 1500, 640), numeric=True, max_values=10000),
        "years_at_company": profile_column(rng.integers(0, 20, 640), numeric=True, max_values=10000),
        "score": profile_column(rng.uniform(0, 1, 640), numeric=True, max_values=10000),
    }
    return Reference(columns, {"recall": BASELINE, "precision": BASELINE}, "test", 0.5)


def _traffic(rows: int, income_mean: float, ts: float, rng: np.random.Generator) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "ts": ts,
            "model_version": "v3-test",
            "source": "model",
            "opt_out": False,
            "employee_id": [f"E{i}" for i in range(rows)],
            "age": rng.integers(22, 60, rows),
            "job_role": rng.choice(["Sales", "HR"], rows),
            "monthly_income": rng.normal(income_mean, 1500, rows),
            "years_at_company": rng.integers(0, 20, rows),
            "probability": rng.uniform(0, 1, rows),
            "decision": rng.uniform(0, 1, rows) > 0.5,
        }
    )


def test_drift_checks_judge_each_window_on_its_own_rows() -> None:
    rng = np.random.default_rng(1)
    now = 1_000_000.0
    old = _traffic(600, 6500, now - 3 * 86400, rng)  # only in the 4-day window
    new = _traffic(300, 10000, now - 60, rng)  # income drift, but only 300 rows in the last day
    results = drift_checks(
        _reference(), pd.concat([old, new]), now=now, model_version="v3-test", params=MonitorParams()
    )
    by_key = {(r.subject, r.window): r for r in results}
    assert by_key[("monthly_income", "1d")].verdict == "insufficient_data"
    assert by_key[("monthly_income", "4d")].verdict == "alert"
    assert by_key[("monthly_income", "4d")].rows == 900
    assert by_key[("job_role", "4d")].verdict == "ok"
    assert worst(results) == "alert"


def test_score_drift_ignores_other_models_and_batch_answers() -> None:
    rng = np.random.default_rng(2)
    traffic = _traffic(600, 6500, 999_000.0, rng)
    traffic.loc[:299, "model_version"] = "v2-old"
    results = drift_checks(
        _reference(), traffic, now=1_000_000.0, model_version="v3-test", params=MonitorParams()
    )
    score = next(r for r in results if r.subject == "score" and r.window == "1d")
    assert score.rows == 300 and score.verdict == "insufficient_data"


def test_labelled_checks_report_decay_and_fairness_with_counts() -> None:
    rng = np.random.default_rng(3)
    labelled = _traffic(400, 6500, 0.0, rng)
    labelled["attrition"] = rng.integers(0, 2, 400)
    results = labelled_checks(
        _reference(), labelled, window="90d", age_edges=[30, 45], params=MonitorParams()
    )
    assert [(r.check, r.subject) for r in results] == [
        ("decay", "recall"),
        ("decay", "precision"),
        ("fairness", "age_band_recall_gap"),
    ]
    assert results[2].verdict == "insufficient_data"  # ~200 positives over three bands
    assert all(r.figures["ci95"][0] is not None for r in results[:2])


@pytest.mark.parametrize(
    ("text", "seconds"), [("90d", 90 * 86400), ("12h", 43200), ("30s", 30), ("2w", 1209600)]
)
def test_durations(text: str, seconds: int) -> None:
    assert duration_seconds(text) == seconds


@pytest.mark.parametrize("text", ["", "d", "0d", "1.5d", "3y", "-1d"])
def test_bad_durations_say_what_is_allowed(text: str) -> None:
    with pytest.raises(ValueError, match="positive integer followed by s, m, h, d or w"):
        duration_seconds(text)
