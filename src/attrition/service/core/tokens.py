"""OAuth2 bearer JWTs with scopes: verification (with a small cache), authorization, minting.

A token is refused on its size before anything else, so a huge header costs nothing to turn away.
A token seen for the first time is verified on a small thread pool, off the event loop: an 8 KiB
token costs up to a millisecond to decode and check, which a flood of distinct forged tokens would
otherwise spend on the loop that also answers /healthz. Verified tokens are then kept in a bounded
LRU keyed by the raw token (the hot path sees the same few tokens over and over); a cached token is
still refused the moment its `exp` passes, and only successfully verified tokens are cached.

Every token is bounded in time: `exp` and `iat` are required numbers, `exp - iat` and `exp - now`
at most the configured lifetime, with a small leeway for clock skew; `aud` and `iss` are required
whenever the verifier is given them (always, outside development mode).

The key is a shared secret or PEM public key (development, `attrition token`), or an OpenID
provider's published keys (core/oidc.py): the token's `kid` picks one, its `alg` must be one of the
configured asymmetric algorithms, and while the provider's keys cannot be trusted (never fetched, or
stale past their bound) tokens are refused with 503, a cached one too. Scopes come from `scope` (a
space-separated string, RFC 8693) or, as Entra ID and Okta write them, `scp` (a string or a list).
"""

from __future__ import annotations

import asyncio
import functools
import math
import time
from collections import OrderedDict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import jwt
from jwt.types import Options

from attrition.service.core.oidc import KeysUnavailableError, ProviderKeys
from attrition.service.settings import DEFAULT_JWT_AUDIENCE, DEFAULT_JWT_ISSUER

SCOPE_PREDICT = "attrition:predict"
SCOPE_ADMIN = "attrition:admin"
SCOPE_DECIDE = "attrition:decide"
SCOPES: dict[str, str] = {
    SCOPE_PREDICT: "Score employees and read batch scores",
    SCOPE_DECIDE: "Record a manager's action and reason for a prediction",
    SCOPE_ADMIN: "Reload the model and other operator actions",
}
TIME_CLAIMS = ("exp", "iat", "nbf")
VERIFY_THREADS = 2  # bounds how much CPU first-time verification can take, whatever the flood


@dataclass(frozen=True)
class Caller:
    """Who made the request (token subject) and what they may do."""

    subject: str
    scopes: frozenset[str]
    expires_at: float


class AuthError(Exception):
    """Why a token was refused; `status` is 401 (bad token) or 403 (missing scope).

    `challenge` is the RFC 6750 WWW-Authenticate value clients use to react; the API layer turns
    the error into an HTTP answer, so this module needs no web framework.
    """

    def __init__(self, status: int, message: str, scopes: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.scopes = scopes

    @property
    def challenge(self) -> str:
        """The WWW-Authenticate header value for this refusal."""
        if self.status == 403:
            return f'Bearer error="insufficient_scope", scope="{" ".join(self.scopes)}"'
        return 'Bearer error="invalid_token"'


@functools.cache
def _verify_pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=VERIFY_THREADS, thread_name_prefix="token-verify")


class TokenVerifier:
    """Checks size, signature, algorithm, time bounds and claims; remembers good tokens until they expire."""

    def __init__(
        self,
        key: str | ProviderKeys,
        algorithm: str | Sequence[str],
        *,
        audience: str | None = None,
        issuer: str | None = None,
        max_lifetime_s: float = 3600,
        leeway_s: float = 30,
        max_token_bytes: int = 8192,
        cache_size: int = 1024,
    ) -> None:
        self._key = key
        # A secret or PEM: exactly one algorithm. A provider: its asymmetric ones (settings check them).
        # Either way "none" and alg confusion are refused.
        self._algorithms = [algorithm] if isinstance(algorithm, str) else list(algorithm)
        self._audience = audience
        self._issuer = issuer
        self._max_lifetime_s = max_lifetime_s
        self._leeway_s = leeway_s
        self._max_token_bytes = max_token_bytes
        required = ["exp", "iat", "sub", *(["aud"] if audience else []), *(["iss"] if issuer else [])]
        self._options: Options = {"require": required, "verify_aud": audience is not None}
        self._cache_size = cache_size
        self._cache: OrderedDict[str, Caller] = OrderedDict()

    def verify(self, token: str) -> Caller:
        """The caller behind `token`, or AuthError(401, reason); verified on the calling thread."""
        caller = self._cached(token)
        if caller is None:
            caller = self._remember(token, self.decode(token))
        return caller

    async def verify_off_loop(self, token: str) -> Caller:
        """`verify`, with a first-time token decoded on the verification pool (cache on the loop)."""
        caller = self._cached(token)
        if caller is None:
            loop = asyncio.get_running_loop()
            decoded = await loop.run_in_executor(_verify_pool(), self.decode, token)
            caller = self._remember(token, decoded)
        return caller

    def _cached(self, token: str) -> Caller | None:
        if len(token) > self._max_token_bytes:  # before hashing it for the cache, before any crypto
            raise AuthError(401, f"token is longer than {self._max_token_bytes} bytes")
        if isinstance(self._key, ProviderKeys) and not self._key.usable():
            # Not even a cached token: past the staleness bound nothing is vouched for (decode
            # fetches the keys if it may, or refuses with 503).
            self._cache.pop(token, None)
            return None
        cached = self._cache.get(token)
        if cached is None:
            return None
        if cached.expires_at + self._leeway_s > time.time():
            self._cache.move_to_end(token)
            return cached
        del self._cache[token]
        raise AuthError(401, "token has expired")

    def _remember(self, token: str, caller: Caller) -> Caller:
        if self._cache_size:
            self._cache[token] = caller
            if len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return caller

    def decode(self, token: str) -> Caller:
        """Verify `token` from scratch (no shared state touched: safe on any thread)."""
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                self._signing_key(token),
                algorithms=self._algorithms,
                audience=self._audience,
                issuer=self._issuer,
                leeway=self._leeway_s,
                options=self._options,
            )
        except jwt.ExpiredSignatureError as error:
            raise AuthError(401, "token has expired") from error
        except jwt.ImmatureSignatureError as error:
            raise AuthError(401, "token is not valid yet (iat or nbf ahead of the clock)") from error
        except jwt.InvalidAlgorithmError as error:
            expected = ", ".join(self._algorithms)
            raise AuthError(401, f"token algorithm not allowed (expected {expected})") from error
        except jwt.InvalidSignatureError as error:
            raise AuthError(401, "token signature does not verify") from error
        except jwt.MissingRequiredClaimError as error:
            raise AuthError(401, f"token lacks the {error.claim!r} claim") from error
        except jwt.InvalidAudienceError as error:
            raise AuthError(401, "token audience ('aud') is not this service") from error
        except jwt.InvalidIssuerError as error:
            raise AuthError(401, "token issuer ('iss') is not accepted") from error
        except jwt.PyJWTError as error:
            raise AuthError(401, f"malformed token ({type(error).__name__})") from error
        return self._caller(claims)

    def _signing_key(self, token: str) -> str | jwt.PyJWK:
        """The secret or PEM; or the provider's key named by the token's `kid`, for an allowed `alg`."""
        if not isinstance(self._key, ProviderKeys):
            return self._key
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as error:
            raise AuthError(401, f"malformed token ({type(error).__name__})") from error
        if header.get("alg") not in self._algorithms:  # before any key lookup or refetch
            raise AuthError(401, f"token algorithm not allowed (expected {', '.join(self._algorithms)})")
        kid = header.get("kid")
        try:
            return self._key.key_for(kid if isinstance(kid, str) else None)
        except KeysUnavailableError as error:
            raise AuthError(503, f"tokens cannot be verified now: {error}") from error
        except LookupError as error:
            raise AuthError(401, f"token signing key unknown: {error}") from error

    def key_problem(self) -> str | None:
        """Why the identity provider's keys cannot be trusted now (for /readyz); None with a secret."""
        return self._key.problem() if isinstance(self._key, ProviderKeys) else None

    @property
    def provider_keys(self) -> ProviderKeys | None:
        """The identity provider's keys this verifier uses, if any (the runtime refreshes them)."""
        return self._key if isinstance(self._key, ProviderKeys) else None

    def _caller(self, claims: dict[str, Any]) -> Caller:
        """The caller of verified claims, after the checks PyJWT leaves to us: types and lifetime."""
        times = {name: _seconds(claims[name]) for name in TIME_CLAIMS if name in claims}
        for name, seconds in times.items():
            if seconds is None:  # PyJWT takes "exp": "1e9" or true for numbers; JWT says NumericDate
                raise AuthError(401, f"token {name!r} claim must be a number of seconds since the epoch")
        exp, iat = float(claims["exp"]), float(claims["iat"])
        if exp - iat > self._max_lifetime_s:
            raise AuthError(401, f"token lives longer than {self._max_lifetime_s:g} s (exp - iat)")
        if exp - time.time() > self._max_lifetime_s + self._leeway_s:
            raise AuthError(401, f"token expires more than {self._max_lifetime_s:g} s from now")
        subject = claims["sub"]
        if not isinstance(subject, str) or not subject:
            raise AuthError(401, "token 'sub' claim must be a non-empty string")
        return Caller(subject=subject, scopes=token_scopes(claims), expires_at=exp)


def token_scopes(claims: dict[str, Any]) -> frozenset[str]:
    """The scopes of verified claims: `scope` (space-separated), else `scp` (a string or a list)."""
    if "scope" in claims:
        scope = claims["scope"]
        if not isinstance(scope, str):
            raise AuthError(401, "token 'scope' claim must be a space-separated string")
        return frozenset(scope.split())
    scp = claims.get("scp", "")
    if isinstance(scp, str):
        return frozenset(scp.split())
    if isinstance(scp, list) and all(isinstance(item, str) for item in scp):
        return frozenset(scp)
    raise AuthError(401, "token 'scp' claim must be a string or a list of strings")


def _seconds(value: object) -> float | None:
    """A NumericDate claim as seconds, or None when it is not a finite JSON number."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        seconds = float(value)
    except OverflowError:  # an integer with hundreds of digits
        return None
    return seconds if math.isfinite(seconds) else None


def mint_token(
    secret: str,
    subject: str,
    scopes: list[str],
    ttl_s: int,
    algorithm: str = "HS256",
    *,
    audience: str | None = DEFAULT_JWT_AUDIENCE,
    issuer: str | None = DEFAULT_JWT_ISSUER,
) -> str:
    """A development token signed with the service's secret (what `attrition token` prints)."""
    now = int(time.time())
    claims: dict[str, Any] = {"sub": subject, "scope": " ".join(scopes), "iat": now, "exp": now + ttl_s}
    if audience is not None:
        claims["aud"] = audience
    if issuer is not None:
        claims["iss"] = issuer
    return jwt.encode(claims, secret, algorithm=algorithm)


def bearer_token(authorization: str | None, scopes: tuple[str, ...]) -> str:
    """The token of an `Authorization: Bearer <JWT>` header; AuthError 401 when there is none."""
    scheme, _, token = (authorization or "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise AuthError(401, "missing bearer token (Authorization: Bearer <JWT>)", scopes)
    return token


def require_scopes(caller: Caller, scopes: tuple[str, ...]) -> Caller:
    """`caller` if it holds every scope, else AuthError 403."""
    missing = [scope for scope in scopes if scope not in caller.scopes]
    if missing:
        raise AuthError(403, f"token lacks scope {' '.join(missing)}", scopes)
    return caller


async def authorize(verifier: TokenVerifier, authorization: str | None, scopes: tuple[str, ...]) -> Caller:
    """The verified caller behind an Authorization header, holding every scope.

    Raises AuthError (401 bad or missing token, 403 missing scope). A plain function rather than
    FastAPI's HTTPBearer + Security sub-dependencies: each nested dependency costs tens of
    microseconds per request on the hot path, and this is all they did.
    """
    caller = await verifier.verify_off_loop(bearer_token(authorization, scopes))
    return require_scopes(caller, scopes)
