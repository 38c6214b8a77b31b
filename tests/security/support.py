"""Builders of the security tier: served processes with chosen settings, explicit tokens, raw reads.

Servers are child processes (tests/support/service.py's `serve_subprocess`) with the settings a test
names in ATTRITION_* variables; attacks use raw sockets so nothing in between fixes the request.
Tokens are built from explicit claims, so a test shows exactly what the server was sent. Every loop
is bounded in count and time.
"""

from __future__ import annotations

import contextlib
import re
import socket
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import jwt

from tests.support.service import SECRET, Subprocess, clean_env, serve_subprocess, settings_for

AUDIENCE = "attrition"  # the service's default ATTRITION_JWT_AUDIENCE and ATTRITION_JWT_ISSUER
ISSUER = "attrition"
_REQUESTS = re.compile(
    r'^attrition_http_requests_total\{endpoint="([^"]*)",method="([^"]*)",status="(\d+)"\} (\S+)$', re.M
)


@dataclass
class Live:
    """A running `attrition serve` and the file its output goes to."""

    proc: Subprocess
    log: Path

    @property
    def url(self) -> str:
        """The server's base URL."""
        return self.proc.url

    def log_text(self) -> str:
        """Everything the server wrote so far."""
        return self.log.read_text(encoding="utf-8", errors="replace")


def token(secret: str = SECRET, **claims: Any) -> str:
    """An HS256 token with a sane claim set; a keyword overrides a claim, None drops it."""
    now = int(time.time())
    base: dict[str, Any] = {
        "sub": "tester",
        "scope": "attrition:predict",
        "iat": now,
        "exp": now + 600,
        "aud": AUDIENCE,
        "iss": ISSUER,
    }
    merged = {k: v for k, v in {**base, **claims}.items() if v is not None}
    return jwt.encode(merged, secret, algorithm="HS256")


def address(url: str) -> tuple[str, int]:
    """(host, port) of a server URL."""
    parts = urlsplit(url)
    assert parts.hostname is not None and parts.port is not None
    return parts.hostname, parts.port


def request_counts(url: str) -> dict[tuple[str, str, str], float]:
    """attrition_http_requests_total by (endpoint, method, status), read from /metrics."""
    text = httpx.get(f"{url}/metrics", timeout=10).text
    return {(e, m, s): float(v) for e, m, s, v in _REQUESTS.findall(text)}


def refused_count(url: str, reason: str) -> float:
    """attrition_connections_refused_total{reason=...} read from /metrics (0 when never counted)."""
    text = httpx.get(f"{url}/metrics", timeout=10).text
    found = re.search(rf'^attrition_connections_refused_total{{reason="{reason}"}} (\S+)$', text, re.M)
    return float(found.group(1)) if found else 0.0


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (nearest rank) of a non-empty list."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


def read_response(sock: socket.socket, limit_s: float = 5.0) -> bytes:
    """What the server sends until it closes the connection or `limit_s` passes (bounded)."""
    sock.settimeout(0.5)
    chunks: list[bytes] = []
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            continue
        except OSError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)


def read_answer(sock: socket.socket, limit_s: float = 5.0) -> bytes:
    """One whole HTTP answer (head and Content-Length body), leaving the connection open (bounded)."""
    deadline = time.monotonic() + limit_s
    data = b""
    while time.monotonic() < deadline:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        chunk = sock.recv(65536)
        data += chunk
        head, separator, body = data.partition(b"\r\n\r\n")
        length = re.search(rb"(?im)^content-length: *(\d+)", head)
        if not chunk or (separator and length is not None and len(body) >= int(length.group(1))):
            break
    return data


@contextlib.contextmanager
def served(
    tmp: Path,
    package: Path,
    scores: Path,
    *,
    env: Mapping[str, str] | None = None,
    extra_args: tuple[str, ...] = (),
    scheme: str = "http",
    verify: Any = True,
    audit_db: str | None = None,
    cwd: Path | None = None,
    secret: str | None = SECRET,
) -> Iterator[Live]:
    """`attrition serve` with the test secret plus `env` (ATTRITION_* names), its log in tmp/serve.log."""
    overrides = {} if audit_db is None else {"audit_db": audit_db}
    settings = settings_for(tmp, package, scores, **overrides)
    values = dict(env or {})
    if secret is not None:
        values["ATTRITION_JWT_SECRET"] = secret
    with serve_subprocess(
        settings,
        tmp / "serve.log",
        env=clean_env(**values),
        extra_args=extra_args,
        scheme=scheme,
        verify=verify,
        cwd=cwd,
    ) as proc:
        yield Live(proc, tmp / "serve.log")
