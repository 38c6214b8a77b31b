"""What judging column selection on a subsample of the CV rows changes (train.selection.max_rows).

At large n the drop-column importances are most of training (repeats x folds x columns refits on up to
cv.max_rows rows). For each dataset version, this trains exactly as the pipeline does (fit_model on the
hold-out split's training side) once per --max-rows value, the first being cv.max_rows (selection on
every CV row, the behaviour before the subsample), and prints what each value chose and cost: kept
columns, hyperparameters, training seconds, the hold-out log loss and ROC AUC, and whether model.joblib
is byte-identical to the first value's. --data runs it on a training-rows CSV instead (e.g. the feature
store's point-in-time set from bench_retrain.py), split as the pipeline splits it.

    .venv/bin/python bench/bench_selection_rows.py [--versions 1 2 3] [--rows 100000] [--max-rows 5000 2000]
"""

from __future__ import annotations

import argparse
import hashlib
import io
import time
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from attrition.dataset import FEATURES, TARGET, read_dataset
from attrition.method.fitting import fit_model
from attrition.method.logloss import log_loss
from attrition.method.split import split_rows
from attrition.method.synthetic import generate_frame
from attrition.params import Params, TrainParams, load_params


def with_selection_rows(params: TrainParams, max_rows: int) -> TrainParams:
    return params.model_copy(update={"selection": params.selection.model_copy(update={"max_rows": max_rows})})


def row(name: str, frame: pd.DataFrame, params: Params, max_rows: list[int]) -> list[str]:
    """One table line per max_rows value for one training set."""
    train, holdout = split_rows(frame, params)
    y = holdout[TARGET].to_numpy()
    lines, first_md5 = [], None
    for value in max_rows:
        started = time.perf_counter()
        result = fit_model(train, with_selection_rows(params.train, value))
        seconds = time.perf_counter() - started
        buffer = io.BytesIO()
        joblib.dump(result.model, buffer)
        md5 = hashlib.md5(buffer.getvalue(), usedforsecurity=False).hexdigest()
        first_md5 = first_md5 or md5
        proba = np.clip(result.model.predict_proba(holdout[FEATURES])[:, 1], 1e-12, 1 - 1e-12)
        judged = result.selection.rows if result.selection is not None else 0
        hyper = ", ".join(f"{k}={v}" for k, v in sorted(result.hyperparameters.items()))
        lines.append(
            f"| {name} | {value:,} ({judged:,} judged) | {', '.join(result.columns)} | {hyper} | "
            f"{seconds:.1f} | {log_loss(y, proba):.5f} | {roc_auc_score(y, proba):.4f} | "
            f"{'same' if md5 == first_md5 else 'differs'} |"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--versions", type=int, nargs="+", default=list(range(1, 11)))
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--max-rows", type=int, nargs="+", default=[5000, 2000])
    parser.add_argument("--data", type=Path, help="a training-rows CSV instead of generated versions")
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    args = parser.parse_args()
    params = load_params(args.params)
    values = [params.train.cv.max_rows, *args.max_rows]
    print(f"selection.max_rows {values[0]:,} = cv.max_rows: selection on every CV row (the reference)")
    print("| training set | selection.max_rows | kept columns | hyperparameters | train s | "
          "hold-out log loss | hold-out ROC AUC | model.joblib |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|")
    if args.data is not None:
        frame = read_dataset(args.data)
        for line in row(f"{args.data.name} ({len(frame):,} rows)", frame, params, values):
            print(line, flush=True)
        return
    for version in args.versions:
        frame = generate_frame(version, args.rows)
        for line in row(f"v{version}, {args.rows:,} rows", frame, params, values):
            print(line, flush=True)


if __name__ == "__main__":
    main()
