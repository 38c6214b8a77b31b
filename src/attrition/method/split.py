"""Which labelled rows train and which judge: the one split train, evaluate, evalset and package share.

Seed data (``data.source: seed``) has one row per employee, drawn independently: a stratified random
hold-out is honest there. A point-in-time training set (``data.source: hris``) has one row per
employee per snapshot date, and a model is used on the future, so its hold-out is *out of time*: the
most recent ``holdout_snapshots`` labelled snapshots. Training keeps only the snapshots whose labels
were already known on the first hold-out date (snapshot + horizon <= that date), exactly what a model
trained then could have seen; rows in between are used by neither side.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import pandas as pd

from attrition.dataset import DatasetError, add_months, holdout_split
from attrition.params import DataParams, Params

ID_COLUMN = "employee_id"
SNAPSHOT_COLUMN = "snapshot_date"


@dataclass(frozen=True)
class OutOfTime:
    """Where an out-of-time split cut: hold-out snapshot dates, and the last training snapshot."""

    holdout_snapshots: list[str]
    train_last_snapshot: str


def snapshot_dates(frame: pd.DataFrame, *, source: str = "training rows") -> list[str]:
    """The distinct snapshot dates (ISO strings), oldest first; DatasetError without the columns."""
    missing = [column for column in (ID_COLUMN, SNAPSHOT_COLUMN) if column not in frame.columns]
    if missing:
        raise DatasetError(
            f"{source}: missing column(s) {', '.join(missing)}; an out-of-time split needs the "
            "point-in-time columns employee_id and snapshot_date (data.source: hris)"
        )
    return sorted(frame[SNAPSHOT_COLUMN].astype(str).unique().tolist())


def out_of_time_cut(frame: pd.DataFrame, data: DataParams) -> OutOfTime:
    """The hold-out snapshots and the last training snapshot; DatasetError when either side is empty."""
    dates = snapshot_dates(frame)
    if len(dates) <= data.holdout_snapshots:
        raise DatasetError(
            f"training rows have {len(dates)} snapshot date(s), and {data.holdout_snapshots} are held "
            "out: nothing left to train on; allowed: a longer history or fewer data.holdout_snapshots"
        )
    holdout = dates[-data.holdout_snapshots :]
    limit = add_months(date.fromisoformat(holdout[0]), -data.horizon_months).isoformat()
    trainable = [day for day in dates if day <= limit]
    if not trainable:
        raise DatasetError(
            f"no snapshot's label was known by the first hold-out date {holdout[0]} (the first snapshot "
            f"{dates[0]} + {data.horizon_months} months is later); allowed: a longer history, a later "
            "data.as_of or a shorter data.horizon_months"
        )
    return OutOfTime(holdout_snapshots=holdout, train_last_snapshot=trainable[-1])


def split_rows(frame: pd.DataFrame, params: Params) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(training rows, hold-out rows) for the data source params.yaml names."""
    if params.data.source == "seed":
        return holdout_split(frame, test_size=params.train.test_size, seed=params.train.split_seed)
    cut = out_of_time_cut(frame, params.data)
    days = frame[SNAPSHOT_COLUMN].astype(str)
    return frame[days <= cut.train_last_snapshot], frame[days >= cut.holdout_snapshots[0]]


def split_summary(frame: pd.DataFrame, params: Params) -> dict[str, Any]:
    """How split_rows cut `frame`, for the training record (models/train.json)."""
    summary: dict[str, Any] = {"test_size": params.train.test_size, "seed": params.train.split_seed}
    if params.data.source == "seed":
        return {**summary, "method": "stratified"}
    cut = out_of_time_cut(frame, params.data)
    return {
        **summary,
        "method": "out_of_time",
        "holdout_snapshots": cut.holdout_snapshots,
        "train_last_snapshot": cut.train_last_snapshot,
    }


def employee_groups(frame: pd.DataFrame) -> pd.Series | None:
    """The employee of each row when rows repeat employees (snapshots), else None (one row each).

    Cross-validation keeps an employee's snapshots in one fold: they share the person and mostly the
    label, so splitting them would score a fold on people the model trained on.
    """
    if ID_COLUMN in frame.columns and frame[ID_COLUMN].duplicated().any():
        return frame[ID_COLUMN]
    return None
