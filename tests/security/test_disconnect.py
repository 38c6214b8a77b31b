"""Finding 1: a client that disconnects in the middle of its body is not a server error.

Before: the body error handler indexed the first line of ClientDisconnect's empty message, so each such
client produced a 500, a traceback in the log and a count towards the AttritionHigh5xxRatio alert.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.security.support import Live, address, request_counts, served, token

pytestmark = pytest.mark.security

BIG_BODY_LIMIT = 256 * 1024  # so a 100,000-byte Content-Length is accepted and the body is awaited
COUNT_TIMEOUT_S = 10.0


@pytest.fixture(scope="module")
def server(model_package: Path, scores_csv: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    tmp = tmp_path_factory.mktemp("disconnect")
    with served(
        tmp, model_package, scores_csv, env={"ATTRITION_MAX_BODY_BYTES": str(BIG_BODY_LIMIT)}
    ) as live:
        yield live


def _predict_total(url: str) -> float:
    return sum(n for (endpoint, _, _), n in request_counts(url).items() if endpoint == "/predict")


@pytest.mark.parametrize("framing", ["content-length", "chunked"])
def test_a_disconnect_mid_body_is_counted_as_client_closed_not_500(server: Live, framing: str) -> None:
    host, port = address(server.url)
    before = _predict_total(server.url)
    length = "Content-Length: 100000\r\n" if framing == "content-length" else "Transfer-Encoding: chunked\r\n"
    head = (
        f"POST /predict HTTP/1.1\r\nHost: {host}:{port}\r\nAuthorization: Bearer {token()}\r\n"
        f"Content-Type: application/json\r\n{length}\r\n"
    ).encode()
    first_bytes = b'{"age": 3' if framing == "content-length" else b'400\r\n{"age": 3'
    with socket.create_connection((host, port), timeout=5) as sock:
        sock.sendall(head + first_bytes)
        time.sleep(0.3)  # the server is now waiting for the rest of the body
    deadline = time.monotonic() + COUNT_TIMEOUT_S
    while _predict_total(server.url) <= before:
        assert time.monotonic() < deadline, "the disconnected request was never counted"
        time.sleep(0.05)
    counts = request_counts(server.url)
    server_errors = {key: n for key, n in counts.items() if key[2].startswith("5")}
    assert server_errors == {}, server_errors
    assert counts.get(("/predict", "POST", "499"), 0) >= 1, counts
    log = server.log_text()
    assert "Traceback" not in log and "Exception in ASGI application" not in log, log[-3000:]
