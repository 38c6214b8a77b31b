"""Token verification's cache: a cached token still expires, and only valid tokens are kept."""

from __future__ import annotations

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
