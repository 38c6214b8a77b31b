"""FastAPI dependencies shared by the routers, as `Annotated` aliases."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request, Security

from attrition.service.auth import SCOPE_ADMIN, SCOPE_PREDICT, Caller, authenticated_caller
from attrition.service.runtime import ServiceRuntime


async def get_runtime(request: Request) -> ServiceRuntime:
    """The app's runtime (async so FastAPI does not hop to a worker thread for it)."""
    runtime: ServiceRuntime = request.app.state.runtime
    return runtime


Runtime = Annotated[ServiceRuntime, Depends(get_runtime)]
PredictCaller = Annotated[Caller, Security(authenticated_caller, scopes=[SCOPE_PREDICT])]
AdminCaller = Annotated[Caller, Security(authenticated_caller, scopes=[SCOPE_ADMIN])]
