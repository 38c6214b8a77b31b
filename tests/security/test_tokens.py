"""Finding 3 (tokens bounded) and finding 4's "authenticate before reading the body".

Before: `exp=10**30` and a string `exp` were accepted, audience and issuer were checked only when
configured, an `iat` 2 s ahead (clock skew) was refused, a token of any size was verified, and a
malformed body got a 422 before the token was looked at.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import httpx
import jwt
import pytest

from tests.security.support import Live, served, token
from tests.support.service import SAMPLE_EMPLOYEE, SECRET, clean_env, run_cli

pytestmark = pytest.mark.security


def _predict(live: Live, bearer_token: str | None, body: bytes | None = None) -> httpx.Response:
    headers = {"Content-Type": "application/json"}
    if bearer_token is not None:
        headers["Authorization"] = f"Bearer {bearer_token}"
    content = body if body is not None else httpx.Request("POST", "/", json=SAMPLE_EMPLOYEE).content
    return httpx.post(f"{live.url}/predict", content=content, headers=headers, timeout=10)


REFUSED: dict[str, Callable[[int], dict[str, object]]] = {  # claims, from the time of the request
    "exp-far-future": lambda now: {"exp": 10**30},
    "exp-a-string": lambda now: {"exp": str(now + 600)},
    "iat-a-string": lambda now: {"iat": str(now)},
    "nbf-a-string": lambda now: {"nbf": str(now)},
    "lifetime-over-an-hour": lambda now: {"iat": now, "exp": now + 2 * 3600},
    "exp-hours-ahead-without-iat": lambda now: {"iat": None, "exp": now + 3 * 3600},
    "no-audience": lambda now: {"aud": None},
    "no-issuer": lambda now: {"iss": None},
    "other-audience": lambda now: {"aud": "someone-else"},
    "other-issuer": lambda now: {"iss": "https://elsewhere.example"},
    "iat-a-minute-ahead": lambda now: {"iat": now + 60, "exp": now + 600},
}


@pytest.mark.parametrize("claims", list(REFUSED.values()), ids=list(REFUSED))
def test_unbounded_or_unbound_tokens_are_refused(
    hardened: Live, claims: Callable[[int], dict[str, object]]
) -> None:
    reply = _predict(hardened, token(**claims(int(time.time()))))
    assert reply.status_code == 401, reply.text
    assert reply.headers["www-authenticate"].startswith("Bearer")


def test_a_small_clock_skew_is_tolerated(hardened: Live) -> None:
    ahead = int(time.time()) + 2
    assert _predict(hardened, token(iat=ahead, nbf=ahead, exp=ahead + 600)).status_code == 200
    assert _predict(hardened, token()).status_code == 200


def test_an_oversized_token_is_refused_before_it_is_verified(hardened: Live) -> None:
    big = token(padding="p" * 9000)  # validly signed: only its size is wrong
    reply = _predict(hardened, big)
    assert reply.status_code == 401
    assert "8192" in reply.json()["detail"]


@pytest.mark.parametrize("path", ["/predict", "/predict/batch", "/decisions"])
@pytest.mark.parametrize(
    "body", [b'{"age": ', b"\xff\xfe", b"[" * 5000], ids=["truncated", "not-utf8", "deep"]
)
def test_the_token_is_checked_before_the_body(hardened: Live, path: str, body: bytes) -> None:
    headers = {"Content-Type": "application/json"}
    anonymous = httpx.post(f"{hardened.url}{path}", content=body, headers=headers, timeout=10)
    assert anonymous.status_code == 401, anonymous.text
    scope = "attrition:decide" if path == "/decisions" else "attrition:predict"
    authorized = {**headers, "Authorization": f"Bearer {token(scope=scope)}"}
    known = httpx.post(f"{hardened.url}{path}", content=body, headers=authorized, timeout=10)
    assert known.status_code == 422, known.text


def test_an_anonymous_client_learns_nothing_about_its_body(hardened: Live) -> None:
    """Too large, not JSON: still 401 first (the token is checked before the body rules)."""
    oversized = httpx.post(
        f"{hardened.url}/predict", content=b" " * (70 * 1024), headers={"Content-Type": "application/json"}
    )
    assert oversized.status_code == 401
    form = httpx.post(f"{hardened.url}/predict", data={"age": "34"})
    assert form.status_code == 401


def test_the_token_command_mints_what_a_configured_server_accepts(
    model_package: Path, scores_csv: Path, tmp_path: Path
) -> None:
    claims = {"ATTRITION_JWT_AUDIENCE": "hr-attrition", "ATTRITION_JWT_ISSUER": "https://idp.example"}
    with served(tmp_path, model_package, scores_csv, env=claims) as live:
        minted = run_cli(
            "token",
            "--sub",
            "alice",
            "--scope",
            "attrition:predict",
            env=clean_env(ATTRITION_JWT_SECRET=SECRET, **claims),
        )
        assert minted.returncode == 0, minted.stderr
        decoded = jwt.decode(minted.stdout.strip(), SECRET, algorithms=["HS256"], audience="hr-attrition")
        assert decoded["iss"] == "https://idp.example"
        assert 0 < decoded["exp"] - decoded["iat"] <= 3600
        assert _predict(live, minted.stdout.strip()).status_code == 200
        assert _predict(live, token()).status_code == 401  # the default audience is not this server's
    too_long = run_cli("token", "--sub", "alice", "--scope", "attrition:predict", "--ttl", "7200")
    assert too_long.returncode == 2
    assert too_long.stderr.count("\n") == 1 and "--ttl 7200" in too_long.stderr


def test_development_mode_accepts_tokens_without_audience_or_issuer(
    model_package: Path, scores_csv: Path, tmp_path: Path
) -> None:
    with served(
        tmp_path, model_package, scores_csv, extra_args=("--dev",), cwd=tmp_path, secret=None
    ) as live:
        dev_secret = (tmp_path / ".attrition" / "dev-secret").read_text().strip()
        assert _predict(live, token(dev_secret, aud=None, iss=None)).status_code == 200
        assert _predict(live, token(dev_secret, exp=10**30)).status_code == 401  # still bounded
