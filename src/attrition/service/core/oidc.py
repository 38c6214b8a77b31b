"""An OpenID Connect provider's signing keys, kept fresh without a restart and without trusting it blindly.

Identity providers (Entra ID, Okta, Keycloak, Cognito) sign access tokens with keys they rotate and
publish at a JWKS URL named by their discovery document (`<issuer>/.well-known/openid-configuration`).
`ProviderKeys` is the resource server's view of them:

* discovery is read once (lazily, so a provider down at start-up does not stop the service) and its
  `issuer` must be the configured one (OpenID Connect Discovery 1.0, section 4.3);
* the key set is fetched with PyJWT's PyJWKClient and refreshed in the background every
  `refresh_s`, so a rotation that publishes the next key before using it costs nothing;
* a token whose `kid` is not in the cache refetches the set at once (a rotation published and used
  in the same moment), at most once per `min_refetch_s`, so a flood of tokens with invented kids
  cannot turn the service into a load generator against the provider;
* a failed fetch keeps the last good keys for `max_stale_s` after the last success (tokens keep
  verifying through a provider outage); past it they are dropped, tokens are refused with 503 and
  `problem()` says why, which /readyz reports.

Blocking (urllib): the verification pool and the runtime's background task call it, never the loop.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import jwt
from jwt import PyJWK, PyJWKClient

log = logging.getLogger("attrition.service")

DISCOVERY_PATH = "/.well-known/openid-configuration"
MAX_DOCUMENT_BYTES = 512 * 1024  # discovery documents and key sets are a few KiB


class ProviderError(Exception):
    """The provider could not be reached or answered something unusable (one line)."""


class KeysUnavailableError(Exception):
    """No usable key: never fetched, or the last good set is older than the staleness bound."""


@dataclass(frozen=True)
class ProviderMetadata:
    """What the discovery document says that this service uses."""

    issuer: str
    jwks_uri: str
    authorization_endpoint: str | None
    token_endpoint: str | None


def _safe_url(url: object, what: str) -> str:
    """An https URL (http only on loopback, for tests): keys must not be swappable in transit."""
    if not isinstance(url, str):
        raise ProviderError(f"discovery document has no {what}")
    parts = urlsplit(url)
    loopback = parts.scheme == "http" and parts.hostname in ("127.0.0.1", "localhost", "::1")
    if not parts.hostname or (parts.scheme != "https" and not loopback):
        raise ProviderError(f"discovery document's {what} is not an https URL")
    return url


def fetch_json(url: str, timeout_s: float) -> dict[str, Any]:
    """GET a JSON object (bounded in time and size); ProviderError in one line otherwise."""
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            body = response.read(MAX_DOCUMENT_BYTES + 1)
    except (OSError, ValueError) as error:  # URLError, HTTPError, timeouts, refused connections
        raise ProviderError(f"{url}: {getattr(error, 'reason', None) or error}") from None
    if len(body) > MAX_DOCUMENT_BYTES:
        raise ProviderError(f"{url}: answer larger than {MAX_DOCUMENT_BYTES} bytes")
    try:
        document = json.loads(body)
    except ValueError:
        raise ProviderError(f"{url}: answer is not JSON") from None
    if not isinstance(document, dict):
        raise ProviderError(f"{url}: answer is not a JSON object")
    return document


def discover(issuer: str, timeout_s: float) -> ProviderMetadata:
    """The provider's metadata from its discovery document, checked against the configured issuer."""
    document = fetch_json(issuer.rstrip("/") + DISCOVERY_PATH, timeout_s)
    if document.get("issuer") != issuer:
        raise ProviderError(
            f"discovery document names issuer {document.get('issuer')!r}, not the configured {issuer!r}"
        )
    optional = {
        name: _safe_url(document[name], name) if name in document else None
        for name in ("authorization_endpoint", "token_endpoint")
    }
    return ProviderMetadata(
        issuer=issuer,
        jwks_uri=_safe_url(document.get("jwks_uri"), "jwks_uri"),
        authorization_endpoint=optional["authorization_endpoint"],
        token_endpoint=optional["token_endpoint"],
    )


def _fetch_keys(jwks_uri: str, timeout_s: float) -> dict[str, PyJWK]:
    """The published keys by kid (signature keys only; keys without a kid are ignored)."""
    client = PyJWKClient(jwks_uri, cache_jwk_set=False, timeout=timeout_s)
    try:
        key_set = client.get_jwk_set(refresh=True)
    except jwt.PyJWTError as error:
        raise ProviderError(f"{jwks_uri}: {error}") from None
    return {key.key_id: key for key in key_set.keys if key.key_id and key.public_key_use in (None, "sig")}


class ProviderKeys:
    """The provider's current signing keys, refreshed, refetched on an unknown kid, bounded when stale."""

    def __init__(
        self,
        issuer: str,
        *,
        refresh_s: float = 300,
        min_refetch_s: float = 30,
        max_stale_s: float = 3600,
        timeout_s: float = 5,
        clock: Callable[[], float] = time.monotonic,
        discover_fn: Callable[[str, float], ProviderMetadata] = discover,
        fetch_keys_fn: Callable[[str, float], Mapping[str, PyJWK]] = _fetch_keys,
    ) -> None:
        self.issuer = issuer
        self._refresh_s = refresh_s
        self._min_refetch_s = min_refetch_s
        self._max_stale_s = max_stale_s
        self._timeout_s = timeout_s
        self._clock = clock
        self._discover = discover_fn
        self._fetch_keys = fetch_keys_fn
        self._lock = threading.Lock()  # one fetch at a time; readers never wait on it
        self._metadata: ProviderMetadata | None = None
        self._keys: Mapping[str, PyJWK] = {}
        self._fetched_at: float | None = None  # clock() of the last successful fetch
        self._attempted_at: float | None = None  # clock() of the last attempt, successful or not
        self._error: str | None = None  # why the last attempt failed (None after a success)

    def metadata(self) -> ProviderMetadata:
        """The discovery document's endpoints (read now if never read); ProviderError otherwise."""
        metadata = self._metadata
        if metadata is None:
            metadata = self._discover(self.issuer, self._timeout_s)
            self._metadata = metadata
        return metadata

    def refresh(self) -> bool:
        """Fetch the key set now (discovering first if needed); False, keeping the old keys, on failure."""
        with self._lock:
            return self._refresh_locked()

    def _refetch_if_allowed(self) -> None:
        """Refresh unless another one happened within `min_refetch_s` (checked under the lock, so
        threads that all met the same unknown kid fetch once between them)."""
        with self._lock:
            if self._may_refetch():
                self._refresh_locked()

    def _refresh_locked(self) -> bool:
        self._attempted_at = self._clock()
        try:
            keys = self._fetch_keys(self.metadata().jwks_uri, self._timeout_s)
            if not keys:
                raise ProviderError("the provider's key set has no signature key with a kid")
        except ProviderError as error:
            self._error = str(error)
            log.warning("identity provider keys not refreshed (keeping the cached ones): %s", error)
            return False
        added = set(keys) - set(self._keys)
        if added and self._keys:
            log.info("identity provider published new signing keys: %s", ", ".join(sorted(added)))
        self._keys, self._fetched_at, self._error = keys, self._attempted_at, None
        return True

    def refresh_if_due(self) -> None:
        """What the background task calls every interval: refresh once `refresh_s` has passed."""
        last = self._attempted_at
        if last is None or self._clock() - last >= min(self._refresh_s, self._retry_s()):
            self.refresh()

    def _retry_s(self) -> float:
        """After a failure retry sooner than the usual refresh, but no more often than the refetch limit."""
        return self._refresh_s if self._error is None else max(self._min_refetch_s, 1.0)

    def _usable(self) -> Mapping[str, PyJWK]:
        fetched = self._fetched_at
        if fetched is None or self._clock() - fetched > self._max_stale_s:
            raise KeysUnavailableError(self.problem() or "the identity provider's keys are not loaded")
        return self._keys

    def key_for(self, kid: str | None) -> PyJWK:
        """The key a token's header names; KeysUnavailableError when none can be trusted now,
        LookupError for a kid the provider does not publish (after one rate-limited refetch)."""
        if not self.usable() and self._may_refetch():
            self._refetch_if_allowed()  # nothing fetched yet, or stale: try now (rate-limited)
        keys = self._usable()
        if kid is None:
            raise LookupError("token header has no 'kid'")
        key = keys.get(kid)
        if key is None and self._may_refetch():
            self._refetch_if_allowed()  # a rotation: the provider may have just published it
            key = self._usable().get(kid)
        if key is None:
            raise LookupError(f"no key {kid[:64]!r} among the identity provider's published keys")
        return key

    def _may_refetch(self) -> bool:
        last = self._attempted_at
        return last is None or self._clock() - last >= self._min_refetch_s

    def usable(self) -> bool:
        """Whether tokens can be verified now (keys fetched, not older than the staleness bound)."""
        fetched = self._fetched_at
        return fetched is not None and self._clock() - fetched <= self._max_stale_s

    def problem(self) -> str | None:
        """Why tokens cannot be verified, or why the keys are getting stale; None when all is well.

        Public wording (it goes to the open /readyz): the provider's URL is the configured issuer
        and already public; the failure's own text stays in the log.
        """
        fetched = self._fetched_at
        if fetched is None:
            if self._attempted_at is None:
                return None  # not tried yet (the background task tries at start-up)
            return f"the identity provider {self.issuer} has not answered; no token can be verified"
        age = self._clock() - fetched
        if age > self._max_stale_s:
            return (
                f"the identity provider {self.issuer} has not answered for {age:.0f} s (bound "
                f"{self._max_stale_s:g} s): its cached keys expired and no token can be verified"
            )
        return None

    def stale_for(self) -> float | None:
        """Seconds since the last successful fetch when the last attempt failed, else None."""
        fetched = self._fetched_at
        if self._error is None or fetched is None:
            return None
        return self._clock() - fetched
