"""OpenAPI helpers: the bearer scheme, per-route security and error entries, the live role enum."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from attrition.service.core.runtime import ServiceRuntime
from attrition.service.core.tokens import SCOPE_ADMIN, SCOPE_DECIDE, SCOPE_PREDICT
from attrition.service.schemas import ErrorResponse

SECURITY_SCHEME = "OAuth2BearerJWT"
SECURITY_SCHEME_SPEC: dict[str, str] = {
    "type": "http",
    "scheme": "bearer",
    "bearerFormat": "JWT",
    "description": (
        "OAuth2 bearer JWT. The space-separated `scope` claim must contain "
        f"`{SCOPE_PREDICT}` (prediction and score endpoints), `{SCOPE_DECIDE}` (decisions) or "
        f"`{SCOPE_ADMIN}` (admin). "
        "Local development: `attrition token --sub alice --scope attrition:predict --ttl 3600`."
    ),
}


def security_requirement(*scopes: str) -> dict[str, Any]:
    """`openapi_extra` for a route guarded by these scopes (declared per route, see deps)."""
    return {"security": [{SECURITY_SCHEME: list(scopes)}]}


def auth_responses(scope: str) -> dict[int | str, dict[str, Any]]:
    """The 401 and 403 entries every route guarded by `scope` documents in OpenAPI."""
    return {
        401: {"model": ErrorResponse, "description": "Missing, malformed, badly signed or expired token"},
        403: {"model": ErrorResponse, "description": f"Token lacks the {scope} scope"},
    }


def openapi_with_roles(app: FastAPI, runtime: ServiceRuntime) -> Callable[[], dict[str, Any]]:
    """OpenAPI whose job_role enum is the loaded package's roles (rebuilt after each model swap)."""
    built_for = [-1]

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None and built_for[0] == runtime.generation:
            return app.openapi_schema
        built_for[0] = runtime.generation
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
