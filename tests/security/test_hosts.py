"""Finding 4: the Host header is checked and never reflected.

Before: any Host was accepted and `GET /predict/` answered 307 with `Location: http://<Host>/predict`,
so a forged Host came back in a redirect.
"""

from __future__ import annotations

import socket

import pytest

from tests.security.support import Live, address, read_response

pytestmark = pytest.mark.security


def _raw_get(live: Live, path: str, host_header: str) -> bytes:
    with socket.create_connection(address(live.url), timeout=5) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: {host_header}\r\nConnection: close\r\n\r\n".encode())
        return read_response(sock)


@pytest.mark.parametrize("path", ["/healthz", "/predict/", "/readyz/", "/docs"])
def test_a_foreign_host_is_refused_and_not_reflected(hardened: Live, path: str) -> None:
    reply = _raw_get(hardened, path, "evil.example")
    assert reply.startswith(b"HTTP/1.1 400"), reply[:200]
    assert b"evil.example" not in reply


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_the_local_names_are_served(hardened: Live, host: str) -> None:
    _, port = address(hardened.url)
    assert _raw_get(hardened, "/healthz", f"{host}:{port}").startswith(b"HTTP/1.1 200")


def test_trailing_slashes_are_not_redirected(hardened: Live) -> None:
    host, port = address(hardened.url)
    reply = _raw_get(hardened, "/healthz/", f"{host}:{port}")
    assert reply.startswith(b"HTTP/1.1 404"), reply[:200]
    assert b"location:" not in reply.lower()
