"""POST /decisions: a manager records an action and a reason for a prediction (scope attrition:decide)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from attrition.service.api.deps import DecideAccess
from attrition.service.api.openapi import auth_responses, security_requirement
from attrition.service.core.decisions import record_manager_decision
from attrition.service.core.tokens import SCOPE_DECIDE
from attrition.service.schemas import DecisionRecord, DecisionRequest, ErrorResponse

router = APIRouter(tags=["decisions"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    **auth_responses(SCOPE_DECIDE),
    404: {"model": ErrorResponse, "description": "No such prediction (never made, purged or erased)"},
    413: {"model": ErrorResponse, "description": "Body larger than the configured limit"},
    415: {"model": ErrorResponse, "description": "Body is not application/json"},
    422: {
        "model": ErrorResponse,
        "description": "Invalid decision (or an employee_id not the prediction's); `detail` names the field",
    },
    503: {"model": ErrorResponse, "description": "The audit store cannot commit the decision now"},
}


@router.post(
    "/decisions",
    response_model=DecisionRecord,
    status_code=201,
    responses=_ERRORS,
    openapi_extra=security_requirement(SCOPE_DECIDE),
    summary="Record a manager's action and reason for a prediction",
)
async def decide(request: DecisionRequest, access: DecideAccess) -> JSONResponse:
    """The decision is committed with the caller's token subject before the 201 leaves.

    It lives with its prediction (the same retention purge applies) and names whom it is about, so
    that employee's access and erasure requests reach it even on an opt-out prediction.
    """
    stored = await record_manager_decision(
        access.runtime.audit,
        prediction_id=request.prediction_id,
        action=request.action,
        reason=request.reason,
        decided_by=access.caller.subject,
        employee_id=request.employee_id,
    )
    return JSONResponse(stored.model_dump(), status_code=201)
