"""Does the champion meet issue 13's targets on every dataset version? One row per version.

For each version: train exactly as the pipeline does (the 800-row CSV, the hold-out split, params.yaml's
``train:`` section: column selection, grid search, recalibration and threshold all inside
``fit_model``), then score 200,000 fresh rows drawn with seeds the pipeline never uses, at the
package's own decision threshold. Targets (issue 13):

* recall gap between age bands <= 2 pp (printed with its bootstrap interval and positives per band);
* calibration error <= 0.02;
* ROC AUC within 0.015 of the Bayes limit;
* recall >= ``min_recall`` - 3 pp (the threshold policy's promise, kept on new data).

Only this benchmark knows the generator: the Bayes limit is the ROC AUC of the generator's own
probability, and the *cell reference* is a model that knows the generator's exact cells and fills them
with the training labels' rates. Its calibration error and AUC gap are what the training labels allow
to a model that need not discover the structure: when the labels happen to hold more leavers than
their true probabilities (version 9: 2.8 pp), even it misses the calibration target. A miss the cell
reference shares is marked "(also the cell reference)". Neither figure is used to choose anything;
``--params`` with a larger ``generate.n_samples`` gives the learning curve (the same method on more rows).

    .venv/bin/python bench/bench_model_quality.py [--versions 1 2 3] [--rows 200000] [--params params.yaml]
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from attrition.dataset import FEATURES, TARGET, age_band_labels, holdout_split
from attrition.method.evaluation import calibration_error, thresholded_metrics
from attrition.method.fitting import fit_model
from attrition.method.groups import compare_groups
from attrition.method.synthetic import attrition_probability, generate_frame
from attrition.params import Params, load_params

FRESH_SEED_BASE = 987_654  # the pipeline seeds with 1234 + version; these never collide for v <= 10
MAX_GAP_PP = 2.0
MAX_CALIBRATION_ERROR = 0.02
MAX_AUC_GAP = 0.015
RECALL_SLACK = 0.03


@dataclass(frozen=True)
class VersionResult:
    """Everything one table row shows, and which targets it misses."""

    version: int
    columns: list[str]
    hyperparameters: dict[str, object]
    calibration: str
    threshold: float
    recall: float
    precision: float
    band_recall: dict[str, tuple[float | None, int]]
    gap: float | None
    gap_interval: tuple[float | None, float | None]
    calibration_error: float
    reference_calibration_error: float
    reference_auc: float
    auc: float
    bayes_auc: float
    fit_seconds: float
    misses: list[str]


def generator_probability(frame: pd.DataFrame, version: int) -> np.ndarray:
    """The generator's true attrition probability of each row (the Bayes-optimal score)."""
    return attrition_probability(
        version,
        frame["job_role"].to_numpy(),
        frame["monthly_income"].to_numpy(),
        frame["years_at_company"].to_numpy(),
    )


def cell_reference(train: pd.DataFrame, fresh_truth: np.ndarray, version: int) -> np.ndarray:
    """Fresh rows scored by the generator's exact cells, filled with the training labels' rates.

    A cell is a distinct true probability (the generator's three steps), rounded to 6 decimals.
    """
    rates = train.groupby(np.round(generator_probability(train, version), 6))[TARGET].mean()
    fallback = float(train[TARGET].mean())
    return pd.Series(np.round(fresh_truth, 6)).map(rates).fillna(fallback).to_numpy()


def bench_version(base: Params, version: int, rows: int) -> VersionResult:
    """Train as the pipeline does on one version, judge it on fresh rows."""
    data = generate_frame(version, base.generate.n_samples)
    train, _ = holdout_split(data, test_size=base.train.test_size, seed=base.train.split_seed)
    fresh = generate_frame(version, rows, seed=FRESH_SEED_BASE + version)
    y = fresh[TARGET].to_numpy()
    started = time.perf_counter()
    result = fit_model(train, base.train)
    seconds = time.perf_counter() - started
    scores = result.model.predict_proba(fresh[FEATURES])[:, 1]
    decided = scores >= result.threshold
    bands = compare_groups(
        y,
        decided,
        age_band_labels(fresh["age"], list(base.evaluate.age_bands)).to_numpy(),
        alpha=base.evaluate.fairness_alpha,
        min_positives=1,
    )
    truth = generator_probability(fresh, version)
    auc, bayes = float(roc_auc_score(y, scores)), float(roc_auc_score(y, truth))
    decision_metrics = thresholded_metrics(y, decided)
    recall, precision = decision_metrics["recall"], decision_metrics["precision"]
    ece = calibration_error(y, scores, base.evaluate.calibration_bins)
    reference = cell_reference(train, truth, version)
    reference_ece = calibration_error(y, reference, base.evaluate.calibration_bins)
    reference_auc = float(roc_auc_score(y, reference))
    shared = " (also the cell reference)"
    misses = []
    if bands.gap.value is None or bands.gap.value * 100 > MAX_GAP_PP:
        misses.append("fairness")
    if ece > MAX_CALIBRATION_ERROR:
        misses.append("calibration" + (shared if reference_ece > MAX_CALIBRATION_ERROR else ""))
    if bayes - auc > MAX_AUC_GAP:
        misses.append("auc" + (shared if bayes - reference_auc > MAX_AUC_GAP else ""))
    if recall < base.train.threshold.min_recall - RECALL_SLACK:
        misses.append("recall")
    return VersionResult(
        version=version,
        columns=list(result.columns),
        hyperparameters=dict(result.hyperparameters),
        calibration=f"{result.calibration.method} ({len(result.calibration.x)} knots)",
        threshold=result.threshold,
        recall=recall,
        precision=precision,
        band_recall={name: (e.value, e.support) for name, e in bands.by_group.items()},
        gap=bands.gap.value,
        gap_interval=(bands.gap.low, bands.gap.high),
        calibration_error=ece,
        reference_calibration_error=reference_ece,
        reference_auc=reference_auc,
        auc=auc,
        bayes_auc=bayes,
        fit_seconds=seconds,
        misses=misses,
    )


def _pp(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 100:.1f}"


def table_row(r: VersionResult, band_order: list[str]) -> str:
    bands = " / ".join(
        f"{'n/a' if value is None else format(value, '.3f')} ({positives})"
        for value, positives in (r.band_recall[b] for b in band_order)
    )
    hyper = ", ".join(f"{k}={v}" for k, v in sorted(r.hyperparameters.items()))
    return (
        f"| {r.version} | {', '.join(r.columns)} | {hyper} | {r.calibration} | {r.threshold:.3f} "
        f"| {r.recall:.3f} | {r.precision:.3f} | {bands} "
        f"| {_pp(r.gap)} [{_pp(r.gap_interval[0])}, {_pp(r.gap_interval[1])}] "
        f"| {r.calibration_error:.4f} ({r.reference_calibration_error:.4f}) "
        f"| {r.auc:.4f} / {r.bayes_auc:.4f} = {r.bayes_auc - r.auc:.4f} "
        f"({r.bayes_auc - r.reference_auc:.4f}) | {r.fit_seconds:.1f} "
        f"| {', '.join(r.misses) or 'all met'} |"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    parser.add_argument("--versions", type=int, nargs="+", default=list(range(1, 11)))
    parser.add_argument("--rows", type=int, default=200_000)
    args = parser.parse_args(argv)
    base = load_params(args.params)
    edges = list(base.evaluate.age_bands)
    band_order = list(age_band_labels(pd.Series([0, *edges]), edges))
    print(
        f"training rows: {round(base.generate.n_samples * (1 - base.train.test_size))} per version; "
        f"fresh sample: {args.rows} rows per version, seed {FRESH_SEED_BASE} + version; "
        f"threshold policy {base.train.threshold.policy}, min_recall {base.train.threshold.min_recall}"
    )
    print(
        f"| version | columns kept | hyperparameters | calibration | threshold | recall "
        f"(>= {base.train.threshold.min_recall - RECALL_SLACK:.2f}) | precision "
        f"| recall {' / '.join(band_order)} "
        f"(positives) | age gap pp [95% CI] (<= {MAX_GAP_PP:g}) | calibration error (cell ref) "
        f"(<= {MAX_CALIBRATION_ERROR}) | AUC / Bayes = gap (cell ref) (<= {MAX_AUC_GAP}) | fit s "
        f"| targets missed |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    results = []
    for version in args.versions:
        result = bench_version(base, version, args.rows)
        results.append(result)
        print(table_row(result, band_order), flush=True)
    missed = [r for r in results if r.misses]
    print(f"versions meeting every target: {len(results) - len(missed)} of {len(results)}")
    for target in ("fairness", "calibration", "auc", "recall"):
        met = sum(not any(m.startswith(target) for m in r.misses) for r in results)
        print(f"  {target}: met on {met} of {len(results)}")
    return 1 if missed else 0


if __name__ == "__main__":
    raise SystemExit(main())
