"""Token verification: the cache (a cached token still expires, only valid tokens are kept) and the
bounds every token meets (size, claim types, lifetime, audience and issuer, clock-skew leeway)."""

from __future__ import annotations

import asyncio
import time

import pytest

from attrition.service.core.tokens import AuthError, TokenVerifier
from tests.support.service import (
    SECRET,
    make_token,
)


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


def test_tokens_are_bounded_in_size_type_and_time() -> None:
    verifier = TokenVerifier(SECRET, "HS256", audience="attrition", issuer="attrition", max_token_bytes=2048)
    now = int(time.time())
    refused = {
        "too long": make_token(padding="p" * 3000),
        "exp a string": make_token(exp=str(now + 60)),
        "exp true": make_token(exp=True),
        "exp 400 digits": make_token(exp=10**400),
        "over the lifetime": make_token(ttl=2 * 3600),
        "no iat": make_token(iat=None),
        "no audience": make_token(aud=None),
        "no issuer": make_token(iss=None),
        "a minute ahead": make_token(iat=now + 60, exp=now + 600),
    }
    for name, token in refused.items():
        with pytest.raises(AuthError) as error:
            verifier.verify(token)
        assert error.value.status == 401, name
    assert verifier.verify(make_token(iat=now + 2, nbf=now + 2)).subject == "tester"  # clock skew
    assert verifier.verify(make_token(ttl=-10)).subject == "tester"  # within the 30 s leeway


def test_verification_off_the_loop_uses_and_fills_the_cache() -> None:
    verifier = TokenVerifier(SECRET, "HS256", cache_size=4)
    token = make_token()
    caller = asyncio.run(verifier.verify_off_loop(token))
    assert verifier.verify(token) is caller
    with pytest.raises(AuthError, match="longer than"):
        asyncio.run(verifier.verify_off_loop("x" * 10_000))
