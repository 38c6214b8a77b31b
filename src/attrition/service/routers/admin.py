"""Operator actions behind the attrition:admin scope."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from attrition.service.auth import SCOPE_ADMIN, auth_responses, security_requirement
from attrition.service.deps import AdminAccess
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
    """In-flight requests finish on the old model; a failed verification keeps it serving."""
    runtime, caller = access.runtime, access.caller
    ok, previous, detail = await runtime.reload(f"POST /admin/reload by {caller.subject}")
    current = runtime.current
    body = ReloadResult(
        reloaded=ok,
        model_version=current.model_version if current else None,
        previous_version=previous,
        batch_scores=len(runtime.scores.rows),
        detail=detail if ok else f"reload failed: {detail}",
    )
    return JSONResponse(body.model_dump(), status_code=200 if ok else 409)
