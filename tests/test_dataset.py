"""CSV validation: a wrong column or value stops the stage with one line naming the column."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from attrition.dataset import (
    COLUMNS,
    DatasetError,
    age_band_labels,
    completed_years,
    holdout_split,
    read_dataset,
)
from attrition.method.synthetic import generate_frame
from attrition.pipeline import train

GOOD = "age,job_role,monthly_income,years_at_company,attrition\n"


def _csv(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "data.csv"
    path.write_text(text)
    return path


def test_reads_a_generated_dataset(tmp_path: Path) -> None:
    path = tmp_path / "v1.csv"
    generate_frame(1, 50).to_csv(path, index=False)
    frame = read_dataset(path)
    assert list(frame.columns) == COLUMNS and len(frame) == 50


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("age,job_role,monthly_income,attrition\n30,HR,4000,1\n", "years_at_company"),
        ("age,jobrole,monthly_income,years_at_company,attrition\n30,HR,4000,2,1\n", "job_role"),
        (GOOD + "thirty,HR,4000,2,1\n31,HR,5000,3,0\n", "column age must be numeric"),
        (GOOD + "30,HR,lots,2,1\n31,HR,5000,3,0\n", "monthly_income"),
        (GOOD + "30,HR,4000,2,yes\n31,HR,5000,3,0\n", "attrition must be 0 or 1"),
        (GOOD + "30,,4000,2,1\n31,HR,5000,3,0\n", "job_role"),
        (GOOD, "no rows"),
        ("", "not a readable CSV"),
    ],
)
def test_bad_csv_names_the_column(tmp_path: Path, text: str, needle: str) -> None:
    with pytest.raises(DatasetError) as caught:
        read_dataset(_csv(tmp_path, text))
    assert needle in str(caught.value)
    assert "\n" not in str(caught.value)


def test_train_stage_rejects_bad_csv_and_keeps_old_model(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = _csv(tmp_path, GOOD + "thirty,HR,4000,2,1\n")
    model, record = tmp_path / "model.joblib", tmp_path / "train.json"
    model.write_bytes(b"old model")
    params = tmp_path / "params.yaml"
    params.write_text("version: 1\n")
    code = train.main(
        ["--params", str(params), "--data", str(data), "--model", str(model), "--record", str(record)]
    )
    assert code == 2
    assert "column age must be numeric" in capsys.readouterr().err
    assert model.read_bytes() == b"old model" and not record.exists()


def test_holdout_split_is_stratified_and_repeatable() -> None:
    frame = generate_frame(2, 800)
    train_a, test_a = holdout_split(frame, test_size=0.2, seed=42)
    train_b, test_b = holdout_split(frame, test_size=0.2, seed=42)
    assert len(test_a) == 160 and test_a.index.equals(test_b.index) and train_a.index.equals(train_b.index)
    assert abs(test_a["attrition"].mean() - frame["attrition"].mean()) < 0.01
    assert pd.Index(train_a.index).intersection(test_a.index).empty


def test_age_bands_are_upper_exclusive() -> None:
    labels = age_band_labels(pd.Series([22, 29, 30, 44, 45, 59]), [30, 45])
    assert labels.tolist() == ["<30", "<30", "30-44", "30-44", "45+", "45+"]


def test_completed_years_counts_a_birthday_on_its_calendar_day() -> None:
    """The one ageing rule of the HRIS simulator and the feature store, against the calendar by hand."""
    rng = np.random.default_rng(0)
    starts = np.datetime64("1960-01-01") + rng.integers(0, 25_000, 2000).astype("timedelta64[D]")
    ends = np.datetime64("1990-01-01") + rng.integers(0, 20_000, 2000).astype("timedelta64[D]")
    expected = []
    for start, end in zip(starts.astype(object), ends.astype(object), strict=True):
        expected.append(end.year - start.year - ((end.month, end.day) < (start.month, start.day)))
    assert completed_years(starts, ends).tolist() == expected
    leap = np.array(["2000-02-29"], dtype="datetime64[D]")
    assert completed_years(leap, np.datetime64("2001-02-28"))[0] == 0
    assert completed_years(leap, np.datetime64("2001-03-01"))[0] == 1
