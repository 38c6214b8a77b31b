"""Stage `evaluate`: the one and only look at the hold-out split.

Threshold-free metrics (ROC AUC, average precision, Brier, log loss), thresholded ones at the
package's decision threshold with bootstrap intervals (a 160-row hold-out makes precision and recall
noisy, so their uncertainty is part of the result), calibration, and the deployment plan's fairness
check: recall per age band and per job role, each with its bootstrap interval and positive count, and
the largest gap with its interval, marked ``insufficient_data`` when a group has fewer positives than
``fairness_min_positives`` (a 160-row hold-out has 4-14 positives per age band: its gap is noise).
Everything is logged with dvclive.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
from dvclive.live import Live
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    brier_score_loss,
    f1_score,
    log_loss,
    precision_score,
    recall_score,
    roc_auc_score,
)

from attrition.artifact import PackageError, read_record
from attrition.calibration import model_calibration
from attrition.confidence import Estimate, group_recall
from attrition.curves import confusion_counts, precision_recall_points, roc_points
from attrition.dataset import FEATURES, TARGET, age_band_labels, holdout_split, read_dataset
from attrition.params import EvaluateParams, load_params
from attrition.selection import model_columns
from attrition.stage import run_stage, stage_parser


def thresholded_metrics(y_true: np.ndarray, decided: np.ndarray) -> dict[str, float]:
    """The seed's accuracy/precision/recall plus F1; an empty prediction set scores precision 0."""
    return {
        "accuracy": float(accuracy_score(y_true, decided)),
        "precision": float(precision_score(y_true, decided, zero_division=0)),
        "recall": float(recall_score(y_true, decided, zero_division=0)),
        "f1": float(f1_score(y_true, decided, zero_division=0)),
    }


def score_metrics(y_true: np.ndarray, scores: np.ndarray) -> dict[str, float]:
    """Metrics that do not depend on a threshold."""
    return {
        "roc_auc": float(roc_auc_score(y_true, scores)),
        "average_precision": float(average_precision_score(y_true, scores)),
        "brier": float(brier_score_loss(y_true, scores)),
        "log_loss": float(log_loss(y_true, scores, labels=[0, 1])),
    }


def bootstrap_intervals(
    y_true: np.ndarray, decided: np.ndarray, *, n: int, seed: int, level: float = 0.95
) -> dict[str, tuple[float, float]]:
    """Percentile bootstrap intervals for precision and recall (resampling hold-out rows).

    Resamples without a positive (or without a flagged row) have no recall (precision) and are
    skipped for that metric rather than counted as zero.
    """
    rng = np.random.default_rng(seed)
    y = y_true.astype(bool)
    d = decided.astype(bool)
    precisions: list[float] = []
    recalls: list[float] = []
    for _ in range(n):
        index = rng.integers(0, len(y), size=len(y))
        ys, ds = y[index], d[index]
        hits = np.count_nonzero(ys & ds)
        flagged, positives = np.count_nonzero(ds), np.count_nonzero(ys)
        if flagged:
            precisions.append(hits / flagged)
        if positives:
            recalls.append(hits / positives)
    tail = (1 - level) / 2 * 100
    return {
        name: (float(np.percentile(values, tail)), float(np.percentile(values, 100 - tail)))
        for name, values in (("precision", precisions), ("recall", recalls))
        if values
    }


def calibration_error(y_true: np.ndarray, scores: np.ndarray, bins: int) -> float:
    """Expected calibration error: bin-weighted |observed rate - mean predicted probability|."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(scores, edges[1:-1]), 0, bins - 1)
    total = 0.0
    for b in range(bins):
        members = which == b
        if members.any():
            total += members.mean() * abs(y_true[members].mean() - scores[members].mean())
    return float(total)


INSUFFICIENT = "insufficient_data"
UNDEFINED = "undefined"  # a rate with no rows under it (recall of a group without positives)


def _number(value: float | None) -> float | str:
    """dvclive logs numbers and strings, not None."""
    return UNDEFINED if value is None else value


def _interval(estimate: Estimate) -> dict[str, float | str]:
    return {"low": _number(estimate.low), "high": _number(estimate.high)}


def recall_by_group(
    y_true: np.ndarray, decided: np.ndarray, groups: pd.Series, params: EvaluateParams
) -> dict[str, Any]:
    """Each group's recall with its interval and positives, and the largest gap with its interval.

    The gap's ``status`` is ``insufficient_data`` when any group has fewer than
    ``fairness_min_positives`` positives: the figure is then shown, never acted on.
    """
    result = group_recall(
        y_true,
        decided,
        groups.astype(str).to_numpy(),
        n=params.bootstrap.n,
        seed=params.bootstrap.seed,
        min_positives=params.fairness_min_positives,
    )
    return {
        "by_group": {
            name: {"recall": _number(e.value), "ci95": _interval(e), "positives": e.support}
            for name, e in result.by_group.items()
        },
        "gap": _number(result.gap.value),
        "gap_ci95": _interval(result.gap),
        "status": "measured" if result.sufficient else INSUFFICIENT,
    }


@dataclass(frozen=True)
class Evaluation:
    """The hold-out figures (the shape of metrics.json) and the arrays the plots are drawn from."""

    metrics: dict[str, Any]
    y_true: np.ndarray
    scores: np.ndarray
    decided: np.ndarray


def evaluate(model: Any, holdout: pd.DataFrame, threshold: float, params: EvaluateParams) -> Evaluation:
    """Every hold-out figure, computed once from one pass of the model over the hold-out split."""
    age_bands, calibration_bins = list(params.age_bands), params.calibration_bins
    bootstrap_n, bootstrap_seed = params.bootstrap.n, params.bootstrap.seed
    y_true = holdout[TARGET].to_numpy()
    scores = model.predict_proba(holdout[FEATURES])[:, 1]
    decided = (scores >= threshold).astype(int)
    intervals = bootstrap_intervals(y_true, decided, n=bootstrap_n, seed=bootstrap_seed)
    by_age = recall_by_group(y_true, decided, age_band_labels(holdout["age"], age_bands), params)
    by_role = recall_by_group(y_true, decided, holdout["job_role"].astype(str), params)
    holdout_metrics: dict[str, Any] = {
        "rows": len(holdout),
        "positive_rate": float(y_true.mean()),
        "threshold": threshold,
        **score_metrics(y_true, scores),
        **thresholded_metrics(y_true, decided),
        "calibration_error": calibration_error(y_true, scores, calibration_bins),
    }
    for name, (low, high) in intervals.items():
        holdout_metrics[f"{name}_ci95"] = {"low": low, "high": high}
    fairness: dict[str, Any] = {"min_positives": params.fairness_min_positives}
    for name, groups in (("age", by_age), ("job_role", by_role)):
        axis = "age_band" if name == "age" else name
        fairness[f"recall_by_{axis}"] = groups["by_group"]
        fairness[f"equal_opportunity_difference_{name}"] = groups["gap"]
        fairness[f"equal_opportunity_difference_{name}_ci95"] = groups["gap_ci95"]
        fairness[f"equal_opportunity_difference_{name}_status"] = groups["status"]
    calibration = model_calibration(model)
    method = {
        "columns": ",".join(model_columns(model)),
        "calibration": calibration.method,
        "calibration_knots": len(calibration.x),
    }
    return Evaluation(
        {"holdout": holdout_metrics, "fairness": fairness, "method": method}, y_true, scores, decided
    )


def _flatten(prefix: str, value: Any) -> list[tuple[str, float]]:
    if isinstance(value, dict):
        return [pair for key, item in value.items() for pair in _flatten(f"{prefix}/{key}", item)]
    return [(prefix, value)]


def log_with_dvclive(live_dir: Path, result: Evaluation, cv: dict[str, Any], params: EvaluateParams) -> None:
    """Write metrics.json and the plot data through dvclive, swapped into `live_dir` at the end.

    dvcyaml=False: a run must never edit dvc.yaml; the plots are declared there by hand.
    """
    live_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".live.", dir=live_dir.parent))
    try:
        with Live(
            dir=str(staging), dvcyaml=False, save_dvc_exp=False, report=None, monitor_system=False
        ) as live:
            for section in ("holdout", "fairness", "method"):
                for name, value in _flatten(section, result.metrics[section]):
                    live.log_metric(name, value, plot=False)
            for name, value in _flatten("cv", cv):
                live.log_metric(name, value, plot=False)
            # Bounded plot data (attrition.curves): its size must not grow with the hold-out.
            points, threshold = params.plot_points, result.metrics["holdout"]["threshold"]
            live.log_plot(
                "roc", roc_points(result.y_true, result.scores, threshold, points), x="fpr", y="tpr"
            )
            live.log_plot(
                "precision_recall",
                precision_recall_points(result.y_true, result.scores, threshold, points),
                x="recall",
                y="precision",
            )
            live.log_plot(
                "confusion_matrix",
                confusion_counts(result.y_true, result.decided),
                x="actual",
                y="predicted",
                template="confusion_counts",
            )
            live.log_sklearn_plot(
                "calibration",
                result.y_true,
                result.scores,
                name="calibration.json",
                n_bins=params.calibration_bins,
            )
        for produced in sorted(p for p in staging.rglob("*") if p.is_file()):
            target = live_dir / produced.relative_to(staging)
            target.parent.mkdir(parents=True, exist_ok=True)
            produced.replace(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = stage_parser("evaluate", "Evaluate the trained model on the hold-out split.")
    parser.add_argument("--data", type=Path, required=True, help="dataset CSV")
    parser.add_argument("--model", type=Path, required=True, help="model.joblib from train")
    parser.add_argument("--record", type=Path, required=True, help="training record from train")
    parser.add_argument("--live", type=Path, required=True, help="dvclive directory (metrics/)")
    args = parser.parse_args(argv)

    def body() -> None:
        params = load_params(args.params)
        frame = read_dataset(args.data)
        _, holdout = holdout_split(frame, test_size=params.train.test_size, seed=params.train.split_seed)
        record = read_record(args.record)
        model = joblib.load(args.model)
        result = evaluate(model, holdout, record.threshold.value, params.evaluate)
        log_with_dvclive(args.live, result, record.cv.scores, params.evaluate)
        h = result.metrics["holdout"]
        print(
            f"evaluate: hold-out roc_auc {h['roc_auc']:.4f} precision {h['precision']:.3f} "
            f"recall {h['recall']:.3f} at threshold {h['threshold']:.4f} -> {args.live}"
        )

    return run_stage("evaluate", body, run_record=args.run_record, extra_errors=(PackageError,))


if __name__ == "__main__":
    raise SystemExit(main())
