"""The online store: one Parquet file of every employee's features as of a date, looked up in memory.

`attrition features materialize` writes it (attrition.features.materialize); the service loads it once
with :meth:`OnlineStore.load` and answers ``/predict`` by employee id with :meth:`OnlineStore.get`, a
dict lookup. The file holds the active employees' model features (age and years_at_company computed
at the as-of date) and the ids of those who left with their termination date, so a lookup can tell
"left" from "never heard of"; its Parquet metadata names the as-of date and the Delta table version.
This module needs pyarrow only (no deltalake, no DuckDB), so a serving image stays small.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from attrition.dataset import FEATURES

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
_AS_OF, _VERSION, _LATEST = b"attrition.as_of", b"attrition.table_version", b"attrition.latest_extract"


class FeatureLookupError(LookupError):
    """No features to serve for an employee id."""

    def __init__(self, employee_id: str, message: str) -> None:
        super().__init__(message)
        self.employee_id = employee_id


class UnknownEmployee(FeatureLookupError):  # noqa: N818 - the name the service code asks for
    def __init__(self, employee_id: str, as_of: date) -> None:
        super().__init__(employee_id, f"employee {employee_id!r} is not in the HRIS as of {as_of}")


class TerminatedEmployee(FeatureLookupError):  # noqa: N818 - likewise
    def __init__(self, employee_id: str, termination_date: date) -> None:
        super().__init__(employee_id, f"employee {employee_id!r} left on {termination_date}")
        self.termination_date = termination_date


@dataclass(frozen=True)
class OnlineSnapshot:
    """What materialize computed: rows in ONLINE_SCHEMA, sorted by employee_id, and their origin."""

    table: pa.Table
    as_of: date
    table_version: int
    latest_extract: date


def online_parquet_bytes(snapshot: OnlineSnapshot) -> bytes:
    """The online file's bytes: equal snapshots give equal bytes (no timestamps, one row group)."""
    metadata = {
        _AS_OF: snapshot.as_of.isoformat().encode(),
        _VERSION: str(snapshot.table_version).encode(),
        _LATEST: snapshot.latest_extract.isoformat().encode(),
    }
    table = snapshot.table.cast(ONLINE_SCHEMA).replace_schema_metadata(metadata)
    buffer = io.BytesIO()
    pq.write_table(table, buffer, compression="zstd", row_group_size=max(table.num_rows, 1))
    return buffer.getvalue()


class OnlineStore:
    """Features by employee id, in memory: ``get`` is a dict lookup and a copy."""

    def __init__(
        self,
        active: dict[str, dict[str, Any]],
        terminated: dict[str, date],
        as_of: date,
        table_version: int,
        latest_extract: date,
    ) -> None:
        self._active = active
        self._terminated = terminated
        self.as_of = as_of
        self.table_version = table_version
        self.latest_extract = latest_extract

    @classmethod
    def load(cls, path: Path) -> OnlineStore:
        """Read a materialized file (written by `attrition features materialize`)."""
        table = pq.read_table(path)
        metadata = table.schema.metadata or {}
        missing = [key.decode() for key in (_AS_OF, _VERSION, _LATEST) if key not in metadata]
        if missing or table.schema.names != ONLINE_SCHEMA.names:
            raise ValueError(f"{path}: not an online feature file (attrition features materialize)")
        columns = {name: table[name].to_pylist() for name in ONLINE_SCHEMA.names}
        active: dict[str, dict[str, Any]] = {}
        terminated: dict[str, date] = {}
        for row, employee_id in enumerate(columns["employee_id"]):
            ended = columns["termination_date"][row]
            if ended is None:
                active[employee_id] = {name: columns[name][row] for name in FEATURES}
            else:
                terminated[employee_id] = ended
        return cls(
            active,
            terminated,
            date.fromisoformat(metadata[_AS_OF].decode()),
            int(metadata[_VERSION].decode()),
            date.fromisoformat(metadata[_LATEST].decode()),
        )

    def get(self, employee_id: str) -> dict[str, Any]:
        """The model features of an active employee; UnknownEmployee or TerminatedEmployee if none."""
        features = self._active.get(employee_id)
        if features is not None:
            return dict(features)
        ended = self._terminated.get(employee_id)
        if ended is not None:
            raise TerminatedEmployee(employee_id, ended)
        raise UnknownEmployee(employee_id, self.as_of)

    def active_ids(self) -> list[str]:
        """The ids `get` answers with features, sorted."""
        return sorted(self._active)

    def __len__(self) -> int:
        """Active employees."""
        return len(self._active)

    def __contains__(self, employee_id: object) -> bool:
        return employee_id in self._active
