"""Rows and stores for the audit tests (imported explicitly, never through conftest)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa

from attrition.audit.database import create_audit_engine, parse_audit_db
from attrition.audit.records import PredictionRow
from attrition.audit.writer import AuditStore

FEATURES: dict[str, object] = {
    "age": 34,
    "job_role": "Sales",
    "monthly_income": 3200.5,
    "years_at_company": 2,
}


def prediction(
    employee_id: str | None = "E1", *, opt_out: bool = False, ts: float | None = None, caller: str = "alice"
) -> PredictionRow:
    """One answered prediction as the service would build it."""
    return PredictionRow.for_prediction(
        caller=caller,
        endpoint="/predict",
        model_version="v3-test",
        source="model",
        opt_out=opt_out,
        employee_id=employee_id,
        inputs=dict(FEATURES),
        probability=0.25,
        decision=True,
        ts=ts,
    )


@contextmanager
def open_store(url: str, **options: float) -> Iterator[AuditStore]:
    """An open store (schema upgraded), closed afterwards."""
    store = AuditStore(url, **options)  # type: ignore[arg-type]
    store.open()
    try:
        yield store
    finally:
        store.close()


def count(url: str, table: str, where: str = "1=1") -> int:
    """Rows in `table` read through a fresh engine (what another replica would see)."""
    engine = create_audit_engine(parse_audit_db(url))
    try:
        with engine.connect() as connection:
            return int(
                connection.execute(sa.text(f"SELECT COUNT(*) FROM {table} WHERE {where}")).scalar_one()
            )
    finally:
        engine.dispose()


def column(url: str, sql: str) -> list[object]:
    """The first column of a query, through a fresh engine."""
    engine = create_audit_engine(parse_audit_db(url))
    try:
        with engine.connect() as connection:
            return [row[0] for row in connection.execute(sa.text(sql))]
    finally:
        engine.dispose()


REPO_ROOT = Path(__file__).resolve().parents[2]
PROCESS_TIMEOUT_S = 120


def python_module(module: str, *args: str) -> list[str]:
    """argv running one of these test helper modules with this interpreter, from the repo root."""
    return [sys.executable, "-m", module, *args]
