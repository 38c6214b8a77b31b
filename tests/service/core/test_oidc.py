"""ProviderKeys' rules with a fake clock and fake fetches (the real provider is in test_oidc_provider.py):
an unknown kid refetches once and is rate-limited, a failed refresh keeps the keys for a bounded
time, discovery must name the configured issuer; and the scopes of `scp` as well as `scope`.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt import PyJWK

from attrition.service.core.oidc import (
    KeysUnavailableError,
    ProviderError,
    ProviderKeys,
    ProviderMetadata,
    discover,
)
from attrition.service.core.runtime import build_runtime
from attrition.service.core.tokens import AuthError, TokenVerifier, token_scopes
from attrition.service.settings import ServiceSettings

ISSUER = "https://idp.example.com"


class FakeProvider:
    """Keys by kid, a switch to be down, and a count of fetches."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.down = False
        self.fetches = 0
        self.keys: dict[str, PyJWK] = {}
        self.private: dict[str, rsa.RSAPrivateKey] = {}
        self.add("k1")

    def add(self, kid: str) -> None:
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.private[kid] = private
        jwk = jwt.algorithms.RSAAlgorithm.to_jwk(private.public_key(), as_dict=True)
        self.keys[kid] = PyJWK({**jwk, "kid": kid, "alg": "RS256", "use": "sig"})

    def fetch(self, uri: str, timeout_s: float) -> Mapping[str, PyJWK]:
        self.fetches += 1
        if self.down:
            raise ProviderError(f"{uri}: connection refused")
        return dict(self.keys)

    def token(self, kid: str, **claims: object) -> str:
        now = int(time.time())
        body = {"sub": "svc", "iss": ISSUER, "aud": "attrition", "iat": now, "exp": now + 300, **claims}
        return jwt.encode(body, self.private[kid], algorithm="RS256", headers={"kid": kid})


def _keys(provider: FakeProvider, **bounds: float) -> ProviderKeys:
    metadata = ProviderMetadata(ISSUER, f"{ISSUER}/jwks", None, None)
    options = {"refresh_s": 300.0, "min_refetch_s": 30.0, "max_stale_s": 600.0, **bounds}
    return ProviderKeys(
        ISSUER,
        clock=lambda: provider.now,
        discover_fn=lambda issuer, timeout: metadata,
        fetch_keys_fn=provider.fetch,
        **options,
    )


def test_an_unknown_kid_refetches_once_then_is_rate_limited() -> None:
    provider = FakeProvider()
    keys = _keys(provider)
    assert keys.key_for("k1") is not None and provider.fetches == 1
    provider.add("k2")
    provider.now += 31
    assert keys.key_for("k2") is not None and provider.fetches == 2  # the rotation, found at once
    with pytest.raises(LookupError):
        keys.key_for("invented")
    assert provider.fetches == 2, "no refetch within min_refetch_s of the last one"
    provider.now += 31
    for _ in range(5):
        with pytest.raises(LookupError):
            keys.key_for("invented")
    assert provider.fetches == 3, "one refetch for the invented kid, then none within min_refetch_s"


def test_a_provider_outage_keeps_the_keys_for_the_bound_then_drops_them() -> None:
    provider = FakeProvider()
    keys = _keys(provider)
    keys.refresh_if_due()
    provider.down = True
    provider.now += 301
    keys.refresh_if_due()  # fails: keys kept
    assert keys.usable() and keys.problem() is None and keys.key_for("k1") is not None
    provider.now += 300
    assert not keys.usable()
    with pytest.raises(KeysUnavailableError):
        keys.key_for("k1")
    assert "has not answered for 601 s" in (keys.problem() or "")
    provider.down = False
    provider.now += 30
    keys.refresh_if_due()  # retried sooner than the usual refresh after a failure
    assert keys.usable() and keys.problem() is None


def test_the_verifier_refuses_cached_tokens_once_the_keys_are_stale_and_reads_scp() -> None:
    provider = FakeProvider()
    keys = _keys(provider)
    verifier = TokenVerifier(keys, ["RS256"], audience="attrition", issuer=ISSUER)
    caller = verifier.verify(provider.token("k1", scp=["attrition:predict", "openid"]))
    assert caller.scopes == {"attrition:predict", "openid"}
    token = provider.token("k1", scope="attrition:predict")
    verifier.verify(token)
    provider.down = True
    provider.now += 601
    keys.refresh_if_due()
    with pytest.raises(AuthError) as refused:
        verifier.verify(token)  # in the cache, but nothing is vouched for any more
    assert refused.value.status == 503


def test_scopes_come_from_scope_or_scp() -> None:
    assert token_scopes({"scope": "a b"}) == {"a", "b"}
    assert token_scopes({"scp": "a b"}) == {"a", "b"}
    assert token_scopes({"scp": ["a", "b"]}) == {"a", "b"}
    assert token_scopes({}) == frozenset()
    with pytest.raises(AuthError):
        token_scopes({"scp": [1]})


def test_discovery_must_name_the_configured_issuer(monkeypatch: pytest.MonkeyPatch) -> None:
    document = {"issuer": "https://evil.example.com", "jwks_uri": "https://evil.example.com/jwks"}
    monkeypatch.setattr("attrition.service.core.oidc.fetch_json", lambda url, timeout: document)
    with pytest.raises(ProviderError, match="not the configured"):
        discover(ISSUER, 1)
    document.update(issuer=ISSUER, jwks_uri="http://idp.example.com/jwks")
    with pytest.raises(ProviderError, match="https"):
        discover(ISSUER, 1)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"oidc_issuer": "http://idp.example.com"}, "https"),
        ({"oidc_issuer": ISSUER, "oidc_algorithms": "RS256,HS256"}, "HS256"),
    ],
)
def test_settings_refuse_plain_http_issuers_and_shared_secret_algorithms(
    values: dict[str, str], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        ServiceSettings(**values)  # type: ignore[arg-type]


def test_with_an_issuer_tokens_must_carry_it_even_in_development_mode() -> None:
    settings = ServiceSettings(oidc_issuer=ISSUER, oidc_algorithms="RS256,ES256", dev_mode=True)  # type: ignore[arg-type]
    assert settings.required_claims() == ("attrition", ISSUER)
    assert settings.oidc_algorithms == ("RS256", "ES256")


def test_a_provider_needs_no_shared_secret_and_a_reload_keeps_its_keys(tmp_path: Path) -> None:
    settings = ServiceSettings(oidc_issuer=ISSUER, audit_db=str(tmp_path / "audit.sqlite"))  # type: ignore[arg-type]
    runtime = build_runtime(settings)
    keys = runtime.verifier.provider_keys
    assert keys is not None and keys.issuer == ISSUER
    assert runtime._verifier_factory().provider_keys is keys  # SIGHUP's new verifier: same cached keys
