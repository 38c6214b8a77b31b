"""Bearer JWT with scopes: every bad token is a 401, a missing scope a 403, probes stay open."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time

import jwt
import pytest

from attrition.cli import main as cli_main
from attrition.service.core.tokens import AuthError, TokenVerifier
from tests.service.conftest import SECRET, Server, bearer, make_token

GOOD = {"age": 34, "job_role": "Sales", "monthly_income": 3200.5, "years_at_company": 2}


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
    "expired": make_token(ttl=-10),
    "other-hmac-alg": make_token(algorithm="HS512"),
    "no-exp": make_token(ttl=0, exp=None),
    "no-sub": make_token(sub=None),
    "scope-not-string": make_token(scope=["attrition:predict"]),
}


@pytest.mark.parametrize("name", list(BAD_TOKENS))
def test_bad_tokens_are_401(live: Server, name: str) -> None:
    with live.client() as client:
        reply = client.post("/predict", json=GOOD, headers=bearer(BAD_TOKENS[name]))
    assert reply.status_code == 401, reply.text
    assert reply.headers["www-authenticate"].startswith("Bearer")
    assert reply.json()["detail"]


@pytest.mark.parametrize(
    "headers", [{}, {"Authorization": "Basic YWxpY2U6cHc="}, {"Authorization": "Bearer"}]
)
def test_missing_token_is_401(live: Server, headers: dict[str, str]) -> None:
    with live.client() as client:
        reply = client.post("/predict", json=GOOD, headers=headers)
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
            reply = client.post("/predict", json=GOOD, headers=headers)
            assert reply.status_code == 403
            assert "attrition:predict" in reply.json()["detail"]
            assert "insufficient_scope" in reply.headers["www-authenticate"]
            assert client.get("/scores/E00001", headers=headers).status_code == 403
        assert client.post("/admin/reload", headers=predict_only).status_code == 403
        assert client.post("/predict", json=GOOD, headers=predict_only).status_code == 200
        both = bearer(make_token("attrition:predict attrition:admin"))
        assert client.post("/predict", json=GOOD, headers=both).status_code == 200


def test_probes_and_docs_need_no_token(live: Server) -> None:
    with live.client() as client:
        for path in ("/healthz", "/readyz", "/metrics", "/docs", "/openapi.json"):
            assert client.get(path).status_code == 200, path


def test_cached_token_still_expires(monkeypatch: pytest.MonkeyPatch) -> None:
    verifier = TokenVerifier(SECRET, "HS256", cache_size=2)
    token = make_token(ttl=60)
    caller = verifier.verify(token)
    assert caller.subject == "tester"
    assert verifier.verify(token) is caller  # served from the cache
    real_time = time.time
    monkeypatch.setattr(time, "time", lambda: real_time() + 120)
    with pytest.raises(AuthError) as error:
        verifier.verify(token)
    assert error.value.status == 401
    assert "expired" in error.value.message


def test_cache_is_bounded_and_holds_only_valid_tokens() -> None:
    verifier = TokenVerifier(SECRET, "HS256", cache_size=2)
    tokens = [make_token(sub=f"user{i}") for i in range(5)]
    for token in tokens:
        verifier.verify(token)
    assert len(verifier._cache) == 2
    with pytest.raises(AuthError):
        verifier.verify(make_token(secret="y" * 48))
    assert len(verifier._cache) == 2


def _cli(*args: str, secret: str | None = SECRET) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ATTRITION_")}
    if secret is not None:
        env["ATTRITION_JWT_SECRET"] = secret
    return subprocess.run(
        [sys.executable, "-m", "attrition.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_token_command_mints_a_usable_token(live: Server) -> None:
    done = _cli("token", "--sub", "alice", "--scope", "attrition:predict", "--ttl", "3600")
    assert done.returncode == 0, done.stderr
    token = done.stdout.strip()
    claims = jwt.decode(token, SECRET, algorithms=["HS256"])
    assert claims["sub"] == "alice"
    assert claims["scope"] == "attrition:predict"
    assert 3590 <= claims["exp"] - time.time() <= 3600
    with live.client() as client:
        assert client.post("/predict", json=GOOD, headers=bearer(token)).status_code == 200


@pytest.mark.parametrize(
    ("args", "secret", "message"),
    [
        (["--scope", "attrition:predict"], None, "ATTRITION_JWT_SECRET is not set"),
        (["--scope", "attrition:predict"], "short", "at least 32"),
        (["--scope", "attrition:everything"], SECRET, "--scope attrition:everything"),
        (["--scope", "attrition:predict", "--ttl", "0"], SECRET, "--ttl 0"),
    ],
    ids=["no-secret", "short-secret", "unknown-scope", "zero-ttl"],
)
def test_token_command_errors_are_one_line(
    args: list[str],
    secret: str | None,
    message: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.delenv("ATTRITION_JWT_SECRET", raising=False)
    if secret is not None:
        monkeypatch.setenv("ATTRITION_JWT_SECRET", secret)
    assert cli_main(["token", "--sub", "alice", *args]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert len(err.strip().splitlines()) == 1
    assert message in err


def test_serve_refuses_to_start_without_a_secret(tmp_path) -> None:  # type: ignore[no-untyped-def]
    done = _cli("serve", "--package", str(tmp_path), "--port", "9", secret=None)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [done.stderr.strip()]
    assert "ATTRITION_JWT_SECRET" in done.stderr
