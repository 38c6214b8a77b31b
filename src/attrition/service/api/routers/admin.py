"""Operator actions behind the attrition:admin scope."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from attrition.service.api.deps import AdminAccess
from attrition.service.api.openapi import auth_responses, security_requirement
from attrition.service.core.tokens import SCOPE_ADMIN
from attrition.service.schemas import ReloadResult

router = APIRouter(prefix="/admin", tags=["admin"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    **auth_responses(SCOPE_ADMIN),
    409: {"model": ReloadResult, "description": "New package failed verification; old model kept"},
}


@router.post(
    "/reload",
    response_model=ReloadResult,
    responses=_ERRORS,
    openapi_extra=security_requirement(SCOPE_ADMIN),
    summary="Verify the package on disk and swap it in (same as SIGHUP)",
)
async def reload(access: AdminAccess) -> JSONResponse:
    """In-flight requests finish on the old model; a failed verification keeps it serving.

    Secrets read from files (ATTRITION_JWT_SECRET_FILE) are re-read too, so a rotated secret
    takes effect here.
    """
    runtime, caller = access.runtime, access.caller
    outcome = await runtime.reload(f"POST /admin/reload by {caller.subject}")
    current = runtime.current
    body = ReloadResult(
        reloaded=outcome.reloaded,
        model_version=current.model_version if current else None,
        previous_version=outcome.previous_version,
        batch_scores=len(runtime.scores.rows),
        detail=outcome.detail if outcome.reloaded else f"reload failed: {outcome.detail}",
    )
    return JSONResponse(body.model_dump(), status_code=200 if outcome.reloaded else 409)
