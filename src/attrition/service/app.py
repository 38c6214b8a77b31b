"""The FastAPI application factory: `create_app(settings)` wires routers, errors and lifespan."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import threading
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline

from attrition import __version__
from attrition.service.api.deps import ACCESS_SCOPES
from attrition.service.api.errors import ScoringErrorAnswers, install_error_handlers
from attrition.service.api.fast_predict import PredictFastPath
from attrition.service.api.guards import (
    AllowedHostsMiddleware,
    AuthFirstMiddleware,
    HostRule,
    guarded_routes,
)
from attrition.service.api.middleware import BodyLimitMiddleware, MetricsMiddleware
from attrition.service.api.openapi import openapi_with_roles
from attrition.service.api.routers import admin, decisions, desk, health, predict, scores
from attrition.service.core.runtime import ServiceRuntime, build_runtime
from attrition.service.settings import ServiceSettings

ROUTERS = (predict.router, scores.router, decisions.router, health.router, admin.router, desk.router)

_DESCRIPTION = """Real-time employee-attrition scores from a verified model package.

* Prediction and score endpoints need an OAuth2 bearer JWT whose `scope` claim contains
  `attrition:predict`; `POST /decisions` needs `attrition:decide`; `/admin/*` needs
  `attrition:admin`. Health, readiness and metrics are open.
* `/predict` takes all four features, or an `employee_id` alone: its current features are then read
  from the online feature store (ATTRITION_ONLINE_FEATURES, reloaded when the file changes) and
  returned in the answer with the store's table version and as-of date.
* If no verified model could be loaded, `/readyz` answers 503 and `/predict` answers from the
  nightly batch scores (`source: "batch"`) for a known `employee_id`, else 503.
* Every answer is audited (caller, time, inputs, output, model version, the feature store version
  of looked-up inputs; no inputs or id when `opt_out` is true) and leaves only once its audit row
  is committed; it carries that row's `prediction_id`, which a manager cites in `POST /decisions`.
  If the audit store fails for longer than its bound, predictions answer 503 and `/readyz` fails
  (fail closed).
"""


def _on_sighup(runtime: ServiceRuntime, tasks: set[asyncio.Task[Any]]) -> None:
    task = asyncio.get_running_loop().create_task(runtime.reload("SIGHUP"))
    tasks.add(task)
    task.add_done_callback(tasks.discard)


def create_app(
    settings: ServiceSettings, runtime: ServiceRuntime | None = None, *, predict_fast_path: bool = True
) -> FastAPI:
    """Build the app around `runtime` (default: the production wiring for `settings`).

    The model is loaded (and verified) when the lifespan starts; SIGHUP reloads it when the app
    runs in the main thread. `predict_fast_path=False` leaves POST /predict to the routers alone:
    the reference the tests hold the fast path (api/fast_predict.py) to.
    """
    runtime = runtime if runtime is not None else build_runtime(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await asyncio.to_thread(runtime.start)
        loop = asyncio.get_running_loop()
        tasks: set[asyncio.Task[Any]] = set()
        purger = loop.create_task(runtime.purge_forever())
        watcher = loop.create_task(runtime.watch_reload_trigger())
        online = loop.create_task(runtime.watch_online_features())
        identity = loop.create_task(runtime.watch_identity_provider())
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
            for task in (purger, watcher, online, identity):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await asyncio.to_thread(runtime.stop)

    # FastAPIOffline serves Swagger UI and ReDoc from assets installed with the package (pinned
    # fastapi-offline), where FastAPI's default pages load them from a CDN: /docs works offline
    # and in clusters without egress. The validator badge would call validator.swagger.io.
    app = FastAPIOffline(
        title="Attrition Predictor",
        version=__version__,
        description=_DESCRIPTION,
        lifespan=lifespan,
        swagger_ui_parameters={"validatorUrl": None},
        # No 307 to the slash-less path: such a redirect would be built from the request's Host.
        redirect_slashes=False,
    )
    app.state.runtime = runtime
    for router in ROUTERS:
        app.include_router(router)
    scoring_errors = ScoringErrorAnswers(runtime.metrics)
    install_error_handlers(app, runtime.metrics, scoring_errors)
    app.openapi = openapi_with_roles(app, runtime)  # type: ignore[method-assign]
    # Added last = outermost, so a request meets: the /predict fast path (which answers the common
    # prediction itself and hands everything else on), metrics (which see every answer, refusals
    # too), the Host check, the token check (an anonymous client's body is never read), the body
    # rules, then routing.
    app.add_middleware(
        BodyLimitMiddleware,
        max_body_bytes=settings.max_body_bytes,
        body_timeout_s=settings.body_timeout_s,
        form_paths=("/desk/",),  # the manager's desk posts HTML forms
    )
    routes = [route for router in ROUTERS for route in router.routes]
    app.add_middleware(AuthFirstMiddleware, runtime=runtime, routes=guarded_routes(routes, ACCESS_SCOPES))
    hosts = HostRule(settings.allowed_hosts)
    app.add_middleware(AllowedHostsMiddleware, hosts=hosts)
    app.add_middleware(
        MetricsMiddleware,
        metrics=runtime.metrics,
        known_paths=frozenset(
            path for router in ROUTERS for route in router.routes if (path := getattr(route, "path", None))
        ),
    )
    if not predict_fast_path:
        return app
    app.add_middleware(
        PredictFastPath,
        runtime=runtime,
        hosts=hosts,
        errors=scoring_errors,
        max_body_bytes=settings.max_body_bytes,
        body_timeout_s=settings.body_timeout_s,
    )
    return app
