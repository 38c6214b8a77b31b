"""Stage `train`: pick hyperparameters by cross-validation on the training split, fit, pick a threshold.

The hold-out split is never seen here; evaluate touches it once. ``model.joblib`` and the training
record are functions of the data, params.yaml and the code only, so both reproduce bit for bit; the
fit's wall time goes to the run record.
"""

from __future__ import annotations

import io
import time
from pathlib import Path
from typing import Any

import joblib
import pandas as pd
from sklearn.pipeline import Pipeline

from attrition.atomic import atomic_write_bytes, atomic_write_text
from attrition.canonical_json import json_text
from attrition.dataset import FEATURES, read_dataset
from attrition.method.fitting import (
    TrainingResult,
    fit_model,
    input_schema,
)
from attrition.method.split import split_rows, split_summary
from attrition.modelpkg.artifact import (
    CvSummary,
    Sample,
    Split,
    ThresholdChoice,
    TrainingRecord,
    md5_file,
)
from attrition.params import Params, load_params
from attrition.pipeline.stage import run_stage, stage_parser
from attrition.provenance import code_identity


def sample_profiles(model: Any, train: pd.DataFrame, count: int) -> list[Sample]:
    """The first `count` training rows with the probabilities the in-memory model gives them.

    Recorded before serialization, so verifying a package checks the joblib round trip itself.
    """
    rows = train[FEATURES].head(count)
    probabilities = model.predict_proba(rows)[:, 1]
    profiles = rows.astype(object).to_dict(orient="records")
    return [
        Sample(
            profile={k: (v.item() if hasattr(v, "item") else v) for k, v in p.items()},
            probability=float(prob),
        )
        for p, prob in zip(profiles, probabilities, strict=True)
    ]


def model_bytes(model: Pipeline) -> bytes:
    """joblib serialization to memory, so the file can be written atomically."""
    buffer = io.BytesIO()
    joblib.dump(model, buffer)
    return buffer.getvalue()


def training_record(
    params: Params, result: TrainingResult, train: pd.DataFrame, split: dict[str, Any]
) -> TrainingRecord:
    """What evaluate and package need from training: content only, so it is identical on every rebuild."""
    return TrainingRecord(
        input_schema=input_schema(train),
        samples=sample_profiles(result.model, train, params.train.sample_profiles),
        model_family=params.train.model,
        hyperparameters=result.hyperparameters,
        hyperparameter_grid=params.train.grid(),
        split=Split(**split),
        training_rows=len(train),
        cv=CvSummary(
            folds=params.train.cv.folds,
            seed=params.train.cv.seed,
            rows=result.cv_rows,
            scores=result.cv,
            threshold_metrics=result.cv_threshold_metrics,
        ),
        threshold=ThresholdChoice(
            policy=params.train.threshold.policy,
            min_recall=params.train.threshold.min_recall,
            value=result.threshold,
            cv_value=result.cv_threshold,
            flag_rate=result.flag_rate,
        ),
        method=result.method(),
        code=code_identity(),
    )


def main(argv: list[str] | None = None) -> int:
    parser = stage_parser("train", "Train the attrition model on one dataset version.")
    parser.add_argument("--data", type=Path, required=True, help="dataset CSV")
    parser.add_argument("--model", type=Path, required=True, help="output model.joblib")
    parser.add_argument("--record", type=Path, required=True, help="output training record JSON")
    args = parser.parse_args(argv)

    def body() -> dict[str, Any]:
        params = load_params(args.params)
        frame = read_dataset(args.data)
        train, _ = split_rows(frame, params)
        started = time.perf_counter()
        result = fit_model(train, params.train)
        wall = time.perf_counter() - started
        record = training_record(params, result, train, split_summary(frame, params))
        atomic_write_bytes(args.model, model_bytes(result.model))
        atomic_write_text(args.record, json_text(record.model_dump(mode="json")))
        dropped = [] if result.selection is None else result.selection.dropped
        print(
            f"train: {params.train.model} {result.hyperparameters} columns {result.columns} "
            f"(dropped {dropped or 'none'}) calibration {result.calibration.method} "
            f"({len(result.calibration.x)} knots) "
            f"cv roc_auc {result.cv['roc_auc']['mean']:.4f}±{result.cv['roc_auc']['std']:.4f} "
            f"threshold {result.threshold:.4f} in {wall:.2f}s -> {args.model}"
        )
        return {"fit_seconds": round(wall, 3), "model_md5": md5_file(args.model)}

    return run_stage("train", body, run_record=args.run_record)


if __name__ == "__main__":
    raise SystemExit(main())
