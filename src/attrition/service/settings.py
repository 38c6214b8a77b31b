"""Every knob of the service in one pydantic-settings class, read from ATTRITION_* variables.

Secrets (the JWT signing secret) only ever come from the environment, never from a file in the
repository; paths default to the DVC pipeline's outputs so `attrition serve` works in a checkout.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

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
    audit_db: Path = Field(Path("audit/audit.sqlite"), description="SQLite audit store")
    audit_retention_days: float = Field(180, gt=0, description="Scheduled purge horizon")
    audit_purge_interval_s: float = Field(3600, gt=0, description="Seconds between purges")
    jwt_secret: SecretStr | None = Field(None, description="HS256 signing secret (env only)")
    jwt_public_key_file: Path | None = Field(None, description="PEM public key for RS/ES/EdDSA")
    jwt_algorithm: str = Field("HS256", description="The only algorithm tokens may use")
    jwt_audience: str | None = None
    jwt_issuer: str | None = None
    token_cache_size: int = Field(1024, ge=0, le=1_000_000)
    max_body_bytes: int = Field(64 * 1024, ge=1024, le=16 * 1024 * 1024)

    @model_validator(mode="after")
    def _key_matches_algorithm(self) -> ServiceSettings:
        """An HMAC algorithm with a public key (or the reverse) is the classic alg-confusion bug."""
        if self.jwt_algorithm not in (*HMAC_ALGORITHMS, *ASYMMETRIC_ALGORITHMS):
            raise ValueError(
                f"ATTRITION_JWT_ALGORITHM={self.jwt_algorithm!r} is not allowed; use one of "
                f"{', '.join((*HMAC_ALGORITHMS, *ASYMMETRIC_ALGORITHMS))}"
            )
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

    def signing_secret(self) -> str:
        """The HS256 secret; raises SettingsError when it is unset or too short to be safe."""
        if self.jwt_secret is None or not self.jwt_secret.get_secret_value():
            raise SettingsError(
                "ATTRITION_JWT_SECRET is not set; export a random secret of at least "
                f"{MIN_SECRET_BYTES} bytes (e.g. `python -c 'import secrets; "
                "print(secrets.token_urlsafe(48))'`)"
            )
        secret = self.jwt_secret.get_secret_value()
        if len(secret.encode("utf-8")) < MIN_SECRET_BYTES:
            raise SettingsError(
                f"ATTRITION_JWT_SECRET is {len(secret.encode('utf-8'))} bytes; "
                f"HS256 needs at least {MIN_SECRET_BYTES}"
            )
        return secret
