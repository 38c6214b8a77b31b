"""Every knob of the service in one pydantic-settings class, read from ATTRITION_* variables.

Secrets come from the environment or, the way Vault Agent and Kubernetes mount them, from a file
named by ATTRITION_<NAME>_FILE. A file is read each time the value is needed (start-up, SIGHUP,
POST /admin/reload), so a rotated secret takes effect without a restart. Paths default to the
DVC pipeline's outputs so `attrition serve` works in a checkout.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from attrition.audit.database import DEFAULT_AUDIT_DB, SETTING, AuditDatabase, parse_audit_db
from attrition.audit.errors import AuditConfigError

MIN_SECRET_BYTES = 32
ASYMMETRIC_ALGORITHMS = ("RS256", "RS384", "RS512", "ES256", "ES384", "PS256", "EdDSA")
HMAC_ALGORITHMS = ("HS256", "HS384", "HS512")


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
    audit_retention_days: float = Field(180, gt=0, description="Scheduled purge horizon")
    audit_purge_interval_s: float = Field(3600, gt=0, description="Seconds between purges")
    jwt_secret: SecretStr | None = Field(None, description="HS256 signing secret (env only)")
    jwt_secret_file: Path | None = Field(
        None, description="File holding the HS256 secret (re-read on reload)"
    )
    jwt_public_key_file: Path | None = Field(None, description="PEM public key for RS/ES/EdDSA")
    jwt_algorithm: str = Field("HS256", description="The only algorithm tokens may use")
    jwt_audience: str | None = None
    jwt_issuer: str | None = None
    token_cache_size: int = Field(1024, ge=0, le=1_000_000)
    max_body_bytes: int = Field(64 * 1024, ge=1024, le=16 * 1024 * 1024)

    @field_validator("audit_db", mode="before")
    @classmethod
    def _audit_db_is_a_store_url(cls, value: object) -> object:
        """Malformed URLs fail here, at start-up, in one line naming ATTRITION_AUDIT_DB."""
        if isinstance(value, Path):
            value = str(value)
        if isinstance(value, str):
            parse_audit_db(value)  # AuditConfigError is a ValueError: pydantic reports it
        return value

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
