"""Estimated (CBPE) against realized recall and precision, window by window (issue 24, before the labels).

The champion package (models/attrition-model: its model, threshold and reference) scores traffic as
the service would (the package's scikit-learn pipeline, which the package check holds equal to the
served model.json within 1e-9), and every window is estimated exactly as `attrition monitor` estimates
an unlabelled month (``monitor.estimate.estimate_rates``), then compared with the labels:

* dataset versions 3 (the training population) and 8 (drifted): ``--draws`` disjoint windows of 500,
  2,000 and 5,000 fresh employees each (seeds the pipeline never uses). Two intervals: one assuming
  calibration, one carrying the calibration the monitor measures on a labelled version-3 quarter of
  5,000 employees (its labelled past). The monitor's calibration check is run on each window's own
  labels, as it would run once they arrive: does it say when the estimate was wrong?
* the HR history (``attrition.hris.simulate``, 5,000 employees, month-end extracts): every month-end's
  active employees scored on their point-in-time features, labelled by leaving within the next 12
  months (the rule of ``attrition features outcomes``), for a company whose population stays at
  version 3 and one that moves one version a year. Month m's interval carries the calibration measured
  on month m-12's cohort, the newest whose labels are in by then.

Coverage is the share of windows whose realized figure lies in the 95% interval, with a Wilson
interval and the count. Nothing here reads the generator's formula; the model sees only rows.

    .venv/bin/python bench/bench_cbpe.py [--draws 200] [--employees 5000] [--months 48]
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from statistics import NormalDist

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from attrition.columns import FEATURES, TARGET
from attrition.dataset import add_months, completed_years
from attrition.hris.simulate import SimulationConfig, simulate
from attrition.method.confidence import Estimate, recall_precision
from attrition.method.groups import wilson
from attrition.method.psi import psi
from attrition.method.synthetic import generate_frame
from attrition.modelpkg.artifact import load_package
from attrition.modelpkg.reference import SCORE, Reference, reference_of
from attrition.monitor.checks import drift_check
from attrition.monitor.estimate import METRICS, Calibration, calibration_of, estimate_rates
from attrition.monitor.performance import calibration_checks, trust_of
from attrition.params import MonitorParams

SIZES = (500, 2000, 5000)
VERSIONS = (3, 8)
WINDOW_SEED_BASE = 43_000_000  # + version: the windows' population
QUARTER_SEED = 44_000_003  # the labelled version-3 quarter the calibration is measured on
QUARTER_ROWS = 5000
HORIZON_MONTHS = 12
PARAMS = MonitorParams()  # the monitor's defaults: bootstrap 2,000 draws, decay.max_drop 5 pp


@dataclass(frozen=True)
class Window:
    """One window's estimates (calibration assumed / measured), realized figures and diagnostics."""

    source: str
    name: str
    rows: int
    assumed: dict[str, Estimate]
    measured: dict[str, Estimate]
    realized: dict[str, Estimate]
    ratios: Calibration  # O/E per decision side on the window's own labels
    check: str  # the monitor's calibration-check trust on the window's own labels
    score_psi: float
    drifted: bool  # the monitor's score-drift verdict for the window is alert (its estimate notes it)
    calibrated_by: str  # where the measured calibration came from ("none": the plain estimate)

    def covered(self, metric: str, which: str) -> bool:
        estimate = (self.assumed if which == "assumed" else self.measured)[metric]
        value = self.realized[metric].value
        if value is None or estimate.low is None or estimate.high is None:
            return False
        return estimate.low <= value <= estimate.high

    def error(self, metric: str, which: str = "assumed") -> float:
        estimate = (self.assumed if which == "assumed" else self.measured)[metric]
        return float((estimate.value or np.nan) - (self.realized[metric].value or np.nan))


class Scorer:
    """The champion: probabilities and decisions at its package threshold."""

    def __init__(self, package: Path) -> None:
        self.package = load_package(package)
        self.threshold = self.package.decision_threshold
        self.reference: Reference = reference_of(self.package.contents)

    def __call__(self, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        with threadpool_limits(limits=1, user_api="openmp"):  # 2 shared cores
            p = np.asarray(self.package.model.predict_proba(frame[FEATURES])[:, 1], dtype=float)
        return p, p >= self.threshold


def judge(
    source: str,
    name: str,
    p: np.ndarray,
    d: np.ndarray,
    y: np.ndarray,
    cal: Calibration | None,
    ref: Reference,
    seed: int,
) -> Window:
    """Everything the monitor would say about one window, before and after its labels."""
    boot = PARAMS.bootstrap
    labelled = pd.DataFrame({"probability": p, "decision": d, TARGET: y.astype(int)})
    return Window(
        source,
        name,
        len(p),
        estimate_rates(p, d, calibration=None, n=boot.n, seed=seed, bins=PARAMS.estimate.score_bins),
        estimate_rates(p, d, calibration=cal, n=boot.n, seed=seed, bins=PARAMS.estimate.score_bins),
        recall_precision(y, d, n=boot.n, seed=seed),
        calibration_of(y, p, d),
        trust_of(calibration_checks(labelled, window=name, params=PARAMS)),
        psi(ref.columns[SCORE], p),
        drift_check(SCORE, name, ref.columns[SCORE], p, PARAMS.drift.thresholds).verdict == "alert",
        "none" if cal is None else "labelled",
    )


def version_windows(scorer: Scorer, draws: int) -> list[Window]:
    """Disjoint fresh windows of each size from each version; calibration from a labelled v3 quarter."""
    quarter = generate_frame(3, QUARTER_ROWS, seed=QUARTER_SEED)
    qp, qd = scorer(quarter)
    calibration = calibration_of(quarter[TARGET].to_numpy(), qp, qd)
    print(
        f"calibration measured on {QUARTER_ROWS} labelled version-3 employees: O/E flagged "
        f"{_ratio(calibration, 'flagged')}, unflagged {_ratio(calibration, 'unflagged')}"
    )
    windows = []
    for version in VERSIONS:
        frame = generate_frame(version, draws * max(SIZES), seed=WINDOW_SEED_BASE + version)
        p, d = scorer(frame)
        y = frame[TARGET].to_numpy()
        for size in SIZES:
            for draw in range(draws):
                part = slice(draw * size, (draw + 1) * size)
                windows.append(
                    judge(
                        f"v{version}",
                        f"{size}#{draw}",
                        p[part],
                        d[part],
                        y[part],
                        calibration,
                        scorer.reference,
                        draw,
                    )
                )
    return windows


def history_windows(
    scorer: Scorer, employees: int, months: int, version_per_year: float, seed: int
) -> list[Window]:
    """Month-end cohorts of a simulated HRIS, labelled by leaving within the next 12 months."""
    config = SimulationConfig(
        employees, months + HORIZON_MONTHS, date(2022, 1, 1), seed, 3.0, version_per_year
    )
    cohorts: list[tuple[date, pd.DataFrame]] = []
    last = pd.DataFrame()
    for extract in simulate(config):
        last = extract.frame
        if len(cohorts) < months:
            end = np.datetime64(extract.extract_date.isoformat(), "D")
            active = last[last["termination_date"].isna() & (last["hire_date"] <= end)]
            features = pd.DataFrame(
                {
                    "employee_id": active["employee_id"].to_numpy(),
                    "age": completed_years(active["birth_date"].to_numpy(), end),
                    "job_role": active["job_role"].to_numpy(),
                    "monthly_income": active["monthly_income"].to_numpy(),
                    "years_at_company": completed_years(active["hire_date"].to_numpy(), end),
                }
            )
            cohorts.append((extract.extract_date, features))
    left = last.set_index("employee_id")["termination_date"]
    company = f"hris+{version_per_year:g}v/yr"
    windows: list[Window] = []
    measured: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    for index, (day, cohort) in enumerate(cohorts):
        p, d = scorer(cohort)
        until = np.datetime64(add_months(day, HORIZON_MONTHS).isoformat(), "D")
        ends = left.loc[cohort["employee_id"]].to_numpy()
        y = (~pd.isna(ends)) & (ends > np.datetime64(day.isoformat(), "D")) & (ends <= until)
        measured.append((y, p, d))
        known = measured[index - HORIZON_MONTHS] if index >= HORIZON_MONTHS else None
        cal = None if known is None else calibration_of(*known)
        windows.append(
            judge(company, day.strftime("%Y-%m"), p, d, np.asarray(y), cal, scorer.reference, index)
        )
    return windows


def _ratio(cal: Calibration, side: str) -> str:
    r = cal.flagged if side == "flagged" else cal.unflagged
    return f"{r.value:.2f} ({r.low:.2f}-{r.high:.2f}, {r.observed} obs / {r.expected:.0f} exp)"


def _share(hits: int, total: int) -> str:
    low, high = wilson(np.array(hits), np.array(total), NormalDist().inv_cdf(0.975))
    return f"{hits / total:.1%} [{max(0.0, float(low)):.0%}-{float(high):.0%}] of {total}"


def _est(e: Estimate) -> str:
    return f"{e.value:.3f} ({e.low:.3f}-{e.high:.3f})"


def _spread(errors: np.ndarray) -> str:
    low, high = np.percentile(errors, [2.5, 97.5])
    return f"{errors.mean():+.3f} ({low:+.3f} to {high:+.3f})"


def _groups(windows: list[Window]) -> dict[tuple[str, str], list[Window]]:
    groups: dict[tuple[str, str], list[Window]] = {}
    for w in windows:
        kind = w.name.split("#")[0] + " rows" if "#" in w.name else f"months, calibration {w.calibrated_by}"
        groups.setdefault((w.source, kind), []).append(w)
    return groups


def summary(windows: list[Window]) -> None:
    """Per source and size: estimate (plain / calibration measured), realized, error, coverage."""
    print(
        "\n| source | windows of | metric | realized (mean) | error plain CBPE: mean (2.5-97.5%) "
        "| error, calibration measured | coverage plain | coverage, calibration measured "
        "| calibration check off |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for (source, size), group in _groups(windows).items():
        off = sum(w.check == "calibration_off" for w in group)
        for metric in METRICS:
            realized = np.mean([w.realized[metric].value for w in group])
            print(
                f"| {source} | {size} | {metric} | {realized:.3f} | "
                f"{_spread(np.array([w.error(metric) for w in group]))} | "
                f"{_spread(np.array([w.error(metric, 'measured') for w in group]))} | "
                f"{_share(sum(w.covered(metric, 'assumed') for w in group), len(group))} | "
                f"{_share(sum(w.covered(metric, 'measured') for w in group), len(group))} | "
                f"{_share(off, len(group))} |"
            )


def failures(windows: list[Window]) -> None:
    """Where the measured-calibration interval missed: the windows' own O/E and score drift say why."""
    print(
        "\n| source | windows of | missed (recall or precision) | O/E flagged in missed (mean) "
        "| O/E unflagged in missed (mean) | score PSI in missed (mean) | check off among missed |"
    )
    print("|---|---|---|---|---|---|---|")
    for (source, size), group in _groups(windows).items():
        missed = [w for w in group if not all(w.covered(m, "measured") for m in METRICS)]
        if not missed:
            print(f"| {source} | {size} | {_share(0, len(group))} | - | - | - | - |")
            continue
        flagged = np.mean([w.ratios.flagged.value for w in missed])
        unflagged = np.mean([w.ratios.unflagged.value for w in missed])
        print(
            f"| {source} | {size} | {_share(len(missed), len(group))} | {flagged:.2f} | {unflagged:.2f} | "
            f"{np.mean([w.score_psi for w in missed]):.2f} | "
            f"{_share(sum(w.check == 'calibration_off' for w in missed), len(missed))} |"
        )


def by_drift(windows: list[Window]) -> None:
    """Does the monitor's score-drift note single out the estimates that miss?"""
    print("\n| windows (calibration measured) | score drift alert | missed recall or precision |")
    print("|---|---|---|")
    for label, chosen in (
        ("dataset versions", [w for w in windows if "#" in w.name]),
        ("HR history, months 13-48", [w for w in windows if "#" not in w.name and w.calibrated_by != "none"]),
    ):
        for drifted in (False, True):
            group = [w for w in chosen if w.drifted == drifted]
            if group:
                missed = sum(not all(w.covered(m, "measured") for m in METRICS) for w in group)
                print(f"| {label} | {'yes' if drifted else 'no'} | {_share(missed, len(group))} |")


def per_window(windows: list[Window], title: str) -> None:
    print(f"\n{title}")
    print(
        "| window | rows | score PSI | recall: plain | calibration measured (95%) | realized "
        "| precision: plain | calibration measured (95%) | realized | O/E flagged | O/E unflagged | check |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for w in windows:
        marks = {m: "" if w.covered(m, "measured") else " **miss**" for m in METRICS}
        cells = [
            f"{w.assumed[m].value:.3f} | {_est(w.measured[m])} | {w.realized[m].value:.3f}{marks[m]}"
            for m in METRICS
        ]
        print(
            f"| {w.source} {w.name} | {w.rows} | {w.score_psi:.2f} | {cells[0]} | {cells[1]} | "
            f"{w.ratios.flagged.value:.2f} | {w.ratios.unflagged.value:.2f} | {w.check} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--package", type=Path, default=Path("models/attrition-model"))
    parser.add_argument(
        "--draws", type=int, default=200, help="windows per version and size (bounded: <= 400)"
    )
    parser.add_argument("--employees", type=int, default=5000, help="HR history headcount")
    parser.add_argument("--months", type=int, default=48, help="HR history months scored (<= 120)")
    args = parser.parse_args()
    draws, months = min(args.draws, 400), min(args.months, 120)
    started = time.perf_counter()
    scorer = Scorer(args.package)
    print(f"champion {scorer.package.model_version}, threshold {scorer.threshold:.4f}")
    versions = version_windows(scorer, draws)
    history = [
        w
        for rate, seed in ((0.0, 501), (1.0, 502))
        for w in history_windows(scorer, args.employees, months, rate, seed)
    ]
    summary(versions + history)
    failures(versions + history)
    by_drift(versions + history)
    first = [w for w in versions if w.name.startswith("2000#") and int(w.name[5:]) < 4]
    per_window(first, "Dataset versions, first four 2,000-row windows each")
    per_window(history[::6], "HR history, every sixth month (calibration measured on month m-12's cohort)")
    print(f"bench_cbpe: {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
