"""Online feature files for the service tests, written the way `attrition features materialize` writes
them (online_parquet_bytes, atomic replace). Imported explicitly by the tests (never through conftest).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa

from attrition.features.online import ONLINE_SCHEMA, OnlineSnapshot, online_parquet_bytes

AS_OF = date(2024, 3, 31)
# Active employees: roles every fixture package knows; Carla's tenure is implausible for her age.
ACTIVE: dict[str, dict[str, Any]] = {
    "E000001": {"age": 34, "job_role": "Sales", "monthly_income": 5200.0, "years_at_company": 4},
    "E000003": {"age": 20, "job_role": "HR", "monthly_income": 2800.5, "years_at_company": 9},
}
TERMINATED: dict[str, date] = {"E000002": date(2024, 2, 20)}
PLACEHOLDER = {"age": 40, "job_role": "Sales", "monthly_income": 1.0, "years_at_company": 1}


def online_bytes(
    active: Mapping[str, Mapping[str, Any]] = ACTIVE,
    terminated: Mapping[str, date] = TERMINATED,
    *,
    version: int = 7,
    as_of: date = AS_OF,
) -> bytes:
    """A materialized file's bytes: the active rows, and the departed ones with their last date."""
    ids = sorted({*active, *terminated})
    rows = [
        {**(active.get(i) or PLACEHOLDER), "employee_id": i, "termination_date": terminated.get(i)}
        for i in ids
    ]
    table = pa.Table.from_pylist(rows, schema=ONLINE_SCHEMA)
    return online_parquet_bytes(OnlineSnapshot(table, as_of, version, as_of))


def replace_file(path: Path, data: bytes) -> None:
    """Write `data` to `path` atomically, as materialize does (a reader never sees half a file)."""
    partial = path.with_name(f".{path.name}.partial")
    partial.write_bytes(data)
    partial.replace(path)


def write_online(path: Path, **options: Any) -> Path:
    """An online feature file at `path` (online_bytes' options); returns the path."""
    replace_file(path, online_bytes(**options))
    return path
