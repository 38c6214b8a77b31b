"""FastAPI dependencies shared by the routers, as `Annotated` aliases.

Guarded routes take one dependency that both authorizes the caller and hands over the runtime,
so the hot path resolves a single dependency per request. The token was already verified, before
the body was read, by the AuthFirstMiddleware (api/guards.py), which finds the guarded routes
through ACCESS_SCOPES; the dependency takes the caller it left in the scope (and verifies the
token itself on a route the middleware was not told about). Every dependency reads the runtime
from `app.state`, so a test injects its own by passing a runtime (with its own collaborators)
to `create_app`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request

from attrition.service.core.runtime import ServiceRuntime
from attrition.service.core.tokens import (
    SCOPE_ADMIN,
    SCOPE_DECIDE,
    SCOPE_PREDICT,
    Caller,
    authorize,
    require_scopes,
)

CALLER_KEY = "attrition.caller"  # where AuthFirstMiddleware leaves the verified caller


@dataclass(frozen=True)
class Authorized:
    """A verified caller and the runtime to serve them from."""

    caller: Caller
    runtime: ServiceRuntime


async def get_runtime(request: Request) -> ServiceRuntime:
    """The app's runtime (async so FastAPI does not hop to a worker thread for it)."""
    runtime: ServiceRuntime = request.app.state.runtime
    return runtime


async def _access(request: Request, scopes: tuple[str, ...]) -> Authorized:
    runtime: ServiceRuntime = request.app.state.runtime
    caller: Caller | None = request.scope.get(CALLER_KEY)
    if caller is None:
        caller = await authorize(runtime.verifier, request.headers.get("authorization"), scopes)
    return Authorized(require_scopes(caller, scopes), runtime)


async def predict_access(request: Request) -> Authorized:
    """Bearer token with attrition:predict (AuthError -> 401 / 403 otherwise)."""
    return await _access(request, (SCOPE_PREDICT,))


async def admin_access(request: Request) -> Authorized:
    """Bearer token with attrition:admin (AuthError -> 401 / 403 otherwise)."""
    return await _access(request, (SCOPE_ADMIN,))


async def decide_access(request: Request) -> Authorized:
    """Bearer token with attrition:decide (AuthError -> 401 / 403 otherwise)."""
    return await _access(request, (SCOPE_DECIDE,))


ACCESS_SCOPES: dict[Callable[..., Any], tuple[str, ...]] = {
    predict_access: (SCOPE_PREDICT,),
    admin_access: (SCOPE_ADMIN,),
    decide_access: (SCOPE_DECIDE,),
}

Runtime = Annotated[ServiceRuntime, Depends(get_runtime)]
PredictAccess = Annotated[Authorized, Depends(predict_access)]
AdminAccess = Annotated[Authorized, Depends(admin_access)]
DecideAccess = Annotated[Authorized, Depends(decide_access)]
