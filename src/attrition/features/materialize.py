"""Materialize the online store: each employee's state as of a date, features computed at that date.

Reads the table at one pinned version (the latest unless given). The state is the latest row with
valid_from on or before the date, so a materialization as of a past date shows what the HRIS showed
then; employees hired after the date are left out (unknown), those whose termination date is on or
before it are kept as terminated. The features are computed on Arrow columns (a million rows in
seconds) and handed to attrition.features.online as plain Python values, which it writes as JSON.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from attrition.columns import FEATURES
from attrition.dataset import completed_years
from attrition.features.online import OnlineSnapshot
from attrition.features.schema import FeatureStoreError
from attrition.features.store import read_filled_state, state_as_of_sql

ONLINE_SCHEMA = pa.schema(
    [
        pa.field("employee_id", pa.string(), nullable=False),
        pa.field("age", pa.int64(), nullable=False),
        pa.field("job_role", pa.string(), nullable=False),
        pa.field("monthly_income", pa.float64(), nullable=False),
        pa.field("years_at_company", pa.int64(), nullable=False),
        pa.field("termination_date", pa.date32(), nullable=True),  # null: active on the as-of date
    ]
)


def current_rows(changes: pa.Table, as_of: date) -> pa.Table:
    """Each employee's state as of `as_of` (hired by then), sorted by employee_id; pure."""
    connection = duckdb.connect()
    try:
        connection.register("changes", changes)
        query = f"SELECT * FROM ({state_as_of_sql('changes')}) WHERE hire_date <= $as_of ORDER BY employee_id"
        return connection.sql(query, params={"as_of": as_of}).to_arrow_table()
    finally:
        connection.close()


def online_table(state: pa.Table, as_of: date) -> pa.Table:
    """ONLINE_SCHEMA rows from states: features at `as_of`, termination_date only if on or before it."""
    day = np.datetime64(as_of.isoformat(), "D")

    def dates(column: str) -> np.ndarray:
        return state[column].to_numpy(zero_copy_only=False).astype("datetime64[D]")

    ended = dates("termination_date")
    left = ~np.isnat(ended) & (ended <= day)
    return pa.Table.from_arrays(
        [
            state["employee_id"],
            pa.array(completed_years(dates("birth_date"), day), pa.int64()),
            state["job_role"],
            state["monthly_income"],
            pa.array(completed_years(dates("hire_date"), day), pa.int64()),
            pa.array(np.where(left, ended, np.datetime64("NaT", "D")), pa.date32(), from_pandas=True),
        ],
        schema=ONLINE_SCHEMA,
    )


def snapshot_rows(table: pa.Table) -> tuple[dict[str, tuple[Any, ...]], dict[str, date]]:
    """ONLINE_SCHEMA rows as an OnlineSnapshot's: active ids to their FEATURES values (Python ints,
    str, float), departed ids to their termination date. Split in Arrow: no Python loop per row."""
    departed = pc.is_valid(table["termination_date"])
    active, left = table.filter(pc.invert(departed)), table.filter(departed)
    features = zip(*(active[name].to_pylist() for name in FEATURES), strict=True)
    return (
        dict(zip(active["employee_id"].to_pylist(), features, strict=True)),
        # through NumPy: datetime64[D].tolist() gives dates twenty times as fast as Arrow's to_pylist
        dict(zip(left["employee_id"].to_pylist(), left["termination_date"].to_numpy().tolist(), strict=True)),
    )


def materialize(
    store_uri: str,
    as_of: date,
    table_version: int | None = None,
    storage_options: dict[str, str] | None = None,
) -> OnlineSnapshot:
    """Every employee's online features as of `as_of` from the store at `table_version` (None: latest).

    Raises FeatureStoreError when the store has no table, the version is unknown, or nobody is
    employed as of `as_of` in it.
    """
    state = read_filled_state(store_uri, table_version, storage_options)
    rows = current_rows(state.changes, as_of)
    if rows.num_rows == 0:
        raise FeatureStoreError(
            f"{store_uri}: no employee is known as of {as_of} (table version {state.version}); "
            "allowed: a date on or after the first extract"
        )
    active, left = snapshot_rows(online_table(rows, as_of))
    return OnlineSnapshot(active, left, as_of, state.version, state.latest_extract)
