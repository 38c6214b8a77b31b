"""Managers' decisions: an action from a declared list and a reason, for a prediction the store holds.

The deployment plan keeps a human in the loop who "must record a reason for any action taken".
`validate_decision` is pure (the router maps AuditInputError to 422); `record_decision` checks the
prediction exists in the same transaction, and the foreign key (ON DELETE CASCADE) makes a purge or
an erase racing with it safe: the decision either lands before and goes with its prediction, or
fails as not found.

A decision stores whom it is about (issue 27): the prediction's employee id, or for an opt-out or
id-less prediction the `employee_id` the manager gives. The opt-out covers the prediction's inputs,
not the manager's record of acting on a person; without its own subject such a decision (and a
reason naming the person) would escape the employee's access and erasure requests.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from attrition.audit.errors import AuditInputError, PredictionNotFoundError
from attrition.audit.records import iso_utc, new_id
from attrition.audit.schema import ID_LENGTH, decisions, predictions
from attrition.audit.subject_rights import validate_employee_id

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
    employee_id: str | None = None  # whom it is about, when the prediction does not say


@dataclass(frozen=True)
class StoredDecision:
    """What the store answers after committing a decision."""

    decision_id: str
    prediction_id: str
    action: str
    decided_by: str
    created_at: str
    employee_id: str | None = None


def validate_decision(
    prediction_id: str,
    action: str,
    reason: str | None,
    decided_by: str,
    employee_id: str | None = None,
) -> Decision:
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
    if employee_id is not None:
        validate_employee_id(employee_id, "employee_id")
    return Decision(prediction_id, action, text, subject, employee_id)


def record_decision(engine: Engine, decision: Decision, now: float | None = None) -> StoredDecision:
    """Commit a decision; PredictionNotFoundError if its prediction was never made, purged or erased.

    The subject is the prediction's employee id when it has one (a different `employee_id` is an
    AuditInputError), else the decision's own.
    """
    ts = time.time() if now is None else now
    try:
        with engine.begin() as connection:
            found = connection.execute(
                sa.select(predictions.c.employee_id).where(
                    predictions.c.prediction_id == decision.prediction_id
                )
            ).first()
            if found is None:
                raise PredictionNotFoundError(decision.prediction_id)
            subject = found.employee_id or decision.employee_id
            if decision.employee_id not in (None, subject):
                raise AuditInputError(
                    "employee_id", "is not the employee of this prediction; leave it out or correct it"
                )
            stored = StoredDecision(
                new_id(),
                decision.prediction_id,
                decision.action,
                decision.decided_by,
                iso_utc(ts),
                subject,
            )
            connection.execute(
                decisions.insert().values(
                    decision_id=stored.decision_id,
                    prediction_id=decision.prediction_id,
                    ts=ts,
                    created_at=stored.created_at,
                    decided_by=decision.decided_by,
                    action=decision.action,
                    reason=decision.reason,
                    employee_id=subject,
                )
            )
    except sa.exc.IntegrityError:  # the prediction went (purge, erase) between our read and insert
        raise PredictionNotFoundError(decision.prediction_id) from None
    return stored
