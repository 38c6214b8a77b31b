"""Recording a manager's decision through the service's audit store (no web framework here).

attrition.audit.decisions validates and stores; this adds what the request path needs: refuse at
once while the store is failing closed, keep the blocking database call off the event loop, and
turn a database failure into AuditUnavailableError (503) rather than a 500.
"""

from __future__ import annotations

import asyncio

import sqlalchemy as sa

from attrition.audit.database import one_line
from attrition.audit.decisions import record_decision, validate_decision
from attrition.audit.errors import AuditUnavailableError
from attrition.service.core.runtime import AuditSink
from attrition.service.schemas import DecisionRecord


async def record_manager_decision(
    audit: AuditSink,
    *,
    prediction_id: str,
    action: str,
    reason: str,
    decided_by: str,
    employee_id: str | None = None,
) -> DecisionRecord:
    """The stored decision; AuditInputError (422), PredictionNotFoundError (404) or
    AuditUnavailableError (503) otherwise."""
    decision = validate_decision(prediction_id, action, reason, decided_by, employee_id)
    health = audit.health()
    if not health.ok:
        raise AuditUnavailableError(health.reason or "audit store unavailable")
    try:
        stored = await asyncio.to_thread(record_decision, audit.engine, decision)
    except sa.exc.DBAPIError as error:
        raise AuditUnavailableError(f"decision not stored: {one_line(error.orig or error)}") from None
    return DecisionRecord(
        decision_id=stored.decision_id,
        prediction_id=stored.prediction_id,
        action=stored.action,
        reason=decision.reason,
        decided_by=stored.decided_by,
        created_at=stored.created_at,
        employee_id=stored.employee_id,
    )
