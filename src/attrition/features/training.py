"""Point-in-time training sets: features as the HRIS showed them at t, the label from (t, t + horizon].

For an as-of date T and a horizon H the snapshot dates are a monthly grid t_k = T - H - k * every
(k = 0, 1, ... back to the first extract; a month end stays a month end), each with its label end
e_k = T - k * every <= T. A row is an employee active at t_k (hired on or before t_k, shown by an
extract on or before t_k, not terminated on or before t_k), with:

- features from the employee's latest state whose valid_from <= t_k (DuckDB ``ASOF JOIN``), age and
  years_at_company computed at t_k from that state's birth and hire dates: nothing from after t_k;
- ``attrition`` = 1 when the termination date the HRIS shows as of T falls in (t_k, e_k]: rows
  shown after T (a late-reported termination included) are never read, so no label comes from
  after T.

The table is read at one pinned Delta version (the latest unless given), recorded with the result;
the same version and arguments give the same rows in the same order, and the same CSV bytes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from attrition.dataset import FEATURES, TARGET, completed_years
from attrition.features.schema import FeatureStoreError, add_months
from attrition.features.store import FilledState, read_filled_state

COLUMNS: list[str] = ["employee_id", "snapshot_date", *FEATURES, TARGET]
MAX_SNAPSHOTS = 1200  # a century of monthly snapshots: bounds the grid loop


@dataclass(frozen=True)
class TrainingSet:
    """The rows and what they were read from: the table version is what makes them reproducible."""

    frame: pd.DataFrame  # COLUMNS, sorted by snapshot_date then employee_id
    table_version: int
    latest_extract: date
    as_of: date
    horizon_months: int
    every_months: int
    snapshot_dates: tuple[date, ...]

    def record(self, store_uri: str) -> dict[str, Any]:
        """What a DVC stage keeps beside the CSV: enough to rebuild it byte for byte."""
        return {
            "store": store_uri,
            "table_version": self.table_version,
            "latest_extract": self.latest_extract.isoformat(),
            "as_of": self.as_of.isoformat(),
            "horizon_months": self.horizon_months,
            "every_months": self.every_months,
            "snapshots": len(self.snapshot_dates),
            "first_snapshot": self.snapshot_dates[0].isoformat(),
            "last_snapshot": self.snapshot_dates[-1].isoformat(),
            "rows": len(self.frame),
            "positives": int(self.frame[TARGET].sum()),
        }


def snapshot_grid(
    as_of: date, horizon_months: int, every_months: int, first: date
) -> list[tuple[date, date]]:
    """(snapshot date, label end) pairs, oldest first, back to the first date the store knows."""
    grid = []
    for k in range(MAX_SNAPSHOTS):
        snapshot = add_months(as_of, -(horizon_months + k * every_months))
        if snapshot < first:
            break
        grid.append((snapshot, add_months(as_of, -k * every_months)))
    return grid[::-1]


# Employees are keyed by an integer (their rank by id) for the window, ASOF and sort work: DuckDB
# partitions and sorts integers about twice as fast as the id strings. The rank keeps the id order.
_POINT_IN_TIME = """
WITH ids AS (
    SELECT employee_id, row_number() OVER (ORDER BY employee_id) AS key
    FROM (SELECT DISTINCT employee_id FROM changes WHERE valid_from <= $as_of)
),
known AS (
    SELECT ids.key, c.* FROM changes c JOIN ids USING (employee_id) WHERE c.valid_from <= $as_of
),
final AS (
    SELECT key, employee_id, termination_date AS final_termination,
           min(valid_from) OVER (PARTITION BY key) AS first_seen
    FROM known
    QUALIFY row_number() OVER (PARTITION BY key ORDER BY valid_from DESC) = 1
),
spine AS (
    SELECT f.key, f.employee_id, s.snapshot_date, s.label_end, f.final_termination
    FROM final f JOIN snapshots s ON f.first_seen <= s.snapshot_date
    WHERE f.final_termination IS NULL OR f.final_termination > s.snapshot_date
)
SELECT sp.employee_id, sp.snapshot_date, k.birth_date, k.hire_date, k.job_role, k.monthly_income,
       CAST(sp.final_termination IS NOT NULL AND sp.final_termination <= sp.label_end AS INTEGER)
           AS attrition
FROM spine sp ASOF JOIN known k
    ON sp.key = k.key AND sp.snapshot_date >= k.valid_from
WHERE k.hire_date <= sp.snapshot_date
ORDER BY sp.snapshot_date, sp.key
"""


def point_in_time_rows(changes: pa.Table, grid: list[tuple[date, date]], as_of: date) -> pd.DataFrame:
    """The labelled rows of `grid` from change rows (the store's schema); pure, no store access."""
    snapshots = pa.table(
        {
            "snapshot_date": pa.array([snapshot for snapshot, _ in grid], pa.date32()),
            "label_end": pa.array([end for _, end in grid], pa.date32()),
        }
    )
    connection = duckdb.connect()
    try:
        connection.register("changes", changes)
        connection.register("snapshots", snapshots)
        rows = connection.sql(_POINT_IN_TIME, params={"as_of": as_of}).to_arrow_table()
    finally:
        connection.close()

    def days(column: str) -> np.ndarray:
        return rows[column].to_numpy(zero_copy_only=False).astype("datetime64[D]")

    snapshot = days("snapshot_date")
    return pd.DataFrame(
        {
            "employee_id": rows["employee_id"].to_pandas().astype("str"),
            "snapshot_date": snapshot,
            "age": completed_years(days("birth_date"), snapshot),
            "job_role": rows["job_role"].to_pandas().astype("str"),
            "monthly_income": rows["monthly_income"].to_numpy(),
            "years_at_company": completed_years(days("hire_date"), snapshot),
            TARGET: rows[TARGET].to_numpy().astype(np.int64),
        },
        columns=COLUMNS,
    )


def known_state(
    store_uri: str, as_of: date, table_version: int | None, storage_options: dict[str, str] | None
) -> FilledState:
    """The store at `table_version`, refused when it cannot know every leaver up to `as_of`."""
    state = read_filled_state(store_uri, table_version, storage_options)
    if as_of > state.latest_extract:
        raise FeatureStoreError(
            f"as-of {as_of} is after the latest extract {state.latest_extract} in table version "
            f"{state.version}: leavers after it are not known yet; allowed: --as-of <= {state.latest_extract}"
        )
    return state


def training_set(
    store_uri: str,
    as_of: date,
    horizon_months: int,
    every_months: int = 1,
    table_version: int | None = None,
    storage_options: dict[str, str] | None = None,
) -> TrainingSet:
    """Labelled snapshot rows as of `as_of` from the store at `table_version` (None: the latest).

    Raises FeatureStoreError when the store has no table, the version is unknown, `as_of` is after
    the latest extract that version applied (labels up to `as_of` are not known yet), or no
    snapshot date fits between the first extract and `as_of` - `horizon_months`.
    """
    if horizon_months < 1 or every_months < 1:
        raise FeatureStoreError("horizon and every must be at least 1 month; allowed: e.g. 12mo, 1mo")
    state = known_state(store_uri, as_of, table_version, storage_options)
    first = state.changes["valid_from"].to_numpy(zero_copy_only=False).min().astype("datetime64[D]")
    first_date = date.fromisoformat(str(first))
    grid = snapshot_grid(as_of, horizon_months, every_months, first_date)
    if not grid:
        raise FeatureStoreError(
            f"no snapshot date: {as_of} - {horizon_months} months = {add_months(as_of, -horizon_months)} "
            f"is before the first extract {first_date}; allowed: a later --as-of or a shorter --horizon"
        )
    frame = point_in_time_rows(state.changes, grid, as_of)
    return TrainingSet(
        frame,
        state.version,
        state.latest_extract,
        as_of,
        horizon_months,
        every_months,
        tuple(snapshot for snapshot, _ in grid),
    )


def outcome_rows(
    store_uri: str,
    as_of: date,
    horizon_months: int,
    table_version: int | None = None,
    storage_options: dict[str, str] | None = None,
) -> tuple[pd.DataFrame, int]:
    """The monitor's outcomes (employee_id, attrition, observed_at) and the table version read.

    The cohort is every employee active at S = `as_of` - `horizon_months`; attrition = 1 when they left
    in (S, as_of], the label a prediction made at S is judged by, known completely at `as_of`
    (observed_at). The same point-in-time rule as a training set's last snapshot, so the monitor's
    realized recall and the training labels mean the same thing.
    """
    state = known_state(store_uri, as_of, table_version, storage_options)
    start = add_months(as_of, -horizon_months)
    rows = point_in_time_rows(state.changes, [(start, as_of)], as_of)
    if rows.empty:
        raise FeatureStoreError(f"nobody was active on {start} ({as_of} - {horizon_months} months)")
    outcomes = pd.DataFrame(
        {"employee_id": rows["employee_id"], "attrition": rows[TARGET], "observed_at": as_of.isoformat()}
    )
    return outcomes, state.version


def training_csv_bytes(frame: pd.DataFrame) -> bytes:
    """The rows as CSV: ISO dates, the seed's float format; equal frames give equal bytes."""
    text = frame.to_csv(index=False, lineterminator="\n", date_format="%Y-%m-%d")
    return str(text).encode("utf-8")
