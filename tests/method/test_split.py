"""The out-of-time split and employee-grouped folds (method.split; fitting.search_folds, selection_folds)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from attrition.dataset import DatasetError
from attrition.method.fitting import _cv_subsample, search_folds, selection_folds
from attrition.method.split import employee_groups, split_rows, split_summary
from attrition.params import parse_params

pytestmark = pytest.mark.unit

HRIS = {"source": "hris", "store": "s", "table_version": 3, "as_of": "2025-12-31"}


def snapshots(months: list[str], employees: int = 40, seed: int = 0) -> pd.DataFrame:
    """`employees` rows per snapshot date, labels random, ids repeated across snapshots."""
    rng = np.random.default_rng(seed)
    rows = [
        {
            "employee_id": f"E{i:03d}",
            "snapshot_date": month,
            "age": int(rng.integers(20, 60)),
            "job_role": str(rng.choice(["Sales", "HR", "Engineering"])),
            "monthly_income": float(rng.integers(2000, 9000)),
            "years_at_company": int(rng.integers(0, 20)),
            "attrition": int(rng.random() < 0.3),
        }
        for month in months
        for i in range(employees)
    ]
    return pd.DataFrame(rows)


MONTHS = [f"{year}-{month:02d}-28" for year in (2023, 2024) for month in range(1, 13)]


def test_the_hold_out_is_the_latest_snapshot_and_training_labels_were_known_by_then() -> None:
    params = parse_params({"version": 3, "data": {**HRIS, "horizon_months": 12}})
    frame = snapshots(MONTHS)
    train, holdout = split_rows(frame, params)
    assert set(holdout["snapshot_date"]) == {"2024-12-28"}
    # label windows of training rows end by the hold-out date: snapshot + 12 months <= 2024-12-28
    assert train["snapshot_date"].max() == "2023-12-28"
    assert len(train) == 12 * 40
    summary = split_summary(frame, params)
    assert summary["method"] == "out_of_time"
    assert summary["holdout_snapshots"] == ["2024-12-28"]
    assert summary["train_last_snapshot"] == "2023-12-28"


def test_more_hold_out_snapshots_move_the_training_limit_back() -> None:
    params = parse_params({"version": 3, "data": {**HRIS, "horizon_months": 6, "holdout_snapshots": 3}})
    train, holdout = split_rows(snapshots(MONTHS), params)
    assert sorted(set(holdout["snapshot_date"])) == ["2024-10-28", "2024-11-28", "2024-12-28"]
    assert train["snapshot_date"].max() == "2024-04-28"


def test_a_history_shorter_than_the_horizon_is_refused_in_one_line() -> None:
    params = parse_params({"version": 3, "data": {**HRIS, "horizon_months": 24}})
    with pytest.raises(DatasetError, match="no snapshot's label was known by the first hold-out date"):
        split_rows(snapshots(MONTHS), params)


def test_rows_without_snapshot_columns_are_refused_for_hris() -> None:
    params = parse_params({"version": 3, "data": HRIS})
    with pytest.raises(DatasetError, match=r"missing column.*snapshot_date"):
        split_rows(snapshots(MONTHS).drop(columns="snapshot_date"), params)


def test_seed_rows_keep_the_stratified_split() -> None:
    params = parse_params({"version": 3})
    frame = snapshots(MONTHS[:1], employees=200).drop(columns=["employee_id", "snapshot_date"])
    train, holdout = split_rows(frame, params)
    assert len(holdout) == 40 and len(train) == 160
    assert employee_groups(frame) is None
    assert split_summary(frame, params)["method"] == "stratified"


def test_no_employee_is_in_two_folds_of_the_search_or_of_selection() -> None:
    params = parse_params({"version": 3, "data": HRIS})
    frame = snapshots(MONTHS[:6], employees=60)
    folds, repeated = search_folds(frame, params.train), selection_folds(frame, params.train)
    assert len(folds) == params.train.cv.folds
    assert len(repeated) == params.train.cv.folds * params.train.selection.repeats
    ids = frame["employee_id"].to_numpy()
    for fit_rows, test_rows in [*folds, *repeated]:
        assert not set(ids[fit_rows]) & set(ids[test_rows])
    # every row is tested exactly once per repetition (cross_val_predict needs a partition)
    tested = np.sort(np.concatenate([test for _, test in folds]))
    assert (tested == np.arange(len(frame))).all()


def test_the_search_subsample_keeps_whole_employees() -> None:
    frame = snapshots(MONTHS, employees=50)
    subsample = _cv_subsample(frame, max_rows=300, seed=42)
    assert len(subsample) <= 300
    counts = subsample["employee_id"].value_counts()
    assert (counts == len(MONTHS)).all()  # an employee is in with every snapshot or not at all
    again = _cv_subsample(frame, max_rows=300, seed=42)
    assert subsample.index.equals(again.index)
