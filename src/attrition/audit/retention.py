"""Retention: delete predictions and decisions older than a horizon, safely from many replicas at once.

Each replica's scheduled purge and `attrition audit purge` run the same transaction. On PostgreSQL
it first takes a transaction-scoped advisory lock, so concurrent purges queue behind each other
instead of deleting the same rows in different orders (a deadlock); the one that follows finds
nothing left and deletes 0. SQLite's single write lock serialises them by itself. Deleting is
idempotent, so the total across purges is exactly the rows that were old.

The retention policy (ATTRITION_AUDIT_RETENTION_DAYS, the service's own setting, default 180 days)
is also the shortest horizon `attrition audit purge` accepts: a typo such as `--older-than 1s`
would otherwise wipe the whole store. Going below it takes an explicit override.

On PostgreSQL the service's role need not (and in the chart does not) hold DELETE: `may_delete`
tells the service's scheduled purge to leave purging to the purge role (see attrition.audit.roles).
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from attrition.audit.admin_log import log_admin_action
from attrition.audit.errors import AuditConfigError, AuditInputError
from attrition.audit.schema import decisions, predictions

PURGE_LOCK_KEY = 0x6174747270757267  # "attrpurg": one advisory lock id for every replica
PURGE_LOCK_TIMEOUT = "60s"
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")
RETENTION_SETTING = "ATTRITION_AUDIT_RETENTION_DAYS"
DEFAULT_RETENTION_DAYS = 180.0
FORCE_OPTION = "--force-below-retention"


@dataclass(frozen=True)
class PurgeResult:
    """How many rows one purge deleted."""

    predictions: int
    decisions: int


def parse_duration(text: str) -> float:
    """'180d' -> seconds; AuditInputError with the accepted format on anything else."""
    match = _DURATION.match(text)
    seconds = float(match.group(1)) * _UNITS[match.group(2)] if match else 0.0
    if not match or seconds <= 0:
        raise AuditInputError(
            "--older-than",
            f"invalid duration {text!r}; use a positive number followed by s, m, h, d or w (e.g. 180d, 12h)",
        )
    return seconds


def retention_days(environ: Mapping[str, str]) -> float:
    """The retention policy in days: RETENTION_SETTING if set, else 180; AuditConfigError if bad."""
    text = environ.get(RETENTION_SETTING, "").strip()
    if not text:
        return DEFAULT_RETENTION_DAYS
    try:
        days = float(text)
    except ValueError:
        days = 0.0
    if not 0 < days < float("inf"):
        raise AuditConfigError(f"{RETENTION_SETTING}={text!r} is not a positive number of days")
    return days


def check_horizon(text: str, policy_days: float, *, force: bool) -> float:
    """The horizon in seconds; AuditInputError naming the minimum when it is below the policy."""
    seconds = parse_duration(text)
    if seconds < policy_days * _UNITS["d"] and not force:
        raise AuditInputError(
            "--older-than",
            f"{text} is shorter than the retention policy: the minimum is {policy_days:g}d "
            f"({RETENTION_SETTING}); pass {FORCE_OPTION} to purge younger rows anyway",
        )
    return seconds


def may_delete(engine: Engine) -> bool:
    """Whether this engine's database role may delete audit rows (always on SQLite)."""
    if engine.dialect.name != "postgresql":
        return True
    with engine.connect() as connection:
        return bool(
            connection.execute(
                sa.select(sa.func.has_table_privilege(sa.func.current_user(), "predictions", "DELETE"))
            ).scalar_one()
        )


def purge(engine: Engine, older_than_s: float, *, actor: str, now: float | None = None) -> PurgeResult:
    """Delete every prediction and decision older than `older_than_s`; log counts if any went."""
    if older_than_s <= 0:
        raise AuditInputError("older_than_s", "must be positive")
    ts = time.time() if now is None else now
    cutoff = ts - older_than_s
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql(f"SET LOCAL lock_timeout = '{PURGE_LOCK_TIMEOUT}'")
            connection.execute(sa.select(sa.func.pg_advisory_xact_lock(PURGE_LOCK_KEY)))
        old_predictions = sa.select(predictions.c.prediction_id).where(predictions.c.ts < cutoff)
        # Decisions go by their own age and with their prediction; counted here, not by the cascade.
        deleted_decisions = connection.execute(
            decisions.delete().where(
                sa.or_(decisions.c.ts < cutoff, decisions.c.prediction_id.in_(old_predictions))
            )
        ).rowcount
        deleted_predictions = connection.execute(
            predictions.delete().where(predictions.c.ts < cutoff)
        ).rowcount
        result = PurgeResult(deleted_predictions, deleted_decisions)
        if deleted_predictions or deleted_decisions:
            detail = {
                "older_than_s": older_than_s,
                "predictions": result.predictions,
                "decisions": result.decisions,
            }
            log_admin_action(connection, actor, "purge", None, detail, ts)
    return result
