"""The access dependencies: every bad token is a 401, a missing scope a 403, probes stay open."""

from __future__ import annotations

import base64
import json
import time

import pytest

from tests.support.service import (
    SAMPLE_EMPLOYEE,
    Server,
    bearer,
    make_token,
)


def _unsigned(claims: dict[str, object]) -> str:
    """An alg=none token (header + payload, empty signature)."""

    def part(data: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


BAD_TOKENS = {
    "garbage": "not-a-jwt",
    "three-garbage-parts": "a.b.c",
    "wrong-secret": make_token(secret="x" * 48),
    "alg-none": _unsigned({"sub": "eve", "scope": "attrition:predict admin", "exp": int(time.time()) + 600}),
    "expired": make_token(ttl=-120),  # past the 30 s clock-skew leeway
    "other-hmac-alg": make_token(algorithm="HS512"),
    "no-exp": make_token(ttl=0, exp=None),
    "no-sub": make_token(sub=None),
    "scope-not-string": make_token(scope=["attrition:predict"]),
}


@pytest.mark.parametrize("name", list(BAD_TOKENS))
def test_bad_tokens_are_401(live: Server, name: str) -> None:
    with live.client() as client:
        reply = client.post("/predict", json=SAMPLE_EMPLOYEE, headers=bearer(BAD_TOKENS[name]))
    assert reply.status_code == 401, reply.text
    assert reply.headers["www-authenticate"].startswith("Bearer")
    assert reply.json()["detail"]


@pytest.mark.parametrize(
    "headers", [{}, {"Authorization": "Basic YWxpY2U6cHc="}, {"Authorization": "Bearer"}]
)
def test_missing_token_is_401(live: Server, headers: dict[str, str]) -> None:
    with live.client() as client:
        reply = client.post("/predict", json=SAMPLE_EMPLOYEE, headers=headers)
        assert reply.status_code == 401
        assert "bearer token" in reply.json()["detail"]
        assert client.get("/scores/E00001", headers=headers).status_code == 401
        assert client.post("/admin/reload", headers=headers).status_code == 401


def test_scopes_are_enforced(live: Server) -> None:
    admin_only = bearer(make_token("attrition:admin"))
    predict_only = bearer(make_token("attrition:predict"))
    nothing = bearer(make_token(""))
    with live.client() as client:
        for headers in (admin_only, nothing):
            reply = client.post("/predict", json=SAMPLE_EMPLOYEE, headers=headers)
            assert reply.status_code == 403
            assert "attrition:predict" in reply.json()["detail"]
            assert "insufficient_scope" in reply.headers["www-authenticate"]
            assert client.get("/scores/E00001", headers=headers).status_code == 403
        assert client.post("/admin/reload", headers=predict_only).status_code == 403
        assert client.post("/predict", json=SAMPLE_EMPLOYEE, headers=predict_only).status_code == 200
        both = bearer(make_token("attrition:predict attrition:admin"))
        assert client.post("/predict", json=SAMPLE_EMPLOYEE, headers=both).status_code == 200


def test_probes_and_docs_need_no_token(live: Server) -> None:
    with live.client() as client:
        for path in ("/healthz", "/readyz", "/metrics", "/docs", "/openapi.json"):
            assert client.get(path).status_code == 200, path
