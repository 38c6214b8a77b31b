"""Every knob of the service in one pydantic-settings class, read from ATTRITION_* variables.

Secrets come from the environment or, the way Vault Agent and Kubernetes mount them, from a file
named by ATTRITION_<NAME>_FILE. A file is read each time the value is needed (start-up, SIGHUP,
POST /admin/reload), so a rotated secret takes effect without a restart. Paths default to the
DVC pipeline's outputs so `attrition serve` works in a checkout.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from attrition.audit.database import DEFAULT_AUDIT_DB, SETTING, AuditDatabase, parse_audit_db
from attrition.audit.errors import AuditConfigError

MIN_SECRET_BYTES = 32
ASYMMETRIC_ALGORITHMS = ("RS256", "RS384", "RS512", "ES256", "ES384", "PS256", "EdDSA")
HMAC_ALGORITHMS = ("HS256", "HS384", "HS512")
# Tokens must name this service and their issuer; `attrition token` puts these in by default. With an
# identity provider, set ATTRITION_JWT_AUDIENCE and ATTRITION_JWT_ISSUER to what it writes.
DEFAULT_JWT_AUDIENCE = "attrition"
DEFAULT_JWT_ISSUER = "attrition"
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


class SettingsError(ValueError):
    """A setting that makes the service unsafe or impossible to start (one-line message)."""


class ServiceSettings(BaseSettings):
    """Configuration of `attrition serve`; each field is the env var ATTRITION_<FIELD NAME>."""

    model_config = SettingsConfigDict(env_prefix="ATTRITION_", extra="ignore", frozen=True)

    package: Path = Field(Path("models/attrition-model"), description="Verified model package dir")
    scores: Path = Field(Path("data/batch_scores.csv"), description="Nightly batch scores CSV")
    audit_db: str = Field(
        DEFAULT_AUDIT_DB,
        description="Audit store: a SQLite path, sqlite:///path or postgresql://user@host:port/db",
    )
    audit_db_file: Path | None = Field(
        None, description="File holding the audit database path or URL (a postgresql:// URL with password)"
    )
    audit_outage_bound_s: float = Field(
        10.0,  # attrition.audit.writer's default; not imported so settings stay light (no Alembic)
        gt=0,
        le=3600,
        description="Seconds the audit store may fail before /readyz and new predictions answer 503",
    )
    audit_loop_commits: bool = Field(
        True,
        description="SQLite: commit each pass of the event loop's audit rows on the loop itself "
        "(attrition.audit.loop_commit); false hands every row to the writer thread",
    )
    audit_retention_days: float = Field(180, gt=0, description="Scheduled purge horizon")
    audit_purge_interval_s: float = Field(3600, gt=0, description="Seconds between purges")
    reload_trigger_file: Path | None = Field(
        None,
        description="A file whose modification reloads as SIGHUP does (the Vault agent touches it after "
        "re-rendering a secret: no shared process namespace is needed to signal the service)",
    )
    reload_trigger_interval_s: float = Field(
        2.0, gt=0, le=300, description="Seconds between checks of reload_trigger_file"
    )
    online_features: Path | None = Field(
        None,
        description="The online feature file `attrition features materialize` writes (gzipped JSON): "
        "/predict with an employee_id alone scores that employee's features from it. Unset: only "
        "requests that send all four features are scored live",
    )
    online_features_interval_s: float = Field(
        2.0,
        gt=0,
        le=300,
        description="Seconds between checks of online_features: a replaced file is loaded and swapped in "
        "(a file that fails to load keeps the previous one serving)",
    )
    jwt_secret: SecretStr | None = Field(None, description="HS256 signing secret (env only)")
    jwt_secret_file: Path | None = Field(
        None, description="File holding the HS256 secret (re-read on reload)"
    )
    jwt_public_key_file: Path | None = Field(None, description="PEM public key for RS/ES/EdDSA")
    jwt_algorithm: str = Field("HS256", description="The only algorithm tokens may use")
    jwt_audience: str = Field(
        DEFAULT_JWT_AUDIENCE,
        min_length=1,
        description="The `aud` every token must carry (in development mode only when set explicitly)",
    )
    jwt_issuer: str = Field(
        DEFAULT_JWT_ISSUER,
        min_length=1,
        description="The `iss` every token must carry (in development mode only when set explicitly)",
    )
    # One hour: an access token's usual life at identity providers (Okta, Entra ID's 60-90 min need
    # 5400). A stolen token is good for at most this long plus the leeway.
    jwt_max_lifetime_s: int = Field(
        3600, ge=60, le=86400, description="Longest token life accepted: both exp - iat and exp - now"
    )
    jwt_leeway_s: int = Field(30, ge=0, le=300, description="Clock skew tolerated on exp, iat and nbf")
    max_token_bytes: int = Field(
        8192, ge=1024, le=65536, description="Longer bearer tokens are refused (401) before any crypto"
    )
    token_cache_size: int = Field(1024, ge=0, le=1_000_000)
    dev_mode: bool = Field(
        False,
        description="Development mode (`serve --dev`): tokens need no aud/iss unless set explicitly; "
        "never in production",
    )
    # OpenID Connect resource server (core/oidc.py): tokens signed by an identity provider's rotating
    # keys, found through its discovery document. Set, it replaces the HS256 secret / PEM key.
    oidc_issuer: str | None = Field(
        None,
        description="OpenID provider's issuer URL (https; http only on a loopback address): its "
        "/.well-known/openid-configuration names the JWKS; tokens must carry it as `iss`",
    )
    oidc_algorithms: Annotated[tuple[str, ...], NoDecode] = Field(
        ("RS256",), description="Signature algorithms accepted from the provider, comma-separated"
    )
    oidc_jwks_refresh_s: float = Field(
        300, gt=0, le=86400, description="Seconds between background refreshes of the provider's keys"
    )
    oidc_jwks_min_refetch_s: float = Field(
        30, ge=0, le=3600, description="An unknown `kid` refetches the keys at most this often"
    )
    oidc_jwks_max_stale_s: float = Field(
        3600,
        gt=0,
        le=7 * 86400,
        description="While the provider is unreachable its last keys keep verifying this long; then "
        "tokens are refused and /readyz says why",
    )
    oidc_http_timeout_s: float = Field(5, gt=0, le=60, description="Timeout of each call to the provider")
    oidc_client_id: str | None = Field(
        None, description="The desk's client id at the provider (authorization code with PKCE)"
    )
    oidc_client_secret: SecretStr | None = Field(
        None, description="The desk's client secret, for a confidential client (env only)"
    )
    oidc_login_scopes: str = Field(
        "openid attrition:predict attrition:decide", description="Scopes the desk asks for at sign-in"
    )
    desk_secret: SecretStr | None = Field(
        None,
        description="Key of the desk's CSRF tokens (env only); unset: a random key per process (set it "
        "when several replicas serve the desk)",
    )
    max_body_bytes: int = Field(64 * 1024, ge=1024, le=16 * 1024 * 1024)
    allowed_hosts: Annotated[tuple[str, ...], NoDecode] = Field(
        LOCAL_HOSTS,
        description="Host header values served, comma-separated (*.example.com: its subdomains, *: any); "
        "the address a connection arrived on is always served (probes and scrapes by pod IP)",
    )
    max_header_bytes: int = Field(
        16 * 1024, ge=4096, le=1024 * 1024, description="Largest request head: over it 431 and close"
    )
    header_timeout_s: float = Field(
        10.0, gt=0, le=300, description="Seconds to send a whole request head (then 408 and close)"
    )
    body_timeout_s: float = Field(
        10.0, gt=0, le=300, description="Seconds to send the body once the head is in (then 408 and close)"
    )
    keep_alive_timeout_s: int = Field(5, ge=1, le=300, description="Seconds an idle connection stays open")
    max_concurrency: int = Field(
        1024,
        ge=8,
        le=100_000,
        description="Open connections plus requests in flight beyond which new requests get 503",
    )

    @field_validator("audit_db", mode="before")
    @classmethod
    def _audit_db_is_a_store_url(cls, value: object) -> object:
        """Malformed URLs fail here, at start-up, in one line naming ATTRITION_AUDIT_DB."""
        if isinstance(value, Path):
            value = str(value)
        if isinstance(value, str):
            parse_audit_db(value)  # AuditConfigError is a ValueError: pydantic reports it
        return value

    @field_validator("allowed_hosts", mode="before")
    @classmethod
    def _hosts_are_names(cls, value: object) -> object:
        """Comma-separated names or addresses, no scheme or port (the Host header's port is ignored)."""
        items = value.split(",") if isinstance(value, str) else value
        if not isinstance(items, list | tuple):
            return value
        hosts: list[str] = []
        for item in items:
            host = str(item).strip().lower()
            if host.startswith("[") and host.endswith("]"):
                host = host[1:-1]
            wildcard_ok = host == "*" or (host.startswith("*.") and "*" not in host[2:])
            if "/" in host or host.count(":") == 1 or ("*" in host and not wildcard_ok):
                raise ValueError(
                    f"ATTRITION_ALLOWED_HOSTS entry {str(item).strip()!r}: give a host name or address "
                    "without scheme or port (*.example.com for its subdomains, * for any)"
                )
            if host:
                hosts.append(host)
        if not hosts:
            raise ValueError("ATTRITION_ALLOWED_HOSTS is empty; name at least one host (or *)")
        return tuple(hosts)

    @field_validator("oidc_algorithms", mode="before")
    @classmethod
    def _oidc_algorithms_are_asymmetric(cls, value: object) -> object:
        """Only public-key algorithms: a provider's JWKS never holds a shared secret (no alg confusion)."""
        items = value.split(",") if isinstance(value, str) else value
        if not isinstance(items, list | tuple):
            return value
        algorithms = tuple(str(item).strip() for item in items if str(item).strip())
        bad = [name for name in algorithms if name not in ASYMMETRIC_ALGORITHMS]
        if bad or not algorithms:
            raise ValueError(
                f"ATTRITION_OIDC_ALGORITHMS {','.join(bad) or '(empty)'}: use one or more of "
                f"{', '.join(ASYMMETRIC_ALGORITHMS)}"
            )
        return algorithms

    @field_validator("oidc_issuer")
    @classmethod
    def _issuer_is_https(cls, value: str | None) -> str | None:
        """Keys fetched over plain HTTP could be swapped in transit; loopback is allowed for tests."""
        if value is None:
            return None
        parts = urlsplit(value)
        loopback = parts.scheme == "http" and parts.hostname in LOCAL_HOSTS
        if not parts.hostname or (parts.scheme != "https" and not loopback):
            raise ValueError(f"ATTRITION_OIDC_ISSUER {value!r}: give an https:// URL")
        return value

    @model_validator(mode="after")
    def _limits_are_consistent(self) -> ServiceSettings:
        """A token must fit in a request head, or every request would be refused before it is read."""
        if self.max_token_bytes + 1024 > self.max_header_bytes:
            raise ValueError(
                f"ATTRITION_MAX_TOKEN_BYTES={self.max_token_bytes} leaves no room in "
                f"ATTRITION_MAX_HEADER_BYTES={self.max_header_bytes}; keep it at least 1024 bytes smaller"
            )
        return self

    @model_validator(mode="after")
    def _key_matches_algorithm(self) -> ServiceSettings:
        """An HMAC algorithm with a public key (or the reverse) is the classic alg-confusion bug."""
        if self.jwt_algorithm not in (*HMAC_ALGORITHMS, *ASYMMETRIC_ALGORITHMS):
            raise ValueError(
                f"ATTRITION_JWT_ALGORITHM={self.jwt_algorithm!r} is not allowed; use one of "
                f"{', '.join((*HMAC_ALGORITHMS, *ASYMMETRIC_ALGORITHMS))}"
            )
        if self.jwt_secret is not None and self.jwt_secret_file is not None:
            raise ValueError("set ATTRITION_JWT_SECRET or ATTRITION_JWT_SECRET_FILE, not both")
        if "audit_db" in self.model_fields_set and self.audit_db_file is not None:
            raise ValueError("set ATTRITION_AUDIT_DB or ATTRITION_AUDIT_DB_FILE, not both")
        if self.oidc_issuer is not None and self.jwt_public_key_file is not None:
            raise ValueError("set ATTRITION_OIDC_ISSUER or ATTRITION_JWT_PUBLIC_KEY_FILE, not both")
        asymmetric = self.jwt_algorithm in ASYMMETRIC_ALGORITHMS
        if asymmetric and self.jwt_public_key_file is None:
            raise ValueError(
                f"ATTRITION_JWT_ALGORITHM={self.jwt_algorithm} needs ATTRITION_JWT_PUBLIC_KEY_FILE"
            )
        if not asymmetric and self.jwt_public_key_file is not None:
            raise ValueError(
                "ATTRITION_JWT_PUBLIC_KEY_FILE needs an asymmetric ATTRITION_JWT_ALGORITHM "
                f"(one of {', '.join(ASYMMETRIC_ALGORITHMS)})"
            )
        return self

    def verification_key(self) -> str:
        """The key tokens are checked with; raises SettingsError when none is configured."""
        if self.jwt_public_key_file is not None:
            try:
                return self.jwt_public_key_file.read_text(encoding="utf-8")
            except OSError as error:
                raise SettingsError(
                    f"ATTRITION_JWT_PUBLIC_KEY_FILE {self.jwt_public_key_file}: {error.strerror}"
                ) from error
        return self.signing_secret()

    def required_claims(self) -> tuple[str | None, str | None]:
        """(audience, issuer) tokens must carry: both, except in development mode, where only those
        set explicitly (a dev token minted without them still works)."""
        if self.oidc_issuer is not None:  # the provider's own name, whatever the mode
            return self.jwt_audience, self.oidc_issuer
        if not self.dev_mode:
            return self.jwt_audience, self.jwt_issuer
        explicit = self.model_fields_set
        return (
            self.jwt_audience if "jwt_audience" in explicit else None,
            self.jwt_issuer if "jwt_issuer" in explicit else None,
        )

    def has_secret(self) -> bool:
        """Whether a signing secret is configured (in the environment or as a file)."""
        return self.jwt_secret is not None or self.jwt_secret_file is not None

    def signing_secret(self) -> str:
        """The HS256 secret (the file is read now); SettingsError when unset, unreadable or short."""
        if self.jwt_secret_file is not None:
            source = f"ATTRITION_JWT_SECRET_FILE {self.jwt_secret_file}"
            secret = _read_secret_file(self.jwt_secret_file, "ATTRITION_JWT_SECRET_FILE")
        elif self.jwt_secret is not None and self.jwt_secret.get_secret_value():
            source, secret = "ATTRITION_JWT_SECRET", self.jwt_secret.get_secret_value()
        else:
            raise SettingsError(
                "ATTRITION_JWT_SECRET is not set; export a random secret of at least "
                f"{MIN_SECRET_BYTES} bytes (e.g. `python -c 'import secrets; "
                "print(secrets.token_urlsafe(48))'`), point ATTRITION_JWT_SECRET_FILE at a file "
                "holding one, or run `attrition serve --dev` for a local development secret"
            )
        size = len(secret.encode("utf-8"))
        if size < MIN_SECRET_BYTES:
            raise SettingsError(f"{source} is {size} bytes; HS256 needs at least {MIN_SECRET_BYTES}")
        return secret

    def audit_location(self) -> AuditDatabase:
        """The audit store: ATTRITION_AUDIT_DB, or the path/URL in ATTRITION_AUDIT_DB_FILE.

        The file form is how a PostgreSQL password arrives from Vault or a Kubernetes secret; it is
        read on every call. Raises SettingsError (one line naming the setting) for a bad value.
        """
        if self.audit_db_file is None:
            return parse_audit_db(self.audit_db)
        value = _read_secret_file(self.audit_db_file, "ATTRITION_AUDIT_DB_FILE")
        try:
            return parse_audit_db(value)
        except AuditConfigError as error:
            message = str(error).replace(SETTING, f"ATTRITION_AUDIT_DB_FILE {self.audit_db_file}", 1)
            raise SettingsError(message) from None


def _read_secret_file(path: Path, setting: str) -> str:
    """A mounted secret's value: the file's text without the trailing newline editors add."""
    try:
        value = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) else "not UTF-8 text"
        raise SettingsError(f"{setting} {path}: {reason}") from None
    if not value:
        raise SettingsError(f"{setting} {path}: the file is empty")
    return value
