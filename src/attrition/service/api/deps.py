"""FastAPI dependencies shared by the routers, as `Annotated` aliases.

Guarded routes take one dependency that both authorizes the caller and hands over the runtime,
so the hot path resolves a single dependency per request. Every dependency reads the runtime
from `app.state`, so a test injects its own by passing a runtime (with its own collaborators)
to `create_app`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from attrition.service.core.runtime import ServiceRuntime
from attrition.service.core.tokens import SCOPE_ADMIN, SCOPE_DECIDE, SCOPE_PREDICT, Caller, authorize


@dataclass(frozen=True)
class Authorized:
    """A verified caller and the runtime to serve them from."""

    caller: Caller
    runtime: ServiceRuntime


async def get_runtime(request: Request) -> ServiceRuntime:
    """The app's runtime (async so FastAPI does not hop to a worker thread for it)."""
    runtime: ServiceRuntime = request.app.state.runtime
    return runtime


async def predict_access(request: Request) -> Authorized:
    """Bearer token with attrition:predict (AuthError -> 401 / 403 otherwise)."""
    runtime: ServiceRuntime = request.app.state.runtime
    caller = authorize(runtime.verifier, request.headers.get("authorization"), (SCOPE_PREDICT,))
    return Authorized(caller, runtime)


async def admin_access(request: Request) -> Authorized:
    """Bearer token with attrition:admin (AuthError -> 401 / 403 otherwise)."""
    runtime: ServiceRuntime = request.app.state.runtime
    caller = authorize(runtime.verifier, request.headers.get("authorization"), (SCOPE_ADMIN,))
    return Authorized(caller, runtime)


async def decide_access(request: Request) -> Authorized:
    """Bearer token with attrition:decide (AuthError -> 401 / 403 otherwise)."""
    runtime: ServiceRuntime = request.app.state.runtime
    caller = authorize(runtime.verifier, request.headers.get("authorization"), (SCOPE_DECIDE,))
    return Authorized(caller, runtime)


Runtime = Annotated[ServiceRuntime, Depends(get_runtime)]
PredictAccess = Annotated[Authorized, Depends(predict_access)]
AdminAccess = Annotated[Authorized, Depends(admin_access)]
DecideAccess = Annotated[Authorized, Depends(decide_access)]
