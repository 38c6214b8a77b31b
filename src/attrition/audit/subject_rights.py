"""Data-subject rights: export (right of access) and erase (right to erasure) for one employee id.

Both run in one transaction and append to the admin log who did what, when, and how many rows:
never the content itself. The admin log entries are kept (they are the proof that a request was
honoured) and are part of a later export for the same employee.

"About the employee" means: their predictions; every decision carrying their id (decisions store
their own subject, so one on an opt-out or id-less prediction is found too); and every decision
with no subject whose free-text reason names their id. On SQLite the erase deletes with
`secure_delete` on (freed bytes are zeroed, not left in free pages) and then checkpoints and
truncates the WAL, so neither file keeps the erased inputs or reasons. PostgreSQL keeps dead rows
until VACUUM (autovacuum, or the owner's `VACUUM predictions, decisions`).
"""

from __future__ import annotations

import re
import time
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from attrition.audit.admin_log import hold_write_lock, log_admin_action
from attrition.audit.errors import AuditInputError
from attrition.audit.reader import decode_prediction
from attrition.audit.records import iso_utc
from attrition.audit.schema import admin_log, decisions, predictions

MAX_EMPLOYEE_ID_CHARS = 32  # the service's EmployeeId bound
CHECKPOINT_ATTEMPTS = 3  # each waits up to the 10 s busy timeout for readers to move on
CHECKPOINT_PAUSE_S = 0.1


class ErasureResidueError(RuntimeError):
    """The rows are erased, but the SQLite WAL could not be truncated yet (a reader holds it)."""

    def __init__(self, counts: dict[str, int], reason: str) -> None:
        super().__init__(reason)
        self.counts = counts


def validate_employee_id(employee_id: str, field: str = "--employee-id") -> str:
    """A non-empty printable id of at most 32 characters (what the service accepts)."""
    value = employee_id
    if not value.strip() or len(value) > MAX_EMPLOYEE_ID_CHARS or not value.isprintable():
        raise AuditInputError(
            field,
            f"{employee_id!r} is not an employee id; use 1-{MAX_EMPLOYEE_ID_CHARS} printable characters",
        )
    return value


def _rows(connection: Connection, statement: sa.Select[Any]) -> list[dict[str, Any]]:
    return [dict(row._mapping) for row in connection.execute(statement)]


def _about(connection: Connection, employee_id: str) -> sa.ColumnElement[bool]:
    """A condition on `decisions` matching every decision about the employee (module docstring)."""
    their_predictions = sa.select(predictions.c.prediction_id).where(predictions.c.employee_id == employee_id)
    # A reason naming the id as a whole word (E1 in "met E1", not in "E10"); LIKE only narrows the
    # candidates (it ignores case on SQLite, and '_' is its wildcard).
    named = re.compile(rf"(?<![A-Za-z0-9_-]){re.escape(employee_id)}(?![A-Za-z0-9_-])")
    candidates = connection.execute(
        sa.select(decisions.c.id, decisions.c.reason).where(
            decisions.c.employee_id.is_(None), decisions.c.reason.contains(employee_id, autoescape=True)
        )
    )
    mentioned = [row.id for row in candidates if named.search(row.reason)]
    return sa.or_(
        decisions.c.employee_id == employee_id,
        decisions.c.prediction_id.in_(their_predictions),
        decisions.c.id.in_(mentioned),
    )


def export_employee(
    engine: Engine, employee_id: str, *, actor: str, now: float | None = None
) -> dict[str, Any]:
    """Every stored row about `employee_id` (predictions, decisions, admin log), as JSON-ready data."""
    ts = time.time() if now is None else now
    with engine.begin() as connection:
        found = _rows(
            connection,
            sa.select(predictions).where(predictions.c.employee_id == employee_id).order_by(predictions.c.id),
        )
        found = [decode_prediction(row) for row in found]
        their_decisions = _rows(
            connection,
            sa.select(decisions).where(_about(connection, employee_id)).order_by(decisions.c.id),
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
    """Delete every prediction and decision about `employee_id`; the admin log keeps only counts.

    Raises ErasureResidueError (after the erase has committed) when the SQLite WAL stays busy.
    """
    ts = time.time() if now is None else now
    sqlite = engine.dialect.name == "sqlite"
    with engine.begin() as connection:
        if sqlite:  # per connection, and before the deletes: freed cells and pages are zeroed
            connection.exec_driver_sql("PRAGMA secure_delete = ON")
        hold_write_lock(connection)  # what is read below cannot change before the deletes
        deleted_decisions = connection.execute(
            decisions.delete().where(_about(connection, employee_id))
        ).rowcount
        deleted_predictions = connection.execute(
            predictions.delete().where(predictions.c.employee_id == employee_id)
        ).rowcount
        counts = {"predictions": deleted_predictions, "decisions": deleted_decisions}
        log_admin_action(connection, actor, "erase", employee_id, counts, ts)
    if sqlite:
        reason = truncate_wal(engine)
        if reason is not None:
            raise ErasureResidueError(counts, reason)
    return counts


def truncate_wal(engine: Engine) -> str | None:
    """Copy the SQLite WAL into the database and truncate it to 0 bytes; None, or why it could not.

    The WAL still holds the pages as they were before the erase until a checkpoint overwrites the
    database file and the WAL is emptied; TRUNCATE waits (busy timeout) for readers of older pages.
    """
    busy = log_frames = checkpointed = -1
    for _ in range(CHECKPOINT_ATTEMPTS):
        with engine.connect() as connection:
            busy, log_frames, checkpointed = connection.exec_driver_sql(
                "PRAGMA wal_checkpoint(TRUNCATE)"
            ).one()
            connection.commit()
        if busy == 0:
            return None
        time.sleep(CHECKPOINT_PAUSE_S)
    return (
        f"the SQLite WAL is still in use ({checkpointed} of {log_frames} frames checkpointed): the erased "
        "bytes stay in it until the next checkpoint; stop the readers and run `attrition audit erase` again"
    )
