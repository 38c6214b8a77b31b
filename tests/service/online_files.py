"""Online feature files for the service tests, written the way `attrition features materialize` writes
them (online_file_bytes: gzip-compressed JSON, atomic replace). Imported explicitly by the tests (never
through conftest); needs neither pyarrow nor numpy, like the service that reads the files.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any

from attrition.columns import FEATURES
from attrition.features.online import OnlineSnapshot, online_file_bytes

AS_OF = date(2024, 3, 31)
# Active employees: roles every fixture package knows; Carla's tenure is implausible for her age.
ACTIVE: dict[str, dict[str, Any]] = {
    "E000001": {"age": 34, "job_role": "Sales", "monthly_income": 5200.0, "years_at_company": 4},
    "E000003": {"age": 20, "job_role": "HR", "monthly_income": 2800.5, "years_at_company": 9},
}
TERMINATED: dict[str, date] = {"E000002": date(2024, 2, 20)}


def online_bytes(
    active: Mapping[str, Mapping[str, Any]] = ACTIVE,
    terminated: Mapping[str, date] = TERMINATED,
    *,
    version: int = 7,
    as_of: date = AS_OF,
) -> bytes:
    """A materialized file's bytes: the active rows, and the departed ones with their last date."""
    rows = {i: [features[name] for name in FEATURES] for i, features in active.items() if i not in terminated}
    return online_file_bytes(OnlineSnapshot(rows, dict(terminated), as_of, version, as_of))


def replace_file(path: Path, data: bytes) -> None:
    """Write `data` to `path` atomically, as materialize does (a reader never sees half a file)."""
    partial = path.with_name(f".{path.name}.partial")
    partial.write_bytes(data)
    partial.replace(path)


def write_online(path: Path, **options: Any) -> Path:
    """An online feature file at `path` (online_bytes' options); returns the path."""
    replace_file(path, online_bytes(**options))
    return path
