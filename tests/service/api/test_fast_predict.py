"""The /predict fast path answers exactly as the routers do, and answers the common request itself.

Every case goes to two servers over the same package: one with the fast path (as `attrition serve`
runs) and one without it (the routers alone, the behaviour the fast path must keep). Status, body
(but the fresh prediction_id), the headers a client acts on and the request metrics must agree.
"""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from attrition.service.api import fast_predict
from attrition.service.core.runtime import build_runtime
from attrition.service.core.tokens import SCOPE_DECIDE
from tests.support.service import (
    SAMPLE_EMPLOYEE,
    ListAudit,
    Server,
    bearer,
    make_token,
    serve_in_thread,
    settings_for,
)

JSON = {"content-type": "application/json"}
# (name, content, extra headers, token scope or None for no token)
CASES: list[tuple[str, bytes, dict[str, str], str | None]] = [
    ("valid", b'{"age": 29, "job_role": "Sales", "monthly_income": 2900, "years_at_company": 1}', JSON, "p"),
    (
        "valid, +json media type",
        b'{"age": 50, "job_role": "Sales", "monthly_income": 9000, '
        b'"years_at_company": 20, "employee_id": "E1", "opt_out": true}',
        {"content-type": "application/merge-patch+json; charset=utf-8"},
        "p",
    ),
    (
        "out of range",
        b'{"age": 9, "job_role": "Sales", "monthly_income": 2900, "years_at_company": 1}',
        JSON,
        "p",
    ),
    (
        "unknown role",
        b'{"age": 29, "job_role": "Pirate", "monthly_income": 2900, "years_at_company": 1}',
        JSON,
        "p",
    ),
    ("partial", b'{"age": 29, "job_role": "Sales"}', JSON, "p"),
    (
        "extra field",
        b'{"age": 29, "job_role": "Sales", "monthly_income": 2900, "years_at_company": 1, "salary": 1}',
        JSON,
        "p",
    ),
    ("id alone, no store", b'{"employee_id": "E00007"}', JSON, "p"),
    ("not JSON", b'{"age": ', JSON, "p"),
    ("bad UTF-8", b'{"job_role": "\xff"}', JSON, "p"),
    ("NaN", b'{"age": 29, "job_role": "Sales", "monthly_income": NaN, "years_at_company": 1}', JSON, "p"),
    ("a list", b"[1, 2]", JSON, "p"),
    ("null", b"null", JSON, "p"),
    ("empty", b"", JSON, "p"),
    ("deeply nested", b"[" * 5000 + b"]" * 5000, JSON, "p"),
    ("form body", b"age=29", {"content-type": "application/x-www-form-urlencoded"}, "p"),
    ("no content-type", b'{"age": 29}', {}, "p"),
    (
        "no token",
        b'{"age": 29, "job_role": "Sales", "monthly_income": 2900, "years_at_company": 1}',
        JSON,
        None,
    ),
    (
        "wrong scope",
        b'{"age": 29, "job_role": "Sales", "monthly_income": 2900, "years_at_company": 1}',
        JSON,
        "d",
    ),
    ("bad token", b"{}", JSON, "bad"),
    (
        "bad host",
        b'{"age": 29, "job_role": "Sales", "monthly_income": 2900, "years_at_company": 1}',
        {**JSON, "host": "evil.example"},
        "p",
    ),
]
ANSWER_HEADERS = ("content-type", "www-authenticate", "retry-after", "connection")


def _headers(token: str | None, extra: dict[str, str]) -> dict[str, str]:
    tokens = {"p": make_token(), "d": make_token(scope=SCOPE_DECIDE), "bad": "not-a-jwt"}
    return {**({} if token is None else bearer(tokens[token])), **extra}


def _answer(server: Server, content: bytes, headers: dict[str, str]) -> tuple[int, Any, dict[str, str]]:
    with server.client() as client:
        reply = client.post("/predict", content=content, headers=headers)
    try:
        body: Any = reply.json()
    except ValueError:
        body = reply.text
    if isinstance(body, dict) and "prediction_id" in body:
        body = {**body, "prediction_id": "*"}
    kept = {name: reply.headers[name] for name in ANSWER_HEADERS if name in reply.headers}
    return reply.status_code, body, kept


def _predict_metrics(server: Server) -> dict[str, float]:
    with server.client() as client:
        text = client.get("/metrics").text
    series = r"attrition_(?:http_requests_total|validation_errors_total)"
    pattern = rf'^({series}\{{[^}}]*endpoint="/predict"[^}}]*\}}) (\S+)$'
    return {match[1]: float(match[2]) for match in re.finditer(pattern, text, re.MULTILINE)}


@pytest.fixture(scope="module")
def pair(
    model_package: Path, scores_csv: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Server, Server]]:
    fast_dir, routed_dir = tmp_path_factory.mktemp("fast"), tmp_path_factory.mktemp("routed")
    with (
        serve_in_thread(settings_for(fast_dir, model_package, scores_csv)) as fast,
        serve_in_thread(
            settings_for(routed_dir, model_package, scores_csv), predict_fast_path=False
        ) as routed,
    ):
        yield fast, routed


@pytest.mark.parametrize(("name", "content", "extra", "token"), CASES, ids=[case[0] for case in CASES])
def test_every_case_answers_as_the_routers_do(
    pair: tuple[Server, Server], name: str, content: bytes, extra: dict[str, str], token: str | None
) -> None:
    fast, routed = pair
    headers = _headers(token, extra)
    assert _answer(fast, content, headers) == _answer(routed, content, headers), name


def test_metrics_agree_after_the_same_requests(model_package: Path, scores_csv: Path, tmp_path: Path) -> None:
    servers = []
    with (
        serve_in_thread(settings_for(tmp_path / "f", model_package, scores_csv)) as fast,
        serve_in_thread(
            settings_for(tmp_path / "r", model_package, scores_csv), predict_fast_path=False
        ) as routed,
    ):
        for server in (fast, routed):
            for _, content, extra, token in CASES:
                _answer(server, content, _headers(token, extra))
            servers.append(_predict_metrics(server))
    assert servers[0] == servers[1]
    assert servers[0]['attrition_http_requests_total{endpoint="/predict",method="POST",status="200"}'] == 2


def test_the_common_request_is_answered_without_the_routers(
    live: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A valid request is scored by the fast path; an invalid one goes to the routers, unscored by it."""
    calls: list[str] = []
    score = fast_predict.score_request

    async def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(kwargs["endpoint"])
        return await score(*args, **kwargs)

    monkeypatch.setattr(fast_predict, "score_request", counted)
    with live.client(headers=bearer(make_token())) as client:
        assert client.post("/predict", json=SAMPLE_EMPLOYEE).status_code == 200
        assert client.post("/predict", json={**SAMPLE_EMPLOYEE, "age": "old"}).status_code == 422
        assert client.post("/predict/batch", json={"employees": [SAMPLE_EMPLOYEE]}).status_code == 200
    assert calls == ["/predict"]


def test_a_refusing_audit_store_answers_503_on_both(
    model_package: Path, scores_csv: Path, tmp_path: Path
) -> None:
    answers = []
    for fast in (True, False):
        settings = settings_for(tmp_path / str(fast), model_package, scores_csv)
        runtime = build_runtime(settings)
        runtime.audit = ListAudit(refuse=True)
        with serve_in_thread(settings, runtime, predict_fast_path=fast) as server:
            answers.append(_answer(server, CASES[0][1], _headers("p", JSON)))
    assert answers[0] == answers[1]
    assert answers[0][0] == 503
    assert answers[0][2]["retry-after"] == "5"


def test_a_body_that_never_comes_is_408_and_closed(
    model_package: Path, scores_csv: Path, tmp_path: Path
) -> None:
    settings = settings_for(tmp_path, model_package, scores_csv, body_timeout_s=0.3)
    with serve_in_thread(settings) as server:
        host, port = server.url.removeprefix("http://").split(":")
        head = (
            f"POST /predict HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
            f"Content-Length: 80\r\nAuthorization: Bearer {make_token()}\r\n\r\n"
        )
        with socket.create_connection((host, int(port)), timeout=5) as sock:
            sock.sendall(head.encode())
            reply = sock.recv(1000)
        assert reply.startswith(b"HTTP/1.1 408")
        assert b"connection: close" in reply.lower()
        assert b"not received within 0.3 s" in reply


def test_a_chunked_body_is_read_by_the_body_rules_and_replayed(pair: tuple[Server, Server]) -> None:
    """No Content-Length: the fast path hands it over, the body rules buffer and replay it."""
    answers = []
    for server in pair:
        with server.client(headers=_headers("p", JSON)) as client:
            reply = client.post("/predict", content=iter([CASES[0][1][:20], CASES[0][1][20:]]))
        assert "content-length" not in reply.request.headers
        answers.append((reply.status_code, {**reply.json(), "prediction_id": "*"}))
    assert answers[0] == answers[1]
    assert answers[0][0] == 200
