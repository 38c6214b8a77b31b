"""Data-subject rights: export (right of access) and erase (right to erasure) for one employee id.

Both run in one transaction and append to the admin log who did what, when, and how many rows:
never the content itself. The admin log entries are kept (they are the proof that a request was
honoured) and are part of a later export for the same employee.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from attrition.audit.errors import AuditInputError
from attrition.audit.reader import decode_prediction
from attrition.audit.records import iso_utc
from attrition.audit.schema import admin_log, decisions, predictions

MAX_EMPLOYEE_ID_CHARS = 32  # the service's EmployeeId bound


def validate_employee_id(employee_id: str) -> str:
    """A non-empty printable id of at most 32 characters (what the service accepts)."""
    value = employee_id
    if not value.strip() or len(value) > MAX_EMPLOYEE_ID_CHARS or not value.isprintable():
        raise AuditInputError(
            "--employee-id",
            f"{employee_id!r} is not an employee id; use 1-{MAX_EMPLOYEE_ID_CHARS} printable characters",
        )
    return value


def log_admin_action(
    connection: Connection,
    actor: str,
    action: str,
    employee_id: str | None,
    detail: Mapping[str, object],
    ts: float,
) -> None:
    """One admin_log row (purge, export, erase): who did what to whom, the details as sorted JSON."""
    connection.execute(
        admin_log.insert().values(
            ts=ts,
            created_at=iso_utc(ts),
            actor=actor,
            action=action,
            employee_id=employee_id,
            detail=json.dumps(dict(detail), sort_keys=True),
        )
    )


def _rows(connection: Connection, statement: sa.Select[Any]) -> list[dict[str, Any]]:
    return [dict(row._mapping) for row in connection.execute(statement)]


def export_employee(
    engine: Engine, employee_id: str, *, actor: str, now: float | None = None
) -> dict[str, Any]:
    """Every stored row about `employee_id` (predictions, their decisions, admin log), as JSON-ready data."""
    ts = time.time() if now is None else now
    with engine.begin() as connection:
        found = _rows(
            connection,
            sa.select(predictions).where(predictions.c.employee_id == employee_id).order_by(predictions.c.id),
        )
        found = [decode_prediction(row) for row in found]
        their_predictions = sa.select(predictions.c.prediction_id).where(
            predictions.c.employee_id == employee_id
        )
        their_decisions = _rows(
            connection,
            sa.select(decisions)
            .where(decisions.c.prediction_id.in_(their_predictions))
            .order_by(decisions.c.id),
        )
        requests = _rows(
            connection,
            sa.select(admin_log).where(admin_log.c.employee_id == employee_id).order_by(admin_log.c.id),
        )
        log_admin_action(
            connection,
            actor,
            "export",
            employee_id,
            {"predictions": len(found), "decisions": len(their_decisions)},
            ts,
        )
    return {
        "employee_id": employee_id,
        "exported_at": iso_utc(ts),
        "predictions": found,
        "decisions": their_decisions,
        "admin_log": requests,
    }


def erase_employee(
    engine: Engine, employee_id: str, *, actor: str, now: float | None = None
) -> dict[str, int]:
    """Delete every prediction and decision about `employee_id`; the admin log keeps only counts."""
    ts = time.time() if now is None else now
    with engine.begin() as connection:
        their_predictions = sa.select(predictions.c.prediction_id).where(
            predictions.c.employee_id == employee_id
        )
        deleted_decisions = connection.execute(
            decisions.delete().where(decisions.c.prediction_id.in_(their_predictions))
        ).rowcount
        deleted_predictions = connection.execute(
            predictions.delete().where(predictions.c.employee_id == employee_id)
        ).rowcount
        counts = {"predictions": deleted_predictions, "decisions": deleted_decisions}
        log_admin_action(connection, actor, "erase", employee_id, counts, ts)
    return counts
