"""Prometheus metrics and the one pure-ASGI middleware that feeds them and limits body size.

A BaseHTTPMiddleware would wrap every request in extra tasks and streams; this class is a plain
ASGI callable. Metrics live in a per-app registry so several apps (tests) never collide.
"""

from __future__ import annotations

import json
import time
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1.0, 2.5)


class ServiceMetrics:
    """Every metric the service exports, with label children cached for the hot path."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter(
            "attrition_http_requests",
            "HTTP requests by endpoint, method and status",
            ["endpoint", "method", "status"],
            registry=r,
        )
        self.latency = Histogram(
            "attrition_http_request_duration_seconds",
            "Request latency by endpoint",
            ["endpoint"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.predictions = Counter(
            "attrition_predictions",
            "Employees scored, by model version and source",
            ["model_version", "source"],
            registry=r,
        )
        self.fallbacks = Counter(
            "attrition_fallbacks",
            "Predictions answered from batch scores, by reason",
            ["reason"],
            registry=r,
        )
        self.validation_errors = Counter(
            "attrition_validation_errors",
            "Requests refused as invalid input (4xx), by endpoint",
            ["endpoint"],
            registry=r,
        )
        self.model_loaded = Gauge("attrition_model_loaded", "1 when a verified model is serving", registry=r)
        self.model_info = Gauge(
            "attrition_model_info",
            "The serving model version (value 1)",
            ["model_version"],
            registry=r,
        )
        self.reloads = Counter(
            "attrition_model_reloads", "Reload attempts by outcome", ["outcome"], registry=r
        )
        self.audit_written = Counter(
            "attrition_audit_records_written", "Audit records committed to SQLite", registry=r
        )
        self.audit_purged = Counter(
            "attrition_audit_records_purged", "Audit records deleted by purges", registry=r
        )
        self._request_children: dict[tuple[str, str, int], Any] = {}
        self._latency_children: dict[str, Any] = {}
        self._prediction_children: dict[tuple[str, str], Any] = {}

    def observe_request(self, endpoint: str, method: str, status: int, seconds: float) -> None:
        """Count one finished request and its latency."""
        key = (endpoint, method, status)
        child = self._request_children.get(key)
        if child is None:
            child = self._request_children[key] = self.requests.labels(endpoint, method, status)
        child.inc()
        latency = self._latency_children.get(endpoint)
        if latency is None:
            latency = self._latency_children[endpoint] = self.latency.labels(endpoint)
        latency.observe(seconds)

    def count_predictions(self, model_version: str, source: str, n: int = 1) -> None:
        """Count scored employees."""
        key = (model_version, source)
        child = self._prediction_children.get(key)
        if child is None:
            child = self._prediction_children[key] = self.predictions.labels(model_version, source)
        child.inc(n)

    def set_model(self, model_version: str | None) -> None:
        """Point the model gauges at the version now serving (or none)."""
        self.model_info.clear()
        if model_version is None:
            self.model_loaded.set(0)
        else:
            self.model_loaded.set(1)
            self.model_info.labels(model_version).set(1)


async def _send_json(send: Send, status: int, body: dict[str, object]) -> None:
    payload = json.dumps(body).encode("utf-8")
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode("ascii")),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})


def _header(scope: Scope, wanted: bytes) -> bytes | None:
    for name, value in scope["headers"]:
        if name == wanted:
            return bytes(value)
    return None


def _is_json(scope: Scope) -> bool:
    """application/json or application/<anything>+json, parameters ignored."""
    value = _header(scope, b"content-type")
    if value is None:
        return False
    media = value.split(b";", 1)[0].strip().lower()
    return media == b"application/json" or (media.startswith(b"application/") and media.endswith(b"+json"))


class ObservabilityMiddleware:
    """Times and counts every HTTP request and refuses bodies over `max_body_bytes` with 413.

    The endpoint label is the matched route's path template ("/scores/{employee_id}"), or
    "unmatched", so label cardinality stays bounded whatever URLs clients send. Requests refused
    here before routing (413, 415) are labelled with their path when it is one of `known_paths`.
    """

    def __init__(
        self,
        app: ASGIApp,
        metrics: ServiceMetrics,
        max_body_bytes: int,
        known_paths: frozenset[str] = frozenset(),
    ) -> None:
        self.app = app
        self.known_paths = known_paths
        self.metrics = metrics
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status_box = [500]

        async def send_with_status(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_box[0] = message["status"]
            await send(message)

        try:
            length = self._content_length(scope)
            if length == -1 or (length is not None and length > self.max_body_bytes):
                status_box[0] = 413 if length != -1 else 400
                await _send_json(send, status_box[0], {"detail": self._too_large(length)})
                return
            chunked = length is None and _header(scope, b"transfer-encoding") is not None
            has_body = chunked or (length is not None and length > 0)
            if has_body and scope["method"] in ("POST", "PUT", "PATCH") and not _is_json(scope):
                status_box[0] = 415
                await _send_json(
                    send, 415, {"detail": "content-type: request bodies must be application/json"}
                )
                return
            if chunked:
                body = await self._read_limited(receive)
                if body is None:
                    status_box[0] = 413
                    await _send_json(send, 413, {"detail": self._too_large(None)})
                    return
                receive = self._replay(body, receive)
            await self.app(scope, receive, send_with_status)
        finally:
            status = status_box[0]
            route = scope.get("route")
            endpoint = getattr(route, "path", None) or (
                scope["path"] if scope["path"] in self.known_paths else "unmatched"
            )
            self.metrics.observe_request(endpoint, scope["method"], status, time.perf_counter() - start)
            if status in (400, 413, 415) and route is None:
                self.metrics.validation_errors.labels(endpoint).inc()

    def _too_large(self, length: int | None) -> str:
        if length == -1:
            return "content-length header is not a non-negative integer"
        return f"request body is larger than the {self.max_body_bytes}-byte limit"

    @staticmethod
    def _content_length(scope: Scope) -> int | None:
        """Declared body length, None if absent, -1 if unparseable."""
        for name, value in scope["headers"]:
            if name == b"content-length":
                try:
                    length = int(value)
                except ValueError:
                    return -1
                return length if length >= 0 else -1
        return None

    async def _read_limited(self, receive: Receive) -> bytes | None:
        """Buffer a body sent without content-length, giving up past the limit."""
        chunks: list[bytes] = []
        total = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            total += len(chunk)
            if total > self.max_body_bytes:
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)

    @staticmethod
    def _replay(body: bytes, receive: Receive) -> Receive:
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        return replay
