"""CBPE: the point is the five-line numpy formula, the interval covers realized figures when the scores are
calibrated, carries measured miscalibration, and the calibration check says when not to trust it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from attrition.method.psi import profile_column
from attrition.modelpkg.reference import Baseline, Reference
from attrition.monitor.estimate import (
    Agreement,
    calibration_of,
    estimate_rates,
    expected_cells,
    point_estimates,
)
from attrition.monitor.performance import (
    calibration_checks,
    estimate_check,
    month_figures,
    performance_checks,
    trust_of,
)
from attrition.params import MonitorParams

PARAMS = MonitorParams()
BINS = PARAMS.estimate.score_bins
THRESHOLD = 0.25


def _scores(rows: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    p = np.random.default_rng(seed).beta(1.2, 5.0, size=rows)
    return p, p >= THRESHOLD


def _realized(y: np.ndarray, decided: np.ndarray) -> dict[str, float]:
    tp = int((y & decided).sum())
    return {"recall": tp / int(y.sum()), "precision": tp / int(decided.sum())}


def test_point_is_the_expected_confusion_table() -> None:
    p = np.array([0.9, 0.6, 0.3, 0.1])
    d = np.array([True, True, False, False])
    assert expected_cells(p, d) == pytest.approx({"tp": 1.5, "fp": 0.5, "fn": 0.4, "tn": 1.6})
    assert point_estimates(p, d) == pytest.approx({"recall": 1.5 / 1.9, "precision": 0.75})
    assert point_estimates(p, np.zeros(4, dtype=bool))["precision"] is None


def test_interval_covers_realized_figures_of_calibrated_scores() -> None:
    rng = np.random.default_rng(3)
    hits = {"recall": 0, "precision": 0}
    repeats = 200
    for repeat in range(repeats):
        p, d = _scores(2000, seed=repeat)
        realized = _realized(rng.random(p.size) < p, d)
        estimates = estimate_rates(p, d, calibration=None, n=1000, seed=repeat, bins=BINS)
        for metric, value in realized.items():
            low, high = estimates[metric].low, estimates[metric].high
            assert low is not None and high is not None
            hits[metric] += low <= value <= high
    for metric, count in hits.items():  # 95% nominal; 200 repeats: +-3 pp is two standard errors
        assert 0.91 <= count / repeats <= 0.99, (metric, count)


def test_measured_miscalibration_moves_point_and_interval_onto_the_realized_figure() -> None:
    rng = np.random.default_rng(5)
    p, d = _scores(4000, seed=1)
    truth = np.clip(np.where(d, p * 0.7, p * 1.3), 0, 1)  # flagged over-, unflagged under-confident
    labelled = rng.random(p.size) < truth
    calibration = calibration_of(labelled, p, d)
    assert calibration.flagged.high is not None and calibration.flagged.high < 1
    assert calibration.unflagged.low is not None and calibration.unflagged.low > 1
    realized = _realized(rng.random(p.size) < truth, d)
    assumed = estimate_rates(p, d, calibration=None, n=2000, seed=2, bins=BINS)
    measured = estimate_rates(p, d, calibration=calibration, n=2000, seed=2, bins=BINS)
    for metric, value in realized.items():
        assert not (assumed[metric].low or 0) <= value <= (assumed[metric].high or 1)
        assert (measured[metric].low or 0) <= value <= (measured[metric].high or 1)
        assert abs((measured[metric].value or 0) - value) < abs((assumed[metric].value or 0) - value)


def _labelled_frame(p: np.ndarray, d: np.ndarray, y: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame({"probability": p, "decision": d, "attrition": y.astype(int)})


def test_calibration_check_ok_alert_and_insufficient_data() -> None:
    rng = np.random.default_rng(8)
    p, d = _scores(6000, seed=4)
    calibrated = calibration_checks(
        _labelled_frame(p, d, rng.random(p.size) < p), window="90d", params=PARAMS
    )
    assert [r.verdict for r in calibrated] == ["ok", "ok"]
    assert trust_of(calibrated) == "calibrated"
    shifted = np.clip(np.where(d, p * 0.6, p), 0, 1)  # flagged employees leave far less than scored
    off = calibration_checks(_labelled_frame(p, d, rng.random(p.size) < shifted), window="90d", params=PARAMS)
    assert {r.subject: r.verdict for r in off}["precision"] == "alert"
    assert trust_of(off) == "calibration_off"
    few = calibration_checks(
        _labelled_frame(p[:100], d[:100], rng.random(100) < p[:100]), window="90d", params=PARAMS
    )
    assert {r.verdict for r in few} == {"insufficient_data"}
    assert trust_of(few) == "calibration_unchecked"


def test_agreement_tolerates_the_decay_margin() -> None:
    from attrition.method.confidence import Estimate

    estimated = Estimate(0.30, 0.28, 0.32, 500)
    assert not Agreement("precision", Estimate(0.36, 0.33, 0.39, 500), estimated, 0.05).off
    assert Agreement("precision", Estimate(0.38, 0.35, 0.41, 500), estimated, 0.05).off
    assert not Agreement("precision", Estimate(None, None, None, 0), estimated, 0.05).sufficient


UNLABELLED = pd.DataFrame({"employee_id": [], "attrition": [], "probability": [], "decision": []})


def _reference(p: np.ndarray) -> Reference:
    score = profile_column(p, numeric=True, max_values=1000)
    return Reference(
        columns={"score": score},
        baselines={"recall": Baseline(0.80, 0.78, 0.82, 3000), "precision": Baseline(0.34, 0.33, 0.35, 7000)},
        baseline_source="test",
        decision_threshold=THRESHOLD,
    )


def _predictions(p: np.ndarray, d: np.ndarray, months: list[str]) -> pd.DataFrame:
    stamps = [pd.Timestamp(f"{m}-15T12:00:00Z").timestamp() for m in months]
    return pd.DataFrame(
        {
            "ts": np.repeat(stamps, len(p) // len(months)),
            "employee_id": [f"e{i}" for i in range(len(p))],
            "probability": p,
            "decision": d,
        }
    )


def test_months_are_labelled_only_once_most_outcomes_are_in() -> None:
    rng = np.random.default_rng(9)
    p, d = _scores(3000, seed=6)
    y = rng.random(p.size) < p
    predictions = _predictions(p, d, ["2026-01", "2026-02", "2026-03"])
    known = np.r_[np.arange(1000), np.arange(1000, 1500)]  # January all, February half, March none
    outcomes = pd.DataFrame(
        {
            "employee_id": predictions["employee_id"].iloc[known].to_numpy(),
            "attrition": y[known].astype(int),
            "observed_at": pd.Timestamp("2026-12-01", tz="UTC"),
        }
    )
    labelled = predictions.iloc[known].assign(attrition=y[known].astype(int))
    months = month_figures(predictions, outcomes, _reference(p), labelled, params=PARAMS)
    assert [(m.window, m.rows, m.labelled, m.realized is not None) for m in months] == [
        ("2026-01", 1000, 1000, True),
        ("2026-02", 1000, 500, False),
        ("2026-03", 1000, 0, False),
    ]
    # the share that makes a month labelled is monitor.estimate.labelled_share: at a half, February is
    half = PARAMS.model_copy(update={"estimate": PARAMS.estimate.model_copy(update={"labelled_share": 0.5})})
    lenient = month_figures(predictions, outcomes, _reference(p), labelled, params=half)
    assert [m.realized is not None for m in lenient] == [True, True, False]
    # a month's estimate is calibrated on other employees' labels only (January's own never count;
    # February's 500 alone expect too few positives on the unflagged side to measure it)
    assert [None if m.calibration is None else m.calibration.rows for m in months] == [None, 1000, 1500]
    results, _ = performance_checks(
        _reference(p), predictions, outcomes, labelled, window="400d", params=PARAMS
    )
    assert [(r.check, r.window) for r in results] == [
        ("calibration", "400d"),
        ("calibration", "400d"),
        ("estimate", "2026-02"),
        ("estimate", "2026-02"),
        ("estimate", "2026-03"),
        ("estimate", "2026-03"),
    ]
    assert {r.figures["trust"] for r in results if r.check == "estimate"} == {"calibrated"}
    assert {r.figures["trusted"] for r in results if r.check == "estimate"} == {True}


def test_estimated_decay_alerts_and_thin_months_are_insufficient_data() -> None:
    p, d = _scores(3000, seed=7)
    lower = np.clip(p * 0.6, 0, 1)  # the scores of a population the model thinks leaves less
    reference = _reference(p)
    empty = pd.DataFrame({"employee_id": [], "attrition": [], "observed_at": []})
    (month,) = month_figures(_predictions(lower, d, ["2026-05"]), empty, reference, UNLABELLED, params=PARAMS)
    check = estimate_check(
        "precision", month, reference.baselines["precision"], trust="calibrated", params=PARAMS
    )
    assert check.verdict == "alert" and check.figures["drop"] > 0.05
    (thin,) = month_figures(
        _predictions(p[:60], d[:60], ["2026-05"]), empty, reference, UNLABELLED, params=PARAMS
    )
    check = estimate_check(
        "recall", thin, reference.baselines["recall"], trust="calibration_unchecked", params=PARAMS
    )
    assert check.verdict == "insufficient_data"
    assert "calibration unchecked" in check.reason
