"""The monitoring checks: each returns a verdict (`ok`, `alert` or `insufficient_data`) with its figures.

A verdict is only as good as the sample behind it, so every check declares what it needs before it may
alert: PSI thresholds that apply only from a declared window size, decay that must be both larger than
the plan's 5 pp and outside the interval, a fairness gap shown above the limit by the lower bound of its
simultaneous interval (:mod:`attrition.method.groups`; not by its noisy point value, nor by the observed
range of band recalls, which is biased upward). Below those minimums the honest answer is
`insufficient_data`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from attrition.dataset import FEATURES, age_band_labels
from attrition.method.confidence import Estimate, recall_precision
from attrition.method.groups import GroupComparison, compare_groups
from attrition.method.psi import ColumnProfile, psi
from attrition.modelpkg.reference import SCORE, Baseline, Reference
from attrition.params import MonitorParams, PsiThreshold

Verdict = Literal["ok", "alert", "insufficient_data"]
VERDICTS: tuple[Verdict, ...] = ("ok", "alert", "insufficient_data")
UNITS_S = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def duration_seconds(text: str) -> float:
    """'90d' -> seconds (the format params.py validates: a positive integer and one of s m h d w)."""
    if len(text) < 2 or text[-1] not in UNITS_S or not text[:-1].isdigit() or int(text[:-1]) <= 0:
        raise ValueError(f"invalid duration {text!r}; use a positive integer followed by s, m, h, d or w")
    return int(text[:-1]) * UNITS_S[text[-1]]


@dataclass(frozen=True)
class CheckResult:
    """One verdict: which check, about what, over which window, and the figures it rests on."""

    check: Literal["drift", "decay", "fairness", "calibration", "estimate"]
    subject: str  # a feature or "score"; "recall"/"precision"; "age_band_recall_gap"
    window: str
    verdict: Verdict
    rows: int
    reason: str
    figures: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def applicable_threshold(rows: int, thresholds: Sequence[PsiThreshold]) -> PsiThreshold | None:
    """The strictest declared PSI level whose row minimum the window meets (None: too few rows)."""
    met = [t for t in thresholds if rows >= t.min_rows]
    return met[-1] if met else None


def drift_check(
    subject: str,
    window: str,
    reference: ColumnProfile,
    current: np.ndarray,
    thresholds: Sequence[PsiThreshold],
) -> CheckResult:
    """PSI of one column over one window, judged by the threshold its row count allows."""
    rows = len(current)
    value = psi(reference, current) if rows else None
    threshold = applicable_threshold(rows, thresholds)
    figures: dict[str, Any] = {
        "psi": value,
        "threshold": None if threshold is None else threshold.psi,
        "min_rows": None if threshold is None else threshold.min_rows,
        "reference_rows": reference.rows,
    }
    if threshold is None or value is None:
        reason = f"{rows} rows; PSI is judged from {thresholds[0].min_rows} rows"
        return CheckResult("drift", subject, window, "insufficient_data", rows, reason, figures)
    verdict: Verdict = "alert" if value > threshold.psi else "ok"
    reason = f"PSI {value:.3f} {'>' if verdict == 'alert' else '<='} {threshold.psi} at {rows} rows"
    return CheckResult("drift", subject, window, verdict, rows, reason, figures)


def baseline_figures(baseline: Baseline) -> dict[str, Any]:
    """The package baseline as a check records it beside an estimate (decay, and the CBPE estimate)."""
    return {"value": baseline.value, "ci95": [baseline.low, baseline.high], "support": baseline.support}


def decay_check(
    subject: str, window: str, estimate: Estimate, baseline: Baseline, *, max_drop: float, min_support: int
) -> CheckResult:
    """Decay is confirmed only when the drop exceeds `max_drop` AND the interval lies below the baseline."""
    figures: dict[str, Any] = {
        **estimate.as_dict(),
        "baseline": baseline_figures(baseline),
        "drop": None if estimate.value is None else baseline.value - estimate.value,
        "max_drop": max_drop,
        "min_support": min_support,
    }
    if estimate.value is None or estimate.high is None or estimate.support < min_support:
        reason = f"{subject} rests on {estimate.support} rows; a verdict needs {min_support}"
        return CheckResult("decay", subject, window, "insufficient_data", estimate.support, reason, figures)
    drop = baseline.value - estimate.value
    confirmed = drop > max_drop and estimate.high < baseline.value
    reason = (
        f"{subject} {estimate.value:.3f} (95% CI {estimate.low:.3f}-{estimate.high:.3f}, "
        f"n={estimate.support}) vs baseline {baseline.value:.3f}: "
        f"{'drop' if drop >= 0 else 'rise'} {abs(drop) * 100:.1f} pp"
    )
    return CheckResult(
        "decay", subject, window, "alert" if confirmed else "ok", estimate.support, reason, figures
    )


def _pp(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 100:.1f}"


def fairness_check(window: str, result: GroupComparison, *, max_gap: float) -> CheckResult:
    """Alert only when the age-band recall gap is shown above `max_gap` (error rate <= result.alpha).

    The reason shows what a reader should see: the bias-corrected gap, its simultaneous interval and
    the positives per band, with the observed range named as such.
    """
    gap = result.gap
    figures: dict[str, Any] = {**result.as_dict(), "max_gap": max_gap}
    positives = {name: e.support for name, e in result.by_group.items()}
    if not result.sufficient or gap.low is None or gap.value is None:
        thin = {name: count for name, count in positives.items() if count < result.min_positives}
        reason = f"too few positives per age band {thin}; a verdict needs {result.min_positives} in each"
        return CheckResult(
            "fairness", "age_band_recall_gap", window, "insufficient_data", gap.support, reason, figures
        )
    verdict: Verdict = "alert" if result.exceeds(max_gap) else "ok"
    reason = (
        f"recall gap {_pp(gap.value)} pp (bias-corrected; observed range {_pp(result.observed_range)}), "
        f"{result.level:.0%} simultaneous interval {_pp(gap.low)}-{_pp(gap.high)} pp, positives {positives}; "
        f"{'shown above' if verdict == 'alert' else 'not shown above'} {max_gap * 100:.0f} pp"
    )
    return CheckResult("fairness", "age_band_recall_gap", window, verdict, gap.support, reason, figures)


def drift_checks(
    reference: Reference,
    predictions: pd.DataFrame,
    *,
    now: float,
    model_version: str,
    params: MonitorParams,
) -> list[CheckResult]:
    """PSI per feature and for the score, per declared window.

    Features come from every audited row with inputs (the population, whichever model answered);
    the score only from rows this package's model scored, since another model's scores are not
    comparable with this reference.
    """
    results: list[CheckResult] = []
    for window in params.drift.windows:
        recent = predictions[predictions["ts"] >= now - duration_seconds(window)]
        with_inputs = recent.dropna(subset=FEATURES)
        for feature in FEATURES:
            results.append(
                drift_check(
                    feature,
                    window,
                    reference.columns[feature],
                    with_inputs[feature].to_numpy(),
                    params.drift.thresholds,
                )
            )
        scored = recent[(recent["source"] == "model") & (recent["model_version"] == model_version)]
        results.append(
            drift_check(
                SCORE,
                window,
                reference.columns[SCORE],
                scored["probability"].to_numpy(float),
                params.drift.thresholds,
            )
        )
    return results


def labelled_checks(
    reference: Reference, labelled: pd.DataFrame, *, window: str, age_edges: list[int], params: MonitorParams
) -> list[CheckResult]:
    """Recall and precision decay against the package baselines, and the age-band recall gap.

    `labelled` holds this package's predictions joined with outcomes (columns decision, attrition, age).
    """
    y = labelled["attrition"].to_numpy(int)
    decided = labelled["decision"].to_numpy(bool)
    boot = params.bootstrap
    estimates = recall_precision(y, decided, n=boot.n, seed=boot.seed)
    results = [
        decay_check(
            metric,
            window,
            estimates[metric],
            reference.baselines[metric],
            max_drop=params.decay.max_drop,
            min_support=params.decay.min_support,
        )
        for metric in ("recall", "precision")
    ]
    with_age = labelled.dropna(subset=["age"])
    if with_age.empty:
        reason = "no labelled predictions with an age in the window"
        results.append(
            CheckResult("fairness", "age_band_recall_gap", window, "insufficient_data", 0, reason, {})
        )
        return results
    bands = age_band_labels(with_age["age"], age_edges).to_numpy()
    gap = compare_groups(
        with_age["attrition"].to_numpy(int),
        with_age["decision"].to_numpy(bool),
        bands,
        alpha=params.fairness.alpha,
        min_positives=params.fairness.min_positives_per_band,
    )
    results.append(fairness_check(window, gap, max_gap=params.fairness.max_gap))
    return results


def worst(results: Sequence[CheckResult]) -> Verdict:
    """Summary verdict: any alert, else ok if anything could be judged, else insufficient_data."""
    verdicts = {r.verdict for r in results}
    if "alert" in verdicts:
        return "alert"
    return "ok" if "ok" in verdicts else "insufficient_data"
