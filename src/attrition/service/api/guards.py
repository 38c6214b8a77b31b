"""Who may ask, checked before anything else: the Host a request names, then its bearer token.

Both are pure-ASGI middlewares in front of routing:

* AllowedHostsMiddleware answers 400 to a Host header outside the allowed hosts, so no URL the
  service builds (a redirect, a link) can carry a forged host. The address the connection arrived
  on is always allowed: Kubernetes probes and Prometheus scrapes name the pod IP.
* AuthFirstMiddleware authenticates requests to token-guarded routes before their body is read:
  an anonymous client gets 401 whatever it sends, never a 422 about its body (and never makes the
  service parse one). The verified caller is left in the scope for the route's access dependency.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from fastapi.routing import APIRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from attrition.service.api.deps import CALLER_KEY
from attrition.service.api.middleware import ENDPOINT_KEY, send_json
from attrition.service.core.runtime import ServiceRuntime
from attrition.service.core.tokens import AuthError, authorize


def request_host(scope: Scope) -> str | None:
    """The host named by the Host header, lower-case, without port or IPv6 brackets (None if absent)."""
    for name, value in scope["headers"]:
        if name == b"host":
            host = bytes(value).decode("latin-1").strip().lower()
            if host.startswith("["):
                return host[1 : host.find("]")] if "]" in host else None
            return host.rsplit(":", 1)[0] if ":" in host else host
    return None


class HostRule:
    """The allowed hosts: exact names, `*.domain` suffixes, or `*`; the connection's own address too."""

    def __init__(self, allowed_hosts: Iterable[str]) -> None:
        hosts = tuple(allowed_hosts)
        self.any = "*" in hosts
        self.exact = frozenset(host for host in hosts if not host.startswith("*."))
        self.suffixes = tuple(host[1:] for host in hosts if host.startswith("*."))

    def allows(self, scope: Scope) -> bool:
        """Whether the request's Host is allowed."""
        if self.any:
            return True
        host = request_host(scope)
        if not host:
            return False
        if host in self.exact or (self.suffixes and host.endswith(self.suffixes)):
            return True
        server: tuple[str, int | None] | None = scope.get("server")
        return server is not None and host == str(server[0]).lower()


class AllowedHostsMiddleware:
    """400 for a Host outside the HostRule."""

    def __init__(self, app: ASGIApp, hosts: HostRule) -> None:
        self.app = app
        self.hosts = hosts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.hosts.allows(scope):
            await self.app(scope, receive, send)
            return
        await send_json(send, 400, {"detail": "invalid Host header"})  # never echo the value


@dataclass(frozen=True)
class GuardedRoute:
    """A route whose access dependency demands `scopes`, matched by path and method."""

    endpoint: str
    pattern: re.Pattern[str]
    methods: frozenset[str]
    scopes: tuple[str, ...]


def guarded_routes(
    routes: Iterable[Any], access: Mapping[Callable[..., Any], tuple[str, ...]]
) -> tuple[GuardedRoute, ...]:
    """The routes among `routes` that depend on one of the `access` dependencies, with its scopes."""
    guarded = []
    for route in routes:
        if not isinstance(route, APIRoute):
            continue
        calls = [dependency.call for dependency in route.dependant.dependencies if dependency.call]
        scopes = tuple(scope for call in calls for scope in access.get(call, ()))
        if scopes:
            guarded.append(GuardedRoute(route.path, route.path_regex, frozenset(route.methods or ()), scopes))
    return tuple(guarded)


class AuthFirstMiddleware:
    """Verify the bearer token of a guarded request before the route (and its body) is touched."""

    def __init__(self, app: ASGIApp, runtime: ServiceRuntime, routes: tuple[GuardedRoute, ...]) -> None:
        self.app = app
        self.runtime = runtime
        self.routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        guard = self._match(scope) if scope["type"] == "http" else None
        if guard is not None:
            scope[ENDPOINT_KEY] = guard.endpoint
            authorization = next((v for n, v in scope["headers"] if n == b"authorization"), None)
            header = None if authorization is None else bytes(authorization).decode("latin-1")
            try:
                scope[CALLER_KEY] = await authorize(self.runtime.verifier, header, guard.scopes)
            except AuthError as error:
                challenge = [(b"www-authenticate", error.challenge.encode("latin-1"))]
                await send_json(send, error.status, {"detail": error.message}, challenge)
                return
        await self.app(scope, receive, send)

    def _match(self, scope: Scope) -> GuardedRoute | None:
        path, method = scope["path"], scope["method"]
        for route in self.routes:
            if method in route.methods and route.pattern.match(path):
                return route
        return None
