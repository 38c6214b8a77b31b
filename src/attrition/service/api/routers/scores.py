"""GET /scores/{employee_id}: the nightly batch score written by the `score` stage."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path

from attrition.service.api.deps import PredictAccess
from attrition.service.api.openapi import auth_responses, security_requirement
from attrition.service.core.scoring import record_lookup
from attrition.service.core.tokens import SCOPE_PREDICT
from attrition.service.schemas import EMPLOYEE_ID_PATTERN, BatchScore, ErrorResponse

router = APIRouter(tags=["scores"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    **auth_responses(SCOPE_PREDICT),
    404: {"model": ErrorResponse, "description": "No batch score for this employee"},
    422: {"model": ErrorResponse, "description": "employee_id is not a valid id"},
    503: {"model": ErrorResponse, "description": "The audit store cannot commit the look-up"},
}


@router.get(
    "/scores/{employee_id}",
    response_model=BatchScore,
    responses=_ERRORS,
    openapi_extra=security_requirement(SCOPE_PREDICT),
    summary="Nightly batch score for one roster employee",
)
async def get_score(
    employee_id: Annotated[str, Path(max_length=32, pattern=EMPLOYEE_ID_PATTERN)],
    access: PredictAccess,
) -> BatchScore:
    """Look-ups are audited too (who read whose score, committed before the answer), without inputs."""
    runtime, caller = access.runtime, access.caller
    row = runtime.scores.get(employee_id)
    if row is None:
        raise HTTPException(status_code=404, detail=f"no batch score for employee_id {employee_id}")
    prediction_id = await record_lookup(
        runtime.audit,
        caller=caller.subject,
        employee_id=employee_id,
        model_version=row.model_version,
        probability=row.probability,
        decision=row.decision,
    )
    return BatchScore(
        employee_id=employee_id,
        attrition_probability=round(row.probability, 4),
        decision=row.decision,
        model_version=row.model_version,
        prediction_id=prediction_id,
    )
