"""The body rules (413/415/400 before routing) and the request metrics that label them."""

from __future__ import annotations

import socket
from typing import Any

from tests.support.service import (
    Server,
    bearer,
    make_token,
)


def test_body_limits_and_content_type(live: Server) -> None:
    limit = live.settings.max_body_bytes
    headers = bearer(make_token())
    with live.client(headers=headers) as client:
        big = client.post(
            "/predict", content=b" " * (limit + 1), headers={"content-type": "application/json"}
        )
        assert big.status_code == 413
        assert str(limit) in big.json()["detail"]

        def chunks() -> Any:
            for _ in range(limit // 1000 + 2):
                yield b" " * 1000

        streamed = client.post("/predict", content=chunks(), headers={"content-type": "application/json"})
        assert streamed.status_code == 413
        form = client.post("/predict", data={"age": "34"})
        assert form.status_code == 415
        assert "application/json" in form.json()["detail"]
        metrics = client.get("/metrics").text
    assert 'attrition_http_requests_total{endpoint="/predict",method="POST",status="413"} 2.0' in metrics
    assert 'attrition_http_requests_total{endpoint="/predict",method="POST",status="415"} 1.0' in metrics
    # A lying Content-Length larger than what is sent must not hang or crash the server.
    host, port = live.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n")
        assert sock.recv(100).startswith(b"HTTP/1.1 4")
    with live.client() as client:
        assert client.get("/healthz").status_code == 200


def test_unknown_routes_and_methods_are_4xx(live: Server) -> None:
    with live.client() as client:
        assert client.get("/nope").status_code == 404
        assert client.get("/predict").status_code == 405
        assert client.delete("/healthz").status_code == 405
        text = client.get("/metrics").text
    assert 'endpoint="unmatched"' in text
    assert "/nope" not in text
