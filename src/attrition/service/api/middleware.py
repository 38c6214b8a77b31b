"""Two pure-ASGI middlewares: request metrics (outer) and the body rules 400/408/413/415 (inner).

A BaseHTTPMiddleware would wrap every request in extra tasks and streams; these are plain ASGI
callables. They are separate so the body rules can change without touching what is measured:
the metrics middleware sees every answer, including the body rules' refusals, and counts a client
that went away before its answer as 499 (client closed request), never as a server error.
"""

from __future__ import annotations

import asyncio
import json
import time

from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from attrition.service.core.metrics import ServiceMetrics

CLIENT_CLOSED = 499  # nginx's "client closed request": nobody read an answer, nothing failed here
ENDPOINT_KEY = "attrition.endpoint"  # the route template, when a middleware matched it before routing


class BodyTimeoutError(Exception):
    """The request body did not arrive within the body deadline (answered 408, connection closed)."""


def replaying(first: Message, receive: Receive) -> Receive:
    """`receive` that hands out `first` (a message already read) again, then what is still to come."""
    given = False

    async def replay() -> Message:
        nonlocal given
        if not given:
            given = True
            return first
        return await receive()

    return replay


def body_overdue(body_timeout_s: float) -> str:
    """The 408's detail, worded once for the body rules and the /predict fast path."""
    return f"request body not received within {body_timeout_s:g} s"


async def send_json(
    send: Send, status: int, body: dict[str, object], headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    """A whole JSON answer, for middlewares that refuse a request before the app sees it."""
    payload = json.dumps(body).encode("utf-8")
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode("ascii")),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})


def _header(scope: Scope, wanted: bytes) -> bytes | None:
    for name, value in scope["headers"]:
        if name == wanted:
            return bytes(value)
    return None


def declared_length(value: bytes | None) -> int | None:
    """A Content-Length header's body length: None if absent, -1 if not a non-negative integer."""
    if value is None:
        return None
    try:
        length = int(value)
    except ValueError:
        return -1
    return length if length >= 0 else -1


def _is_form(scope: Scope) -> bool:
    """application/x-www-form-urlencoded (an HTML form without files), parameters ignored."""
    value = _header(scope, b"content-type")
    return (
        value is not None and value.split(b";", 1)[0].strip().lower() == b"application/x-www-form-urlencoded"
    )


def is_json_media(value: bytes | None) -> bool:
    """A Content-Type of application/json or application/<anything>+json, parameters ignored."""
    if value is None:
        return False
    media = value.split(b";", 1)[0].strip().lower()
    return media == b"application/json" or (media.startswith(b"application/") and media.endswith(b"+json"))


def _is_json(scope: Scope) -> bool:
    return is_json_media(_header(scope, b"content-type"))


class MetricsMiddleware:
    """Times and counts every HTTP request by endpoint, method and status.

    The endpoint label is the matched route's path template ("/scores/{employee_id}"), or
    "unmatched", so label cardinality stays bounded whatever URLs clients send. Requests refused
    before routing (401, 413, 415) are labelled with the template a middleware matched, or their
    path when it is one of `known_paths`. A request whose client disconnected before any answer
    started is 499, and starlette's ClientDisconnect ends here (there is no one left to answer).
    """

    def __init__(
        self, app: ASGIApp, metrics: ServiceMetrics, known_paths: frozenset[str] = frozenset()
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.known_paths = known_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status_box = [0]  # 0 until a response starts
        gone = [False]

        async def send_with_status(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_box[0] = message["status"]
            await send(message)

        async def receive_watching(receive: Receive = receive) -> Message:
            message = await receive()
            if message["type"] == "http.disconnect":
                gone[0] = True
            return message

        try:
            await self.app(scope, receive_watching, send_with_status)
        except ClientDisconnect:
            gone[0] = True
        finally:
            status = status_box[0] or (CLIENT_CLOSED if gone[0] else 500)
            route = scope.get("route")
            endpoint = (
                getattr(route, "path", None)
                or scope.get(ENDPOINT_KEY)
                or (scope["path"] if scope["path"] in self.known_paths else "unmatched")
            )
            self.metrics.observe_request(endpoint, scope["method"], status, time.perf_counter() - start)
            if status in (400, 413, 415) and route is None:
                self.metrics.validation_errors.labels(endpoint).inc()


class BodyLimitMiddleware:
    """The body rules, checked before routing and before any body is parsed.

    Bodies over `max_body_bytes` are refused (413), a bad Content-Length too (400), non-JSON bodies
    (415) except HTML form posts under `form_paths` (the manager's desk); a body must arrive within
    `body_timeout_s` of the request head, else 408 and the connection is closed (a slow-body client
    holds nothing for long). A chunked body is buffered up to the limit and replayed, so an oversized
    one never reaches the JSON parser.
    """

    def __init__(
        self,
        app: ASGIApp,
        max_body_bytes: int,
        body_timeout_s: float = 10.0,
        form_paths: tuple[str, ...] = (),
    ) -> None:
        self.app = app
        self.form_paths = form_paths
        self.max_body_bytes = max_body_bytes
        self.body_timeout_s = body_timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = declared_length(_header(scope, b"content-length"))
        if length == -1 or (length is not None and length > self.max_body_bytes):
            await send_json(send, 413 if length != -1 else 400, {"detail": self._too_large(length)})
            return
        chunked = length is None and _header(scope, b"transfer-encoding") is not None
        has_body = chunked or (length is not None and length > 0)
        form = _is_form(scope) and scope["path"].startswith(self.form_paths) if self.form_paths else False
        if has_body and scope["method"] in ("POST", "PUT", "PATCH") and not (_is_json(scope) or form):
            await send_json(send, 415, {"detail": "content-type: request bodies must be application/json"})
            return
        if has_body:
            receive = self._with_deadline(receive)
        if chunked:
            try:
                body = await self._read_limited(receive)
            except BodyTimeoutError as error:
                await send_json(send, 408, {"detail": str(error)}, [(b"connection", b"close")])
                return
            if body is None:
                await send_json(send, 413, {"detail": self._too_large(None)})
                return
            receive = replaying({"type": "http.request", "body": body, "more_body": False}, receive)
        await self.app(scope, receive, send)

    def _too_large(self, length: int | None) -> str:
        if length == -1:
            return "content-length header is not a non-negative integer"
        return f"request body is larger than the {self.max_body_bytes}-byte limit"

    def _with_deadline(self, receive: Receive) -> Receive:
        """`receive` that raises BodyTimeoutError once the body is overdue (until its last part)."""
        deadline = asyncio.get_running_loop().time() + self.body_timeout_s
        complete = False

        async def receive_by_deadline() -> Message:
            nonlocal complete
            if complete:
                return await receive()
            try:
                async with asyncio.timeout_at(deadline):
                    message = await receive()
            except TimeoutError:
                raise BodyTimeoutError(body_overdue(self.body_timeout_s)) from None
            complete = message["type"] != "http.request" or not message.get("more_body", False)
            return message

        return receive_by_deadline

    async def _read_limited(self, receive: Receive) -> bytes | None:
        """Buffer a body sent without content-length, giving up past the limit.

        A client that disconnects mid-body raises ClientDisconnect (counted 499, never answered).
        """
        chunks: list[bytes] = []
        total = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise ClientDisconnect()
            chunk = message.get("body", b"")
            total += len(chunk)
            if total > self.max_body_bytes:
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)
