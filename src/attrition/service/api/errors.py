"""Error handlers: every error body is ErrorResponse, a one-line `detail` that names the field.

Core exceptions become HTTP answers here: AuthError -> 401/403 with WWW-Authenticate,
UnknownRoleError and AuditInputError -> 422 like any validation error, PredictionNotFoundError ->
404, NoAnswerError and AuditUnavailableError -> 503 with Retry-After; an online-store lookup refused
(LookupRefusedError) -> 404 unknown id, 410 employee left, 503 no store loaded, and 422 at the id's
field when none is configured (a request this service cannot take: it should send the features).
A client gone mid-body is 499 (client closed; nobody reads it), a body that did not arrive in time
408.

Bodies are public (the probes and every client read them): an audit store's reason keeps only its
fixed wording and figures, never the driver's message with the database's host, port or path;
those details are in the log.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from attrition.audit.database import one_line
from attrition.audit.errors import AuditInputError, AuditUnavailableError, PredictionNotFoundError
from attrition.service.api.middleware import CLIENT_CLOSED, BodyTimeoutError
from attrition.service.core.metrics import ServiceMetrics
from attrition.service.core.online_features import (
    EmployeeLeftError,
    EmployeeUnknownError,
    LookupRefusedError,
    OnlineFeaturesUnavailableError,
)
from attrition.service.core.scoring import NoAnswerError, UnknownRoleError
from attrition.service.core.tokens import AuthError

MAX_REPORTED_ERRORS = 20  # a 100-employee batch can fail 500 ways; the first 20 say enough
RETRY_AFTER_S = "30"
AUDIT_RETRY_AFTER_S = "5"  # the writer probes the database at least every second while it is down
# The audit store's reasons that are safe to show as they are (fixed wording and numbers only).
_PUBLIC_AUDIT_REASON = re.compile(
    r"audit store failing for [\d.]+ s \(bound [\d.e+]+ s\)|audit commit running for [\d.]+ s "
    r"\(bound [\d.e+]+ s\)|audit store did not commit within [\d.e+]+ s|audit store closed"
    r"|audit writer not running"
)
log = logging.getLogger("attrition.service")


def public_audit_reason(reason: str | None) -> str:
    """What a client may read of an audit store's reason: its known wording, never a driver message."""
    known = _PUBLIC_AUDIT_REASON.match(reason or "")
    return known.group() if known else "audit store unavailable"


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


def _validation_answer(metrics: ServiceMetrics, endpoint: str, exc: RequestValidationError) -> JSONResponse:
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
    metrics.validation_errors.labels(endpoint).inc()
    return JSONResponse(
        {"detail": f"{first['field']}: {first['message']}{more}", "errors": errors},
        status_code=422,
    )


class ScoringErrorAnswers:
    """The answers to what scoring a request can raise once its body is valid, for the app's handlers
    and for the /predict fast path (api/fast_predict.py) alike, so both answer the same."""

    def __init__(self, metrics: ServiceMetrics) -> None:
        self.metrics = metrics
        self._logged = ""
        # One table, in the order the types are tried: answer() dispatches on it and the app registers
        # a handler for each of its types (install_error_handlers), so the two cannot drift apart.
        self._answers: tuple[tuple[type[Exception], Callable[[str, Any], JSONResponse]], ...] = (
            (UnknownRoleError, self.unknown_role),
            (LookupRefusedError, self.lookup_refused),
            (NoAnswerError, lambda _endpoint, exc: self.no_answer(exc)),
            (AuditUnavailableError, self.audit_unavailable),
            (AuditInputError, self.audit_input),
        )

    @property
    def handled(self) -> tuple[type[Exception], ...]:
        """The exception types answer() has an answer for."""
        return tuple(kind for kind, _ in self._answers)

    def answer(self, endpoint: str, exc: Exception) -> JSONResponse | None:
        """The answer to `exc`, or None when it is not a scoring error (a bug: 500)."""
        for kind, answer in self._answers:
            if isinstance(exc, kind):
                return answer(endpoint, exc)
        return None

    def unknown_role(self, endpoint: str, exc: UnknownRoleError) -> JSONResponse:
        loc: tuple[str | int, ...] = (
            ("body", exc.field) if exc.index is None else ("body", "employees", exc.index, exc.field)
        )
        error = {"type": "enum", "loc": loc, "msg": str(exc), "input": exc.job_role}
        return _validation_answer(self.metrics, endpoint, RequestValidationError([error]))

    def lookup_refused(self, endpoint: str, exc: LookupRefusedError) -> JSONResponse:
        # The detail names the id the caller sent, nothing the store holds about the employee.
        if isinstance(exc, OnlineFeaturesUnavailableError) and not exc.configured:
            loc: tuple[str | int, ...] = ("body", "employee_id")
            if exc.index is not None:
                loc = ("body", "employees", exc.index, "employee_id")
            error = {"type": "online_features_not_configured", "loc": loc, "msg": str(exc)}
            return _validation_answer(self.metrics, endpoint, RequestValidationError([error]))
        if isinstance(exc, EmployeeUnknownError | EmployeeLeftError):
            status = 404 if isinstance(exc, EmployeeUnknownError) else 410
            return JSONResponse({"detail": str(exc)}, status_code=status)
        return JSONResponse({"detail": str(exc)}, status_code=503, headers={"Retry-After": RETRY_AFTER_S})

    @staticmethod
    def no_answer(exc: NoAnswerError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=503, headers={"Retry-After": RETRY_AFTER_S})

    def audit_unavailable(self, endpoint: str, exc: AuditUnavailableError) -> JSONResponse:
        self.metrics.audit_refusals.labels(endpoint).inc()
        reason = one_line(exc)
        if reason != self._logged:  # once per new reason, not once per refused request
            self._logged = reason
            log.warning("answering 503 while the audit store cannot commit: %s", reason)
        return JSONResponse(
            {
                "detail": f"not answered: the audit store cannot commit ({public_audit_reason(reason)}); "
                "retry later"
            },
            status_code=503,
            headers={"Retry-After": AUDIT_RETRY_AFTER_S},
        )

    def audit_input(self, endpoint: str, exc: AuditInputError) -> JSONResponse:
        message = str(exc).removeprefix(f"{exc.field}: ")
        error = {"type": "value_error", "loc": ("body", exc.field), "msg": message}
        return _validation_answer(self.metrics, endpoint, RequestValidationError([error]))


def install_error_handlers(app: FastAPI, metrics: ServiceMetrics, scoring: ScoringErrorAnswers) -> None:
    """Register the handlers on `app`; 4xx refusals are counted per endpoint in `metrics`."""

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        return _validation_answer(metrics, _endpoint(request), exc)

    @app.exception_handler(ClientDisconnect)
    async def client_gone(request: Request, exc: Exception) -> JSONResponse:
        # Never delivered (uvicorn drops it): it only gets the request counted as client-closed.
        return JSONResponse({"detail": "client closed the request"}, status_code=CLIENT_CLOSED)

    @app.exception_handler(BodyTimeoutError)
    async def body_timeout(request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=408, headers={"Connection": "close"})

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        cause = exc.__cause__
        if isinstance(cause, ClientDisconnect):  # FastAPI wraps a body-read failure in a 400
            return await client_gone(request, cause)
        if isinstance(cause, BodyTimeoutError):
            return await body_timeout(request, cause)
        if exc.status_code == 400 and cause is not None:
            # FastAPI turns body parse failures other than JSONDecodeError (bad UTF-8, nesting
            # deeper than the parser allows, 5000-digit numbers) into a bare 400; report them
            # like every other malformed body: 422 naming the body.
            if isinstance(cause, RecursionError):
                message = "invalid JSON (nested too deeply)"
            else:  # one_line: an exception's message may be empty
                message = f"invalid JSON ({one_line(cause)[:160]})"
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

    @app.exception_handler(AuthError)
    async def auth_error(request: Request, exc: AuthError) -> JSONResponse:
        return JSONResponse(
            {"detail": exc.message}, status_code=exc.status, headers={"WWW-Authenticate": exc.challenge}
        )

    async def scoring_error(request: Request, exc: Exception) -> JSONResponse:
        answer = scoring.answer(_endpoint(request), exc)
        if answer is None:  # registered for scoring.handled only
            raise exc
        return answer

    for kind in scoring.handled:
        app.add_exception_handler(kind, scoring_error)

    @app.exception_handler(PredictionNotFoundError)
    async def prediction_not_found(request: Request, exc: PredictionNotFoundError) -> JSONResponse:
        detail = f"prediction_id: no prediction {exc} in the audit store (never made, purged or erased)"
        return JSONResponse({"detail": detail}, status_code=404)
