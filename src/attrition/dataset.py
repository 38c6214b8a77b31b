"""The dataset's columns, how a CSV is checked on the way in, and the shared hold-out split.

Every stage reads the CSV through :func:`read_dataset`, so a misspelled column or a text value in a
numeric column stops the pipeline with one line naming the column instead of a stack trace deep in
scikit-learn.
"""

from __future__ import annotations

import calendar
import itertools
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

# The names live in attrition.columns (no numpy or pandas there, for the serving path); re-exported.
from attrition.columns import CATEGORICAL_FEATURES as CATEGORICAL_FEATURES
from attrition.columns import COLUMNS as COLUMNS
from attrition.columns import FEATURES as FEATURES
from attrition.columns import NUMERIC_FEATURES as NUMERIC_FEATURES
from attrition.columns import TARGET as TARGET

# The seed exercise seeds dataset version V with ``np.random.seed(1234 + V)``. Training data follows
# that rule; every fresh labelled sample (the gate's rows, the simulator, the benchmarks) must avoid it.
TRAINING_SEED_BASE = 1234


def training_seed(version: int) -> int:
    """The seed the pipeline draws dataset version `version` with (the seed exercise's rule)."""
    return TRAINING_SEED_BASE + version


class DatasetError(ValueError):
    """A dataset that does not have the documented columns and types."""


def validate_frame(frame: pd.DataFrame, *, source: str = "dataset", labelled: bool = True) -> None:
    """Raise DatasetError naming the first column that is missing or holds the wrong kind of value."""
    expected = COLUMNS if labelled else FEATURES
    missing = [column for column in expected if column not in frame.columns]
    if missing:
        raise DatasetError(
            f"{source}: missing column(s) {', '.join(missing)}; expected columns are "
            f"{', '.join(expected)} (found {', '.join(map(str, frame.columns))})"
        )
    if frame.empty:
        raise DatasetError(f"{source}: has no rows")
    for column in NUMERIC_FEATURES:
        values = pd.to_numeric(frame[column], errors="coerce")
        bad = values.isna()
        if bad.any():
            example = frame.loc[bad.idxmax(), column]
            raise DatasetError(
                f"{source}: column {column} must be numeric with no blanks; "
                f"row {int(bad.idxmax()) + 1} has {example!r}"
            )
    roles = frame["job_role"]
    if roles.isna().any() or (roles.astype(str).str.strip() == "").any():
        raise DatasetError(f"{source}: column job_role must be a non-empty text label in every row")
    if labelled:
        labels = pd.to_numeric(frame[TARGET], errors="coerce")
        if not labels.isin([0, 1]).all():
            raise DatasetError(f"{source}: column {TARGET} must be 0 or 1 in every row")
        if labels.nunique() < 2:
            raise DatasetError(f"{source}: column {TARGET} needs both classes (0 and 1) to train")


def read_dataset(path: Path, *, labelled: bool = True) -> pd.DataFrame:
    """Read and validate a dataset CSV; numeric columns come back numeric, job_role as text."""
    try:
        frame = pd.read_csv(path, dtype={"job_role": str})
    except FileNotFoundError as error:
        raise DatasetError(f"{path}: file not found") from error
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        raise DatasetError(f"{path}: not a readable CSV ({str(error).splitlines()[0]})") from error
    validate_frame(frame, source=str(path), labelled=labelled)
    for column in NUMERIC_FEATURES:
        frame[column] = pd.to_numeric(frame[column])
    if labelled:
        frame[TARGET] = frame[TARGET].astype(int)
    return frame


def holdout_split(frame: pd.DataFrame, *, test_size: float, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Stratified train/hold-out split shared by train and evaluate, so both see the same rows."""
    # Imported here: generate, score and the fresh-process verify never split, and importing
    # scikit-learn's model_selection costs them ~0.4 s of start-up on every `dvc repro`.
    from sklearn.model_selection import train_test_split

    train, holdout = train_test_split(frame, test_size=test_size, random_state=seed, stratify=frame[TARGET])
    return train, holdout


def age_band_labels(ages: pd.Series, edges: list[int]) -> pd.Series:
    """Label ages by upper-exclusive band edges: [30, 45] -> '<30', '30-44', '45+'."""
    names = [f"<{edges[0]}"]
    names += [f"{low}-{high - 1}" for low, high in itertools.pairwise(edges)]
    names.append(f"{edges[-1]}+")
    bins = [-np.inf, *edges, np.inf]
    return pd.cut(ages, bins=bins, labels=names, right=False).astype(str)


def completed_years(start: np.ndarray, end: np.ndarray | np.datetime64) -> np.ndarray:
    """Whole years from each `start` to `end` (datetime64[D]): a birthday counts on its calendar day.

    Age and years_at_company at a date from birth and hire dates: the one rule the HRIS simulator
    ages its people by and the feature store computes features by, so the two always agree.
    """
    start = np.asarray(start, dtype="datetime64[D]")
    end = np.broadcast_to(np.asarray(end, dtype="datetime64[D]"), start.shape)
    start_month, end_month = start.astype("datetime64[M]"), end.astype("datetime64[M]")
    months = end_month.astype(np.int64) - start_month.astype(np.int64)
    start_day = (start - start_month.astype("datetime64[D]")).astype(np.int64)
    end_day = (end - end_month.astype("datetime64[D]")).astype(np.int64)
    return (months - (end_day < start_day)) // 12


def is_month_end(day: date) -> bool:
    return (day + timedelta(days=1)).day == 1


def add_months(day: date, months: int) -> date:
    """`day` moved by `months` (may be negative): a month end stays a month end, else the day is
    clamped to the target month's length (2025-03-30 - 1 month = 2025-02-28).

    The calendar rule of the feature store's snapshot grid and of the out-of-time split, kept here so
    both read one definition.
    """
    index = day.year * 12 + day.month - 1 + months
    year, month = index // 12, index % 12 + 1
    length = calendar.monthrange(year, month)[1]
    return date(year, month, length if is_month_end(day) else min(day.day, length))
