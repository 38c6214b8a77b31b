"""Reading the store at a pinned version, and `refresh`: one HRIS extract in, as one append-only commit.

A refresh compares the extract with each employee's state as of the extract's date and appends a row
(valid_from = the extract date) only for employees that are new or whose state differs, so:

- the same extract twice changes nothing (no commit, no new Delta version);
- an extract older than the latest applied one is refused unless it is a backfill; a backfill adds
  rows dated in the past, which later rows still override from their own dates on;
- a day already applied can only be repeated, never rewritten (that would leave two states of one
  employee on one date): a correction comes with a later extract;
- a new day with no change at all still commits (no rows), so the store knows it is current.

One writer per store at a time (the daily job): two concurrent appends both succeed in Delta.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
from deltalake import CommitProperties, DeltaTable, Transaction, write_deltalake
from deltalake.exceptions import DeltaError, TableNotFoundError

from attrition.features.extract import HrisExtract
from attrition.features.schema import (
    APP_ID,
    CHANGE_SCHEMA,
    STATE_COLUMNS,
    TABLE,
    FeatureStoreError,
    error_line,
    from_days,
    table_uri,
    to_days,
)


@dataclass(frozen=True)
class StoreState:
    """The table as read at one version: every change row, and the latest extract date applied."""

    changes: pa.Table
    version: int | None  # None: the store has no table yet
    latest_extract: date | None


@dataclass(frozen=True)
class RefreshResult:
    extract_date: date
    status: Literal["applied", "unchanged"]
    extract_rows: int
    changed_rows: int
    table_version: int
    latest_extract: date


def open_table(
    store_uri: str, version: int | None = None, storage_options: dict[str, str] | None = None
) -> DeltaTable | None:
    """The store's table at `version` (None: the latest); None when the store has no table yet."""
    try:
        return DeltaTable(table_uri(store_uri), version=version, storage_options=storage_options)
    except TableNotFoundError:
        if version is not None:
            raise FeatureStoreError(f"{store_uri}: no feature table, so no version {version}") from None
        return None
    except DeltaError as error:
        if version is None:
            raise
        latest = open_table(store_uri, None, storage_options)
        if latest is not None and not 0 <= version <= latest.version():
            raise FeatureStoreError(
                f"{store_uri}: no table version {version}; allowed: 0..{latest.version()}"
            ) from None
        raise FeatureStoreError(f"{store_uri}: table version {version}: {error_line(error)}") from None


def read_state(
    store_uri: str, version: int | None = None, storage_options: dict[str, str] | None = None
) -> StoreState:
    """Every change row at `version` (None: the latest) and the latest extract date it records."""
    return table_state(open_table(store_uri, version, storage_options))


@dataclass(frozen=True)
class FilledState:
    """A store that has a table: its change rows, version and latest extract, none of them missing."""

    changes: pa.Table
    version: int
    latest_extract: date


def read_filled_state(
    store_uri: str, version: int | None = None, storage_options: dict[str, str] | None = None
) -> FilledState:
    """:func:`read_state` for readers that need data (training sets, the online file): a store with no
    table yet is a FeatureStoreError saying how to fill it."""
    state = read_state(store_uri, version, storage_options)
    if state.version is None or state.latest_extract is None:
        raise FeatureStoreError(
            f"{store_uri}: no feature table yet; allowed: a store `attrition features refresh` has filled"
        )
    return FilledState(state.changes, state.version, state.latest_extract)


def table_state(table: DeltaTable | None) -> StoreState:
    """:func:`read_state` of a table already opened (None: no table yet)."""
    if table is None:
        return StoreState(CHANGE_SCHEMA.empty_table(), None, None)
    days = table.transaction_version(APP_ID)
    # One thread and no read-ahead: after a threaded read (to_pyarrow_table) the process aborted at
    # exit in about half of the runs that ended right after it ("terminate called without an active
    # exception", exit 134: a parquet reader thread still alive; apache/arrow#34314, delta-rs#2184),
    # which turned the CLI's one-line refusals into crashes (tests/features/test_cli_exit.py).
    # pre_buffer's reads run on pyarrow's I/O pool even with use_threads=False, so it is off too.
    options = ds.ParquetFragmentScanOptions(pre_buffer=False)
    changes = (
        table.to_pyarrow_dataset()
        .to_table(columns=CHANGE_SCHEMA.names, use_threads=False, fragment_scan_options=options)
        .cast(CHANGE_SCHEMA)
    )
    return StoreState(changes, table.version(), None if days is None else from_days(days))


def state_as_of_sql(source: str, parameter: str = "$as_of") -> str:
    """SQL for each employee's latest state shown on or before a date (one row per employee)."""
    return (
        f"SELECT * FROM {source} WHERE valid_from <= {parameter} "
        "QUALIFY row_number() OVER (PARTITION BY employee_id ORDER BY valid_from DESC) = 1"
    )


def extract_table(extract: HrisExtract) -> pa.Table:
    """The extract's rows in the store's schema, valid from the extract's date, sorted by employee."""
    frame = extract.frame.sort_values("employee_id", kind="stable")

    def dates(column: str) -> pa.Array:
        values = frame[column].to_numpy().astype("datetime64[D]")
        return pa.array(values, type=pa.date32(), from_pandas=True)

    valid_from = np.full(len(frame), np.datetime64(extract.extract_date.isoformat(), "D"))
    return pa.Table.from_arrays(
        [
            pa.array(frame["employee_id"].to_numpy(dtype=object), pa.string()),
            pa.array(valid_from, type=pa.date32()),
            dates("hire_date"),
            dates("birth_date"),
            pa.array(frame["job_role"].to_numpy(dtype=object), pa.string()),
            pa.array(frame["monthly_income"].to_numpy(dtype=np.float64), pa.float64()),
            dates("termination_date"),
        ],
        schema=CHANGE_SCHEMA,
    )


def changed_rows(changes: pa.Table, incoming: pa.Table, as_of: date) -> tuple[pa.Table, pa.Table]:
    """(rows of `incoming` that differ from the state as of `as_of`, those among them whose employee
    already has a row dated `as_of`: a rewrite of an applied day)."""
    differs = " OR ".join(f"x.{column} IS DISTINCT FROM c.{column}" for column in STATE_COLUMNS)
    connection = duckdb.connect()
    try:
        connection.register("changes", changes)
        connection.register("incoming", incoming)
        query = (
            f"WITH current AS ({state_as_of_sql('changes')}) "
            "SELECT x.*, c.valid_from AS current_from FROM incoming x "
            "LEFT JOIN current c ON x.employee_id = c.employee_id "
            f"WHERE c.employee_id IS NULL OR {differs} ORDER BY x.employee_id"
        )
        found = connection.sql(query, params={"as_of": as_of}).to_arrow_table()
    finally:
        connection.close()
    rewrite = pc.equal(found["current_from"], pa.scalar(as_of, pa.date32()))
    rewrites = found.filter(pc.fill_null(rewrite, False))
    return found.drop_columns(["current_from"]).cast(CHANGE_SCHEMA), rewrites


def refresh(
    store_uri: str,
    extract: HrisExtract,
    *,
    backfill: bool = False,
    storage_options: dict[str, str] | None = None,
) -> RefreshResult:
    """Apply one checked extract to the store (creating it on the first); see the module docstring.

    Raises FeatureStoreError, writing nothing, for an extract older than the latest without
    `backfill`, or one that would rewrite a day already applied.
    """
    as_of = extract.extract_date
    table = open_table(store_uri, None, storage_options)
    state = table_state(table)
    latest = state.latest_extract
    if latest is not None and as_of < latest and not backfill:
        raise FeatureStoreError(
            f"{extract.source}: extract of {as_of} is older than the latest applied extract {latest}; "
            "allowed: a later extract, or --backfill to add a missed day to the past"
        )
    changed, rewrites = changed_rows(state.changes, extract_table(extract), as_of)
    if rewrites.num_rows:
        differ = "1 employee differs" if rewrites.num_rows == 1 else f"{rewrites.num_rows:,} employees differ"
        raise FeatureStoreError(
            f"{extract.source}: {as_of} was already applied and {differ} from it now "
            f"(first: {rewrites['employee_id'][0]}); allowed: the same extract again "
            "(a no-op), or the correction in a later extract"
        )
    if changed.num_rows == 0 and latest is not None and as_of <= latest:
        assert state.version is not None  # a latest extract means a table
        return RefreshResult(as_of, "unchanged", len(extract.frame), 0, state.version, latest)
    new_latest = as_of if latest is None else max(latest, as_of)
    metadata = {
        "attrition.extract_date": as_of.isoformat(),
        "attrition.extract_source": extract.source,
        "attrition.extract_sha256": extract.sha256,
        "attrition.extract_rows": len(extract.frame),
        "attrition.changed_rows": changed.num_rows,
        "attrition.backfill": as_of < new_latest,
    }
    commit = CommitProperties(
        custom_metadata=metadata, app_transactions=[Transaction(APP_ID, to_days(new_latest))]
    )
    if table is None:
        write_deltalake(
            table_uri(store_uri),
            changed,
            mode="append",
            name=TABLE,
            description="HRIS states by the extract date that first showed them (attrition features)",
            storage_options=storage_options,
            commit_properties=commit,
        )
        created = open_table(store_uri, None, storage_options)
        assert created is not None  # just written
        version = created.version()
    else:
        write_deltalake(table, changed, mode="append", commit_properties=commit)
        version = table.version()
    return RefreshResult(as_of, "applied", len(extract.frame), changed.num_rows, version, new_latest)
