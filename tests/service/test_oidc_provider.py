"""The service as an OAuth2 resource server of a real OpenID provider (oauth2-mock-server under Node.js).

One provider process for the module. Each test starts its own in-thread service pointed at the
provider's issuer (discovery, then the JWKS), with the refresh and staleness bounds it needs, and
sends the provider's client-credentials tokens: valid, for another audience, expired, signed with a
rotated key, and while the provider is down. The provider-down test stops the provider, so it runs last.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest

from tests.support.oidc_provider import Provider, run_provider
from tests.support.service import SAMPLE_EMPLOYEE, Server, bearer, serve_in_thread, settings_for

pytestmark = pytest.mark.system

PREDICT = "attrition:predict"
MIN_REFETCH_S = 0.2  # the service refetches the provider's keys for an unknown kid at most this often


@pytest.fixture(scope="module")
def provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Provider]:
    """The module's OpenID provider (stopped by the last test, or at the end)."""
    with run_provider(tmp_path_factory.mktemp("oidc") / "provider.log") as running:
        yield running


@contextlib.contextmanager
def _serve(provider: Provider, tmp: Path, package: Path, scores: Path, **overrides: Any) -> Iterator[Server]:
    settings = settings_for(tmp, package, scores, oidc_issuer=provider.issuer, **overrides)
    with serve_in_thread(settings) as server:
        yield server


@pytest.fixture
def service(provider: Provider, tmp_path: Path, model_package: Path, scores_csv: Path) -> Iterator[Server]:
    """A service trusting the provider: background refresh rare, so a rotation is found by its kid."""
    with _serve(
        provider, tmp_path, model_package, scores_csv, oidc_jwks_min_refetch_s=MIN_REFETCH_S
    ) as server:
        yield server


def _predict(server: Server, token: str) -> httpx.Response:
    with server.client() as client:
        return client.post("/predict", json=SAMPLE_EMPLOYEE, headers=bearer(token))


def test_a_providers_token_with_the_scope_is_served_and_one_without_is_403(
    provider: Provider, service: Server
) -> None:
    answer = _predict(service, provider.client_credentials(PREDICT))
    assert answer.status_code == 200, answer.text
    assert answer.json()["source"] == "model"
    refused = _predict(service, provider.client_credentials("attrition:decide"))
    assert refused.status_code == 403
    assert "insufficient_scope" in refused.headers["www-authenticate"]


def test_a_token_for_another_audience_is_refused(provider: Provider, service: Server) -> None:
    answer = _predict(service, provider.client_credentials(PREDICT, aud="payroll"))
    assert answer.status_code == 401
    assert "audience" in answer.json()["detail"]


def test_an_expired_token_is_refused(provider: Provider, service: Server) -> None:
    answer = _predict(service, provider.client_credentials(PREDICT, test_issued_ago=400))  # lives 300 s
    assert answer.status_code == 401
    assert answer.json()["detail"] == "token has expired"


def test_a_rotated_key_is_used_without_a_restart_and_old_tokens_keep_working(
    provider: Provider, service: Server
) -> None:
    old = provider.client_credentials(PREDICT, client_id="before-rotation")
    assert _predict(service, old).status_code == 200  # the old key is now cached
    new_kid = provider.rotate()
    new = provider.client_credentials(PREDICT, client_id="after-rotation")
    assert jwt.get_unverified_header(new)["kid"] == new_kid != jwt.get_unverified_header(old)["kid"]
    # the keys were fetched for the old token moments ago: within MIN_REFETCH_S an unknown kid is
    # refused without a fetch (the flood guard), so wait out the bound as a rotation's first user would
    time.sleep(MIN_REFETCH_S)
    assert _predict(service, new).status_code == 200, "an unknown kid refetches the provider's keys"
    assert _predict(service, old).status_code == 200, "the old key is still published: its tokens live"
    forged = jwt.encode(
        {**jwt.decode(new, options={"verify_signature": False}), "sub": "intruder"},
        "x" * 64,
        algorithm="HS256",
        headers={"kid": new_kid},
    )
    assert _predict(service, forged).status_code == 401, "HS256 is not among the provider's algorithms"


def test_while_the_provider_is_down_cached_keys_serve_for_a_bounded_time_then_readyz_says_why(
    provider: Provider, tmp_path: Path, model_package: Path, scores_csv: Path
) -> None:
    token = provider.client_credentials(PREDICT)
    with _serve(
        provider,
        tmp_path,
        model_package,
        scores_csv,
        oidc_jwks_refresh_s=0.5,
        oidc_jwks_min_refetch_s=MIN_REFETCH_S,
        oidc_jwks_max_stale_s=3,
        oidc_http_timeout_s=1,
    ) as server:
        assert _predict(server, token).status_code == 200
        with server.client() as client:
            assert client.get("/readyz").status_code == 200
        provider.stop()
        down_at = time.monotonic()
        assert _predict(server, token).status_code == 200, "keys fetched before the outage still verify"
        deadline = down_at + 15
        readiness = None
        while time.monotonic() < deadline:
            with server.client() as client:
                readiness = client.get("/readyz")
            if readiness.status_code == 503:
                break
            time.sleep(0.2)
        assert readiness is not None and readiness.status_code == 503
        assert time.monotonic() - down_at >= 2.5, "the cached keys served for (about) the bound"
        assert "identity provider" in readiness.json()["reason"]
        refused = _predict(server, token)
        assert refused.status_code == 503
        assert "cannot be verified" in refused.json()["detail"]
