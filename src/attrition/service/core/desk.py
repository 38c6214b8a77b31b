"""What the manager's desk needs beyond the API's core: CSRF tokens, the sign-in's PKCE and code
exchange, and the decisions already recorded about an employee (no web framework here).

CSRF: a form carries HMAC(key, binding), where the binding is the session's token once signed in (a
pre-session nonce before): a cross-site page can neither read it nor compute it, and it changes with
every sign-in. The key is ATTRITION_DESK_SECRET, or a random one per process.

Sign-in: the OAuth 2.0 authorization code grant with PKCE (RFC 7636, S256) and `state`, as an
OpenID provider's public or confidential client. The access token it returns is then verified like
any bearer token (issuer, audience, keys, lifetime, scopes): the desk trusts nothing else from it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from attrition.audit.schema import decisions
from attrition.service.core.oidc import MAX_DOCUMENT_BYTES, ProviderError

MAX_LISTED_DECISIONS = 50


def csrf_token(key: bytes, binding: str) -> str:
    """The form token bound to a session (or pre-session) value."""
    return hmac.new(key, b"desk-csrf\x00" + binding.encode("utf-8"), hashlib.sha256).hexdigest()


def csrf_ok(key: bytes, binding: str | None, sent: str | None) -> bool:
    """Whether a submitted form token matches its binding (constant-time)."""
    if not binding or not sent:
        return False
    return hmac.compare_digest(csrf_token(key, binding), sent)


@dataclass(frozen=True)
class LoginFlow:
    """One sign-in in flight: what the browser keeps (in a short-lived cookie) until the callback."""

    state: str
    verifier: str

    @classmethod
    def start(cls) -> LoginFlow:
        """Fresh random state and PKCE verifier (43+ characters of [A-Za-z0-9-_], RFC 7636)."""
        return cls(secrets.token_urlsafe(24), secrets.token_urlsafe(48))

    @property
    def challenge(self) -> str:
        """The S256 code challenge of the verifier."""
        digest = hashlib.sha256(self.verifier.encode("ascii")).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")

    def cookie(self) -> str:
        """The cookie value (both parts are URL-safe, so '.' separates them)."""
        return f"{self.state}.{self.verifier}"

    @classmethod
    def from_cookie(cls, value: str | None) -> LoginFlow | None:
        """The flow a cookie holds, or None when absent or malformed."""
        state, dot, verifier = (value or "").partition(".")
        return cls(state, verifier) if dot and state and verifier else None


def authorization_url(
    endpoint: str, *, client_id: str, redirect_uri: str, scope: str, flow: LoginFlow
) -> str:
    """Where the browser goes to sign in at the provider."""
    query = urllib.parse.urlencode(
        {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": redirect_uri,
            "scope": scope,
            "state": flow.state,
            "code_challenge": flow.challenge,
            "code_challenge_method": "S256",
        }
    )
    return f"{endpoint}{'&' if '?' in endpoint else '?'}{query}"


def exchange_code(
    token_endpoint: str,
    *,
    code: str,
    redirect_uri: str,
    client_id: str,
    client_secret: str | None,
    verifier: str,
    timeout_s: float,
) -> str:
    """The access token the provider gives for an authorization code (blocking); ProviderError else."""
    form: dict[str, str] = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect_uri,
        "client_id": client_id,
        "code_verifier": verifier,
    }
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"}
    if client_secret is not None:  # client_secret_basic (RFC 6749 2.3.1)
        pair = f"{urllib.parse.quote(client_id)}:{urllib.parse.quote(client_secret)}"
        headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode("ascii")
    request = urllib.request.Request(
        token_endpoint, data=urllib.parse.urlencode(form).encode(), headers=headers, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            body: Any = json.loads(response.read(MAX_DOCUMENT_BYTES))
    except (OSError, ValueError) as error:
        raise ProviderError(f"token endpoint: {getattr(error, 'reason', None) or error}") from None
    token = body.get("access_token") if isinstance(body, dict) else None
    if not isinstance(token, str) or not token:
        raise ProviderError("token endpoint answered without an access_token")
    return token


def decisions_about(engine: Engine, employee_id: str) -> list[dict[str, str]]:
    """The decisions recorded about an employee, newest first (at most MAX_LISTED_DECISIONS); blocking."""
    query = (
        sa.select(decisions.c.created_at, decisions.c.action, decisions.c.reason, decisions.c.decided_by)
        .where(decisions.c.employee_id == employee_id)
        .order_by(decisions.c.ts.desc())
        .limit(MAX_LISTED_DECISIONS)
    )
    with engine.connect() as connection:
        return [dict(row._mapping) for row in connection.execute(query)]
