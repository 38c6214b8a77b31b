"""The FastAPI application factory: `create_app(settings)` wires routers, errors and lifespan."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import threading
from collections.abc import AsyncIterator, Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from attrition import __version__
from attrition.service.auth import SECURITY_SCHEME, SECURITY_SCHEME_SPEC
from attrition.service.metrics import ObservabilityMiddleware
from attrition.service.routers import admin, health, predict, scores
from attrition.service.runtime import ServiceRuntime
from attrition.service.settings import ServiceSettings

log = logging.getLogger("attrition.service")
MAX_REPORTED_ERRORS = 20  # a 100-employee batch can fail 500 ways; the first 20 say enough

_DESCRIPTION = """Real-time employee-attrition scores from a verified model package.

* Prediction and score endpoints need an OAuth2 bearer JWT whose `scope` claim contains
  `attrition:predict`; `/admin/*` needs `attrition:admin`. Health, readiness and metrics are open.
* If no verified model could be loaded, `/readyz` answers 503 and `/predict` answers from the
  nightly batch scores (`source: "batch"`) for a known `employee_id`, else 503.
* Inputs are audited (caller, time, inputs, output, model version) unless `opt_out` is true.
"""


def _field_name(loc: tuple[Any, ...] | list[Any]) -> str:
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


def _error_message(error: dict[str, Any]) -> str:
    if error.get("type") == "missing" and tuple(error.get("loc", ())) == ("body",):
        return "a JSON object is required"
    if error.get("type") == "json_invalid":
        reason = (error.get("ctx") or {}).get("error", "")
        return f"invalid JSON ({reason})" if reason else "invalid JSON"
    return str(error.get("msg", "invalid value"))


def _install_error_handlers(app: FastAPI, runtime: ServiceRuntime) -> None:
    """Every error body is ErrorResponse: a one-line `detail` that names the field."""

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {
                "field": _field_name(e.get("loc", ())) if e.get("type") != "json_invalid" else "body",
                "message": _error_message(e),
                "type": str(e.get("type", "value_error")),
            }
            for e in exc.errors()[:MAX_REPORTED_ERRORS]
        ]
        first = errors[0] if errors else {"field": "body", "message": "invalid request"}
        total = len(exc.errors())
        more = f" (+{total - 1} more)" if total > 1 else ""
        route = request.scope.get("route")
        runtime.metrics.validation_errors.labels(getattr(route, "path", "unmatched")).inc()
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
            route = request.scope.get("route")
            runtime.metrics.validation_errors.labels(getattr(route, "path", "unmatched")).inc()
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


def _openapi_with_roles(app: FastAPI, runtime: ServiceRuntime) -> Callable[[], dict[str, Any]]:
    """OpenAPI whose job_role enum is the loaded package's roles (rebuilt after a reload)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None and not runtime.openapi_invalidated:
            return app.openapi_schema
        runtime.openapi_invalidated = False
        schema = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes
        )
        components = schema.setdefault("components", {})
        components.setdefault("securitySchemes", {})[SECURITY_SCHEME] = SECURITY_SCHEME_SPEC
        state = runtime.current
        employee = components.get("schemas", {}).get("EmployeeFeatures")
        if state is not None and employee is not None:
            employee["properties"]["job_role"]["enum"] = list(state.job_roles)
        app.openapi_schema = schema
        return schema

    return openapi


async def _purge_forever(runtime: ServiceRuntime) -> None:
    """Scheduled retention purge, first run at start-up."""
    settings = runtime.settings
    while True:
        try:
            future = runtime.audit.request_purge(settings.audit_retention_days * 86400)
            deleted = await asyncio.wrap_future(future)
            runtime.metrics.audit_purged.inc(deleted)
            if deleted:
                log.info(
                    "audit purge removed %d records older than %g days",
                    deleted,
                    settings.audit_retention_days,
                )
        except Exception as error:  # keep purging on schedule even after one failure
            log.error("scheduled audit purge failed: %s", error)
        await asyncio.sleep(settings.audit_purge_interval_s)


def _on_sighup(runtime: ServiceRuntime, tasks: set[asyncio.Task[Any]]) -> None:
    task = asyncio.get_running_loop().create_task(runtime.reload("SIGHUP"))
    tasks.add(task)
    task.add_done_callback(tasks.discard)


def create_app(settings: ServiceSettings) -> FastAPI:
    """Build the app; the model is loaded (and verified) when the lifespan starts."""
    runtime = ServiceRuntime(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await asyncio.to_thread(runtime.start)
        loop = asyncio.get_running_loop()
        tasks: set[asyncio.Task[Any]] = set()
        purger = loop.create_task(_purge_forever(runtime))
        hup = False
        if threading.current_thread() is threading.main_thread():
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(signal.SIGHUP, _on_sighup, runtime, tasks)
                hup = True
        try:
            yield
        finally:
            if hup:
                loop.remove_signal_handler(signal.SIGHUP)
            purger.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await purger
            await asyncio.to_thread(runtime.stop)

    app = FastAPI(
        title="Attrition Predictor",
        version=__version__,
        description=_DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.runtime = runtime
    routers = (predict, scores, health, admin)
    for module in routers:
        app.include_router(module.router)
    _install_error_handlers(app, runtime)
    app.openapi = _openapi_with_roles(app, runtime)  # type: ignore[method-assign]
    app.add_middleware(
        ObservabilityMiddleware,
        metrics=runtime.metrics,
        max_body_bytes=settings.max_body_bytes,
        known_paths=frozenset(
            route.path for module in routers for route in module.router.routes if hasattr(route, "path")
        ),
    )
    return app
