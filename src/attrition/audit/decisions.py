"""Managers' decisions: an action from a declared list and a reason, for a prediction the store holds.

The deployment plan keeps a human in the loop who "must record a reason for any action taken".
`validate_decision` is pure (the router maps AuditInputError to 422); `record_decision` checks the
prediction exists in the same transaction, and the foreign key (ON DELETE CASCADE) makes a purge or
an erase racing with it safe: the decision either lands before and goes with its prediction, or
fails as not found. Decisions store no employee id: they reach one only through their prediction,
so opt-out, purge and erase apply to them exactly as to predictions.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from attrition.audit.errors import AuditInputError, PredictionNotFoundError
from attrition.audit.records import iso_utc, new_id
from attrition.audit.schema import ID_LENGTH, decisions, predictions

ACTIONS = (
    "no_action",
    "stay_interview",
    "career_development",
    "compensation_review",
    "workload_review",
    "refer_to_hr",
    "other",
)
MAX_REASON_CHARS = 2000
MAX_SUBJECT_CHARS = 200


@dataclass(frozen=True)
class Decision:
    """A validated decision, ready to store."""

    prediction_id: str
    action: str
    reason: str
    decided_by: str


@dataclass(frozen=True)
class StoredDecision:
    """What the store answers after committing a decision."""

    decision_id: str
    prediction_id: str
    action: str
    decided_by: str
    created_at: str


def validate_decision(prediction_id: str, action: str, reason: str | None, decided_by: str) -> Decision:
    """Check every field; AuditInputError names the first bad one and what is allowed."""
    if not prediction_id or len(prediction_id) > ID_LENGTH or not prediction_id.isprintable():
        raise AuditInputError("prediction_id", "must be the prediction_id a prediction returned")
    if action not in ACTIONS:
        raise AuditInputError("action", f"{action!r} is not allowed; use one of {', '.join(ACTIONS)}")
    text = (reason or "").strip()
    if not text:
        raise AuditInputError("reason", "is required and must not be blank")
    if len(text) > MAX_REASON_CHARS:
        raise AuditInputError("reason", f"has {len(text)} characters; at most {MAX_REASON_CHARS} allowed")
    subject = decided_by.strip()
    if not subject or len(subject) > MAX_SUBJECT_CHARS:
        raise AuditInputError("decided_by", f"must be a token subject of 1-{MAX_SUBJECT_CHARS} characters")
    return Decision(prediction_id, action, text, subject)


def record_decision(engine: Engine, decision: Decision, now: float | None = None) -> StoredDecision:
    """Commit a decision; PredictionNotFoundError if its prediction was never made, purged or erased."""
    ts = time.time() if now is None else now
    stored = StoredDecision(
        new_id(), decision.prediction_id, decision.action, decision.decided_by, iso_utc(ts)
    )
    try:
        with engine.begin() as connection:
            exists = connection.execute(
                sa.select(predictions.c.id).where(predictions.c.prediction_id == decision.prediction_id)
            ).first()
            if exists is None:
                raise PredictionNotFoundError(decision.prediction_id)
            connection.execute(
                decisions.insert().values(
                    decision_id=stored.decision_id,
                    prediction_id=decision.prediction_id,
                    ts=ts,
                    created_at=stored.created_at,
                    decided_by=decision.decided_by,
                    action=decision.action,
                    reason=decision.reason,
                )
            )
    except sa.exc.IntegrityError:  # the prediction went (purge, erase) between our read and insert
        raise PredictionNotFoundError(decision.prediction_id) from None
    return stored
