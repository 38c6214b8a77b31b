"""Stage `evalset`: the labelled rows the promotion gate judges candidate and production on.

The gate needs rows neither model trained on, from the newest population: the candidate version's
hold-out split (the rows evaluate looked at) plus a larger fresh sample of the same dataset version
drawn from the generator with a seed the pipeline never trains on (``seed_base + version``; training
data uses ``1234 + version``). Being a DVC stage, its md5 sits in dvc.lock, so a gate.json naming
that md5 names exactly which rows judged the models. In real use these are the labelled outcomes
(actual leavers joined to past predictions) that the monitoring work collects.

With ``data.source: hris`` there is no generator to draw from, and no need: the evidence is the
out-of-time hold-out, the latest labelled snapshot of the company's own history (method.split).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from attrition.atomic import atomic_write_text
from attrition.dataset import read_dataset
from attrition.method.split import split_rows
from attrition.method.synthetic import generate_frame, to_csv_text
from attrition.params import Params, load_params
from attrition.pipeline.stage import run_stage, stage_parser


def evaluation_frame(params: Params, dataset: pd.DataFrame) -> pd.DataFrame:
    """Hold-out rows of `dataset` followed by the fresh sample, with a `source` column saying which."""
    _, holdout = split_rows(dataset, params)
    if params.data.source == "hris":
        return holdout.assign(source="holdout").reset_index(drop=True)
    fresh = generate_frame(
        params.version, params.evalset.n_samples, seed=params.evalset.seed_base + params.version
    )
    return pd.concat([holdout.assign(source="holdout"), fresh.assign(source="fresh")], ignore_index=True)


def main(argv: list[str] | None = None) -> int:
    parser = stage_parser("evalset", "Write the promotion gate's evaluation rows.")
    parser.add_argument("--data", type=Path, required=True, help="the training rows (stage extract)")
    parser.add_argument("--out", type=Path, required=True, help="evaluation CSV (from dvc.yaml)")
    args = parser.parse_args(argv)

    def body() -> dict[str, int]:
        params = load_params(args.params)
        frame = evaluation_frame(params, read_dataset(args.data))
        atomic_write_text(args.out, to_csv_text(frame))
        counts = frame["source"].value_counts()
        origin = f"dataset version {params.version}" if params.data.source == "seed" else "the store"
        positives = int(frame["attrition"].sum())
        print(
            f"evalset: {len(frame)} rows of {origin} "
            f"({counts.get('holdout', 0)} hold-out, {counts.get('fresh', 0)} fresh, "
            f"{positives} positives) -> {args.out}"
        )
        return {"rows": len(frame), "positives": positives}

    return run_stage("evalset", body, run_record=args.run_record)


if __name__ == "__main__":
    raise SystemExit(main())
