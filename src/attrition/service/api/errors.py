"""Error handlers: every error body is ErrorResponse, a one-line `detail` that names the field.

Core exceptions become HTTP answers here: AuthError -> 401/403 with WWW-Authenticate,
UnknownRoleError and AuditInputError -> 422 like any validation error, PredictionNotFoundError ->
404, NoAnswerError and AuditUnavailableError -> 503 with Retry-After.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from attrition.audit.errors import AuditInputError, AuditUnavailableError, PredictionNotFoundError
from attrition.service.core.metrics import ServiceMetrics
from attrition.service.core.scoring import NoAnswerError, UnknownRoleError
from attrition.service.core.tokens import AuthError

MAX_REPORTED_ERRORS = 20  # a 100-employee batch can fail 500 ways; the first 20 say enough
RETRY_AFTER_S = "30"
AUDIT_RETRY_AFTER_S = "5"  # the writer probes the database at least every second while it is down


def field_name(loc: tuple[Any, ...] | list[Any]) -> str:
    """("body", "employees", 3, "age") -> "employees[3].age"; the transport prefix is dropped."""
    parts = list(loc)
    if parts and parts[0] in ("body", "path", "query", "header") and len(parts) > 1:
        parts = parts[1:]
    if (parts and parts[0] == "body") or not parts:
        return "body"
    name = ""
    for part in parts:
        name += f"[{part}]" if isinstance(part, int) else (f".{part}" if name else str(part))
    return name


def error_message(error: dict[str, Any]) -> str:
    """Pydantic's message, except for the two body-level cases it words for developers."""
    if error.get("type") == "missing" and tuple(error.get("loc", ())) == ("body",):
        return "a JSON object is required"
    if error.get("type") == "json_invalid":
        reason = (error.get("ctx") or {}).get("error", "")
        return f"invalid JSON ({reason})" if reason else "invalid JSON"
    return str(error.get("msg", "invalid value"))


def _endpoint(request: Request) -> str:
    return str(getattr(request.scope.get("route"), "path", "unmatched"))


def install_error_handlers(app: FastAPI, metrics: ServiceMetrics) -> None:
    """Register the handlers on `app`; 4xx refusals are counted per endpoint in `metrics`."""

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {
                "field": field_name(e.get("loc", ())) if e.get("type") != "json_invalid" else "body",
                "message": error_message(e),
                "type": str(e.get("type", "value_error")),
            }
            for e in exc.errors()[:MAX_REPORTED_ERRORS]
        ]
        first = errors[0] if errors else {"field": "body", "message": "invalid request"}
        total = len(exc.errors())
        more = f" (+{total - 1} more)" if total > 1 else ""
        metrics.validation_errors.labels(_endpoint(request)).inc()
        return JSONResponse(
            {"detail": f"{first['field']}: {first['message']}{more}", "errors": errors},
            status_code=422,
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        cause = exc.__cause__
        if exc.status_code == 400 and cause is not None:
            # FastAPI turns body parse failures other than JSONDecodeError (bad UTF-8, nesting
            # deeper than the parser allows, 5000-digit numbers) into a bare 400; report them
            # like every other malformed body: 422 naming the body.
            if isinstance(cause, RecursionError):
                message = "invalid JSON (nested too deeply)"
            else:
                message = f"invalid JSON ({str(cause).splitlines()[0][:160]})"
            metrics.validation_errors.labels(_endpoint(request)).inc()
            return JSONResponse(
                {
                    "detail": f"body: {message}",
                    "errors": [{"field": "body", "message": message, "type": "json_invalid"}],
                },
                status_code=422,
            )
        return JSONResponse(
            {"detail": str(exc.detail)},
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(UnknownRoleError)
    async def unknown_role(request: Request, exc: UnknownRoleError) -> JSONResponse:
        loc: tuple[str | int, ...] = (
            ("body", "job_role") if exc.index is None else ("body", "employees", exc.index, "job_role")
        )
        error = {"type": "enum", "loc": loc, "msg": str(exc), "input": exc.job_role}
        return await validation_error(request, RequestValidationError([error]))

    @app.exception_handler(AuthError)
    async def auth_error(request: Request, exc: AuthError) -> JSONResponse:
        return JSONResponse(
            {"detail": exc.message}, status_code=exc.status, headers={"WWW-Authenticate": exc.challenge}
        )

    @app.exception_handler(NoAnswerError)
    async def no_answer(request: Request, exc: NoAnswerError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=503, headers={"Retry-After": RETRY_AFTER_S})

    @app.exception_handler(AuditUnavailableError)
    async def audit_unavailable(request: Request, exc: AuditUnavailableError) -> JSONResponse:
        metrics.audit_refusals.labels(_endpoint(request)).inc()
        return JSONResponse(
            {"detail": f"not answered: the audit store cannot commit ({exc}); retry later"},
            status_code=503,
            headers={"Retry-After": AUDIT_RETRY_AFTER_S},
        )

    @app.exception_handler(AuditInputError)
    async def audit_input(request: Request, exc: AuditInputError) -> JSONResponse:
        message = str(exc).removeprefix(f"{exc.field}: ")
        error = {"type": "value_error", "loc": ("body", exc.field), "msg": message}
        return await validation_error(request, RequestValidationError([error]))

    @app.exception_handler(PredictionNotFoundError)
    async def prediction_not_found(request: Request, exc: PredictionNotFoundError) -> JSONResponse:
        detail = f"prediction_id: no prediction {exc} in the audit store (never made, purged or erased)"
        return JSONResponse({"detail": detail}, status_code=404)
