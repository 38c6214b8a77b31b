"""Stage `evaluate`: the one and only look at the hold-out split.

Threshold-free metrics (ROC AUC, average precision, Brier, log loss), thresholded ones at the
package's decision threshold with bootstrap intervals (a 160-row hold-out makes precision and recall
noisy, so their uncertainty is part of the result), calibration, and the deployment plan's fairness
check: recall per age band and per job role, each with its bootstrap interval and positive count, and
the largest gap with its interval, marked ``insufficient_data`` when a group has fewer positives than
``fairness_min_positives`` (a 160-row hold-out has 4-14 positives per age band: its gap is noise).
Everything is logged with dvclive.

What the model relies on (issue 24): each input's mean absolute contribution to the probability on the
hold-out rows, exact Shapley values against the background sample the package stores
(attrition.modelpkg.explanation_build.reliance), so a reviewer comparing dataset versions sees whether
it moved. It goes into evaluation.json (``explanations``), not into metrics.json's headline.

Two files: ``metrics.json`` (dvclive's summary, declared as DVC metrics) holds the headline figures
only, so `dvc metrics show` and `dvc exp show` fit a terminal; ``evaluation.json`` (an output of its
own) holds every figure with its interval and count, for the package, the model card and reviewers.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

from dvclive.live import Live

from attrition import canonical_json
from attrition.atomic import atomic_write_text
from attrition.canonical_json import canonicalise_file
from attrition.dataset import read_dataset
from attrition.method.curves import calibration_points, confusion_counts, precision_recall_points, roc_points
from attrition.method.evaluation import (
    Evaluation,
    evaluate,
)
from attrition.method.split import split_rows
from attrition.modelpkg.artifact import PackageError, load_model, read_record
from attrition.modelpkg.explanation_build import reliance
from attrition.modelpkg.scorer import UnsupportedModelError, export_model_data
from attrition.params import EvaluateParams, Params, load_params
from attrition.pipeline.stage import run_stage, stage_parser


def _flatten(prefix: str, value: Any) -> list[tuple[str, float]]:
    if isinstance(value, dict):
        return [pair for key, item in value.items() for pair in _flatten(f"{prefix}/{key}", item)]
    return [(prefix, value)]


# (section, key) of evaluation.json shown in metrics.json: what a reader compares across experiments.
HEADLINE_HOLDOUT = ("roc_auc", "precision", "recall", "threshold")
HEADLINE_FAIRNESS = {
    "age_gap": "equal_opportunity_difference_age",  # the bias-corrected gap between age bands
    "age_gap_status": "equal_opportunity_difference_age_status",
}


def headline(metrics: dict[str, Any]) -> dict[str, Any]:
    """The few figures metrics.json keeps: `dvc metrics show` prints one column per key."""
    return {
        "holdout": {key: metrics["holdout"][key] for key in HEADLINE_HOLDOUT},
        "fairness": {short: metrics["fairness"][key] for short, key in HEADLINE_FAIRNESS.items()},
    }


def evaluation_document(
    metrics: dict[str, Any], cv: dict[str, Any], explanations: dict[str, Any] | None = None
) -> dict[str, Any]:
    """evaluation.json: every hold-out figure with its interval and count, the CV summary, and what the
    model relies on (each input's mean absolute contribution on the hold-out)."""
    return {**metrics, "cv": cv, **({} if explanations is None else {"explanations": explanations})}


def explanations(model: Any, train_rows: Any, holdout: Any, params: Params) -> dict[str, Any]:
    """The hold-out's mean absolute contributions, or why there are none (a model model.json cannot hold)."""
    try:
        model_data = export_model_data(model)
    except UnsupportedModelError as error:
        return {"unavailable": f"not explained: {error}"}
    return reliance(model_data, train_rows, holdout, params.explain)


def log_with_dvclive(live_dir: Path, result: Evaluation, params: EvaluateParams) -> None:
    """Write metrics.json and the plot data through dvclive, swapped into `live_dir` at the end.

    dvcyaml=False: a run must never edit dvc.yaml; the plots are declared there by hand. Every JSON file
    dvclive wrote is rewritten by the canonical writer before it lands: its floats do not depend on the CPU.
    """
    live_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".live.", dir=live_dir.parent))
    try:
        with Live(
            dir=str(staging), dvcyaml=False, save_dvc_exp=False, report=None, monitor_system=False
        ) as live:
            for name, value in _flatten("", headline(result.metrics)):
                live.log_metric(name.lstrip("/"), value, plot=False)
            # Bounded plot data (attrition.method.curves): its size must not grow with the hold-out.
            points, threshold = params.plot_points, result.metrics["holdout"]["threshold"]
            live.log_plot(
                "roc",
                roc_points(
                    result.y_true, result.scores, threshold, points, result.metrics["holdout"]["roc_auc"]
                ),
                x="fpr",
                y="tpr",
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
            live.log_plot(
                "calibration",
                calibration_points(result.y_true, result.scores, params.calibration_bins),
                x="prob_pred",
                y="prob_true",
            )
        for produced in sorted(p for p in staging.rglob("*") if p.is_file()):
            if produced.suffix == ".json":
                canonicalise_file(produced)
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
    parser.add_argument("--out", type=Path, required=True, help="every figure: metrics/evaluation.json")
    args = parser.parse_args(argv)

    def body() -> None:
        params = load_params(args.params)
        frame = read_dataset(args.data)
        train_rows, holdout = split_rows(frame, params)
        record = read_record(args.record)
        model = load_model(args.model)
        result = evaluate(model, holdout, record.threshold.value, params.evaluate)
        log_with_dvclive(args.live, result, params.evaluate)
        atomic_write_text(
            args.out,
            canonical_json.json_text(
                evaluation_document(
                    result.metrics, record.cv.scores, explanations(model, train_rows, holdout, params)
                )
            ),
        )
        h = result.metrics["holdout"]
        print(
            f"evaluate: hold-out roc_auc {h['roc_auc']:.4f} precision {h['precision']:.3f} "
            f"recall {h['recall']:.3f} at threshold {h['threshold']:.4f} -> {args.live}"
        )

    return run_stage("evaluate", body, run_record=args.run_record, extra_errors=(PackageError,))


if __name__ == "__main__":
    raise SystemExit(main())
