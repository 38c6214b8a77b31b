"""POST /predict without the framework in the way: the service's hot path as one pure-ASGI callable.

Profiled with py-spy at 8 connections, an answer from /predict cost about 0.45 ms of CPU against
0.13 ms for a no-op FastAPI POST; the endpoint's own work (scoring, reasons, the audit hand-off, the
answer's JSON) was about a quarter of it, and the layers around it (four middlewares of ours, two of
Starlette's, route matching over every route, the dependency solver) about 60%. This callable, the
outermost middleware, answers the common request itself: an allowed Host, a JSON body of declared
length within the limit, a bearer token with `attrition:predict` and a body that validates as
EmployeeFeatures. It goes through the same checks in the same order as the full app (Host, token
before the body is read, the body rules, validation as FastAPI does it: `json.loads`, then the model),
the same scoring (core/scoring.score_request) and the same error answers for what scoring raises
(api/errors.ScoringErrorAnswers), and it counts the request in the same metrics.

Anything else goes to the full app untouched: other paths, a missing or refused token, a chunked,
oversized, empty or non-JSON body, a body that does not validate, a client gone before its body
arrived. A body already read is replayed to it, so the full app answers exactly as it does without
this path (the tests send every /predict case through here). `/predict/batch` stays on the full app:
its cost per employee is the scoring, not the framework.
"""

from __future__ import annotations

import asyncio
import json
import time

from pydantic import ValidationError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from attrition.service.api.errors import ScoringErrorAnswers
from attrition.service.api.guards import HostRule
from attrition.service.api.middleware import (
    body_overdue,
    declared_length,
    is_json_media,
    replaying,
    send_json,
)
from attrition.service.core.runtime import ServiceRuntime
from attrition.service.core.scoring import score_request
from attrition.service.core.tokens import SCOPE_PREDICT, AuthError, authorize
from attrition.service.schemas import EmployeeFeatures

PATH = "/predict"
_SCOPES = (SCOPE_PREDICT,)
_WANTED = frozenset((b"authorization", b"content-length", b"content-type", b"transfer-encoding"))
_JSON_HEAD = [(b"content-type", b"application/json")]


def _headers(scope: Scope) -> dict[bytes, bytes]:
    """The headers this path reads, the first of each name (as the full app's middlewares take it)."""
    found: dict[bytes, bytes] = {}
    for name, value in scope["headers"]:
        if name in _WANTED and name not in found:
            found[name] = bytes(value)
    return found


class PredictFastPath:
    """Answer the common POST /predict directly; hand every other request to `app` (the full app)."""

    def __init__(
        self,
        app: ASGIApp,
        runtime: ServiceRuntime,
        hosts: HostRule,
        errors: ScoringErrorAnswers,
        max_body_bytes: int,
        body_timeout_s: float,
    ) -> None:
        self.app = app
        self.runtime = runtime
        self.hosts = hosts
        self.errors = errors
        self.max_body_bytes = max_body_bytes
        self.body_timeout_s = body_timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != PATH or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        headers = _headers(scope)
        if not (self.hosts.allows(scope) and self._body_rules_pass(headers)):
            await self.app(scope, receive, send)  # it answers 400, 413 or 415 (or reads a chunked body)
            return
        authorization = headers.get(b"authorization")
        try:
            caller = await authorize(
                self.runtime.verifier,
                None if authorization is None else authorization.decode("latin-1"),
                _SCOPES,
            )
        except AuthError:
            await self.app(scope, receive, send)  # it answers 401, 403 or 503 with its challenge
            return
        try:
            async with asyncio.timeout(self.body_timeout_s):
                message = await receive()
        except TimeoutError:
            await send_json(
                send, 408, {"detail": body_overdue(self.body_timeout_s)}, [(b"connection", b"close")]
            )
            self._observe(408, start)
            return
        employee = self._valid_employee(message)
        if employee is None:  # gone, a body in parts, or invalid: the full app answers as it always has
            await self.app(scope, replaying(message, receive), send)
            return
        status = 500  # until an answer is sent: an unexpected error propagates and is answered 500
        try:
            predictions = await score_request(
                self.runtime, caller.subject, [employee], endpoint=PATH, batch=False
            )
        except Exception as error:
            answer = self.errors.answer(PATH, error)
            if answer is None:
                self._observe(status, start)
                raise
            await answer(scope, receive, send)
            status = answer.status_code
        else:
            payload = predictions[0].model_dump_json().encode("utf-8")
            head = [*_JSON_HEAD, (b"content-length", str(len(payload)).encode("ascii"))]
            await send({"type": "http.response.start", "status": 200, "headers": head})
            await send({"type": "http.response.body", "body": payload})
            status = 200
        self._observe(status, start)

    def _body_rules_pass(self, headers: dict[bytes, bytes]) -> bool:
        """A JSON body with a declared length within the limit (the rest is the body rules' to answer)."""
        if b"transfer-encoding" in headers or not is_json_media(headers.get(b"content-type")):
            return False
        length = declared_length(headers.get(b"content-length"))
        return length is not None and 0 < length <= self.max_body_bytes

    @staticmethod
    def _valid_employee(message: Message) -> EmployeeFeatures | None:
        """The whole body as FastAPI reads it (json.loads, then the model), or None to hand it over."""
        if message["type"] != "http.request" or message.get("more_body", False):
            return None
        try:
            return EmployeeFeatures.model_validate(json.loads(message.get("body", b"")))
        except (ValueError, RecursionError, ValidationError):  # JSONDecodeError and bad UTF-8 too
            return None

    def _observe(self, status: int, start: float) -> None:
        self.runtime.metrics.observe_request(PATH, "POST", status, time.perf_counter() - start)
