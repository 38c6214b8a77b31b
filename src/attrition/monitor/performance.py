"""Performance per calendar month of predictions: estimated (CBPE) for months whose labels have not
arrived, realized beside estimated for months whose labels have, and the calibration check that says
whether the estimates can be trusted.

Months, not the drift windows: attrition labels arrive a horizon (a year) after the prediction, so the
question "how is the model doing on what it scored in March" is answered by an estimate in April and by
the labels the next spring. A month counts as labelled once `monitor.estimate.labelled_share` of its scored
employees have an outcome; before that, realized figures on the few early outcomes would be biased
(leavers are known before stayers), so only the estimate is judged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from attrition.method.confidence import Estimate, recall_precision
from attrition.modelpkg.reference import SCORE, Baseline, Reference
from attrition.monitor.checks import CheckResult, Verdict, baseline_figures, drift_check
from attrition.monitor.estimate import (
    CAVEAT,
    METRICS,
    Agreement,
    Calibration,
    Trust,
    calibration_of,
    estimate_rates,
)
from attrition.params import MonitorParams


@dataclass(frozen=True)
class MonthFigures:
    """One month of this package's predictions: rows, labels so far, estimated and realized rates."""

    window: str  # "YYYY-MM" (UTC) of the prediction
    rows: int
    labelled: int
    estimated: dict[str, Estimate]
    realized: dict[str, Estimate] | None  # None until monitor.estimate.labelled_share has outcomes
    score: CheckResult  # score PSI of the month against the package reference
    calibration: Calibration | None  # measured on labelled rows outside this month (None: assumed)

    @property
    def labelled_share(self) -> float:
        return self.labelled / self.rows if self.rows else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "window": self.window,
            "rows": self.rows,
            "labelled": self.labelled,
            "labelled_share": round(self.labelled_share, 4),
            "estimated": {m: e.as_dict() for m, e in self.estimated.items()},
            "realized": None if self.realized is None else {m: e.as_dict() for m, e in self.realized.items()},
            "score_psi": self.score.figures["psi"],
            "score_drift": self.score.verdict,
            "calibration_applied": None if self.calibration is None else self.calibration.as_dict(),
        }


def measured_calibration(labelled: pd.DataFrame, min_support: int) -> Calibration | None:
    """O/E per decision side on labelled rows, once both sides expect `min_support` positives."""
    if labelled.empty:
        return None
    measured = calibration_of(
        labelled["attrition"].to_numpy(int),
        labelled["probability"].to_numpy(float),
        labelled["decision"].to_numpy(bool),
    )
    enough = min(measured.flagged.expected, measured.unflagged.expected) >= min_support
    return measured if enough else None


def month_of(ts: pd.Series) -> pd.Series:
    """Calendar month (UTC) of unix times, as 'YYYY-MM'."""
    return pd.to_datetime(ts, unit="s", utc=True).dt.strftime("%Y-%m")


def latest_per_employee(rows: pd.DataFrame) -> pd.DataFrame:
    """Each identified employee's latest prediction; opt-out rows (no id) each count once as they are."""
    identified = rows.dropna(subset=["employee_id"]).sort_values("ts")
    latest = identified.drop_duplicates("employee_id", keep="last")
    return pd.concat([latest, rows[rows["employee_id"].isna()]], ignore_index=True)


def month_figures(
    predictions: pd.DataFrame,
    outcomes: pd.DataFrame,
    reference: Reference,
    labelled: pd.DataFrame,
    *,
    params: MonitorParams,
) -> list[MonthFigures]:
    """Estimated (every month) and realized (labelled months) recall and precision, oldest month first.

    `predictions`: this package's model-scored rows (columns ts, employee_id, probability, decision);
    `outcomes`: as read_outcomes returns them (latest per employee is used); `labelled`: predictions
    joined with outcomes, where the calibration is measured. A month's estimate never uses its own
    labels: its calibration comes from the labelled rows of other employees, so a labelled month's
    estimate is what the monitor would have said before its labels came, and realized beside it is
    an out-of-sample test of the estimate.
    """
    final = outcomes.sort_values("observed_at").drop_duplicates("employee_id", keep="last")
    labels = final.set_index("employee_id")["attrition"]
    boot = params.bootstrap
    months: list[MonthFigures] = []
    if predictions.empty:
        return months
    for window, rows in predictions.groupby(month_of(predictions["ts"]), sort=True):
        latest = latest_per_employee(rows)
        p = latest["probability"].to_numpy(float)
        decided = latest["decision"].to_numpy(bool)
        others = labelled[~labelled["employee_id"].isin(latest["employee_id"].dropna())]
        calibration = measured_calibration(others, params.decay.min_support)
        estimated = estimate_rates(
            p, decided, calibration=calibration, n=boot.n, seed=boot.seed, bins=params.estimate.score_bins
        )
        known = latest["employee_id"].isin(labels.index).to_numpy()
        realized = None
        if len(latest) and known.mean() >= params.estimate.labelled_share:
            y = labels.loc[latest.loc[known, "employee_id"]].to_numpy(int)
            realized = recall_precision(y, decided[known], n=boot.n, seed=boot.seed)
        score = drift_check(SCORE, str(window), reference.columns[SCORE], p, params.drift.thresholds)
        months.append(
            MonthFigures(str(window), len(latest), int(known.sum()), estimated, realized, score, calibration)
        )
    return months


def calibration_checks(labelled: pd.DataFrame, *, window: str, params: MonitorParams) -> list[CheckResult]:
    """Realized against CBPE-estimated recall and precision on the same labelled rows.

    The estimate's interval here assumes calibration (it is the spread realized figures would have if
    the scores were calibrated); realized outside it widened by the decay check's tolerance
    (monitor.decay.max_drop) means the scores are off by more than the monitor tolerates. The months'
    estimates correct for a miscalibration per decision side, which helps only while it stays as it
    was measured, so they are marked untrusted. On version-3 windows it alerted in 1-4% (500-5,000
    rows); on version-8 windows, whose precision the estimate misses by 5 pp, in only 7-13%: its 5 pp
    margin is the decay check's, so it flags gross miscalibration, and score drift flags the rest
    (bench/bench_cbpe.py).
    """
    y = labelled["attrition"].to_numpy(int)
    p = labelled["probability"].to_numpy(float)
    decided = labelled["decision"].to_numpy(bool)
    boot, minimum = params.bootstrap, params.decay.min_support
    realized = recall_precision(y, decided, n=boot.n, seed=boot.seed)
    estimated = estimate_rates(
        p, decided, calibration=None, n=boot.n, seed=boot.seed, bins=params.estimate.score_bins
    )
    ratios = calibration_of(y, p, decided).as_dict()
    results = []
    for metric in METRICS:
        agreement = Agreement(metric, realized[metric], estimated[metric], params.decay.max_drop)
        figures = {**agreement.as_dict(), "observed_over_expected": ratios, "min_support": minimum}
        support = realized[metric].support
        if not agreement.sufficient or support < minimum:
            reason = f"realized {metric} rests on {support} rows; a verdict needs {minimum}"
            results.append(
                CheckResult("calibration", metric, window, "insufficient_data", support, reason, figures)
            )
            continue
        verdict: Verdict = "alert" if agreement.off else "ok"
        est = agreement.estimated
        reason = (
            f"realized {metric} {realized[metric].value:.3f} (n={support}) vs estimated {est.value:.3f} "
            f"(if calibrated 95% {est.low:.3f}-{est.high:.3f}): "
            f"{'outside' if agreement.off else 'within'} it widened by {params.decay.max_drop * 100:.0f} pp"
        )
        results.append(CheckResult("calibration", metric, window, verdict, support, reason, figures))
    return results


def trust_of(calibration_results: list[CheckResult]) -> Trust:
    """What the calibration check on labelled rows says about every estimate of this run."""
    verdicts = {r.verdict for r in calibration_results}
    if "alert" in verdicts:
        return "calibration_off"
    return "calibrated" if verdicts == {"ok"} else "calibration_unchecked"


def estimate_check(
    metric: str,
    month: MonthFigures,
    baseline: Baseline,
    *,
    trust: Trust,
    params: MonitorParams,
    calibration: Calibration | None = None,
) -> CheckResult:
    """An unlabelled month's estimated figure against the package baseline, judged like decay.

    Alerts when the estimated drop exceeds monitor.decay.max_drop and the interval's upper bound is
    below the baseline; the verdict is only as good as its `trust`, which the reason states.
    """
    estimate = month.estimated[metric]
    minimum = params.decay.min_support
    figures: dict[str, Any] = {
        **estimate.as_dict(),
        "baseline": baseline_figures(baseline),
        "drop": None if estimate.value is None else baseline.value - estimate.value,
        "max_drop": params.decay.max_drop,
        "min_support": minimum,
        "trust": trust,
        # Trusted only when calibration was checked and held, and the month's scores did not drift:
        # with a score-drift alert the estimate missed in 70% of windows, without it in 4%
        # (bench/bench_cbpe.py, dataset versions 3 and 8, calibration measured).
        "trusted": trust == "calibrated" and month.score.verdict != "alert",
        "calibration_applied": None if calibration is None else calibration.as_dict(),
        "labelled": month.labelled,
        "score_psi": month.score.figures["psi"],
        "score_drift": month.score.verdict,
        "caveat": CAVEAT,
    }
    notes = [] if trust == "calibrated" else [trust.replace("_", " ")]
    if month.score.verdict == "alert":
        notes.append(f"scores drifted (PSI {month.score.figures['psi']:.2f}): calibration extrapolated")
    trailer = f" [{'; '.join(notes)}]" if notes else ""
    if estimate.value is None or estimate.high is None or estimate.low is None or estimate.support < minimum:
        reason = f"estimated {metric} rests on {estimate.support} rows; a verdict needs {minimum}{trailer}"
        return CheckResult("estimate", metric, month.window, "insufficient_data", month.rows, reason, figures)
    drop = baseline.value - estimate.value
    verdict: Verdict = "alert" if drop > params.decay.max_drop and estimate.high < baseline.value else "ok"
    reason = (
        f"estimated {metric} {estimate.value:.3f} (95% {estimate.low:.3f}-{estimate.high:.3f}, "
        f"{month.rows} scored, {month.labelled} labelled) vs baseline {baseline.value:.3f}: "
        f"{'drop' if drop >= 0 else 'rise'} {abs(drop) * 100:.1f} pp{trailer}"
    )
    return CheckResult("estimate", metric, month.window, verdict, month.rows, reason, figures)


def performance_checks(
    reference: Reference,
    predictions: pd.DataFrame,
    outcomes: pd.DataFrame,
    labelled: pd.DataFrame,
    *,
    window: str,
    params: MonitorParams,
) -> tuple[list[CheckResult], list[MonthFigures]]:
    """The calibration check on the labelled window, then an estimate check per unlabelled month.

    The estimates (point and interval) carry the calibration measured on `labelled` (this package's
    predictions joined with outcomes) once both decision sides hold decay.min_support expected
    positives; otherwise they assume calibration and say so (figures `calibration_applied`, `trust`).
    """
    calibration_results = calibration_checks(labelled, window=window, params=params)
    trust = trust_of(calibration_results)
    months = month_figures(predictions, outcomes, reference, labelled, params=params)
    results = list(calibration_results)
    for month in months:
        if month.realized is None:
            for metric in METRICS:
                results.append(
                    estimate_check(
                        metric,
                        month,
                        reference.baselines[metric],
                        trust=trust,
                        params=params,
                        calibration=month.calibration,
                    )
                )
    return results, months


def _bounds(estimate: Estimate) -> str:
    if estimate.low is None or estimate.high is None:
        return "no interval"
    return f"{estimate.low:.3f}-{estimate.high:.3f}"


def month_table(months: list[MonthFigures]) -> list[str]:
    """Estimated beside realized per month, for the command's output."""
    lines = []
    for month in months:
        cells = []
        for metric in METRICS:
            est = month.estimated[metric]
            shown = "n/a" if est.value is None else f"{est.value:.3f} ({_bounds(est)})"
            real = None if month.realized is None else month.realized[metric]
            if real is not None and real.value is not None:
                shown += f" realized {real.value:.3f} ({_bounds(real)})"
            cells.append(f"{metric} {shown}")
        lines.append(f"{month.window} {month.rows} scored {month.labelled} labelled: " + "; ".join(cells))
    return lines
