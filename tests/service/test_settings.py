"""Settings come from ATTRITION_* env vars; unsafe key setups are refused with one line."""

from __future__ import annotations

import time
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from pydantic import ValidationError

from attrition.service.core.tokens import AuthError, TokenVerifier
from attrition.service.settings import ServiceSettings, SettingsError


def test_env_vars_configure_the_service(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ATTRITION_JWT_SECRET", "s" * 40)
    monkeypatch.setenv("ATTRITION_AUDIT_DB", str(tmp_path / "a.sqlite"))
    monkeypatch.setenv("ATTRITION_PACKAGE", str(tmp_path / "pkg"))
    monkeypatch.setenv("ATTRITION_MAX_BODY_BYTES", "2048")
    settings = ServiceSettings()
    assert settings.audit_db == tmp_path / "a.sqlite"
    assert settings.package == tmp_path / "pkg"
    assert settings.max_body_bytes == 2048
    assert settings.signing_secret() == "s" * 40
    assert "s" * 40 not in repr(settings)  # the secret never shows up in logs or tracebacks


def test_missing_or_short_secret_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ATTRITION_JWT_SECRET", raising=False)
    with pytest.raises(SettingsError, match="ATTRITION_JWT_SECRET is not set"):
        ServiceSettings().verification_key()
    with pytest.raises(SettingsError, match="at least 32"):
        ServiceSettings(jwt_secret="short").verification_key()


def test_algorithm_and_key_must_agree(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="needs ATTRITION_JWT_PUBLIC_KEY_FILE"):
        ServiceSettings(jwt_algorithm="ES256")
    with pytest.raises(ValidationError, match="needs an asymmetric"):
        ServiceSettings(jwt_public_key_file=tmp_path / "k.pem")
    with pytest.raises(ValidationError, match="not allowed"):
        ServiceSettings(jwt_algorithm="none")


def test_public_key_option_verifies_es256_and_refuses_hs256_confusion(tmp_path: Path) -> None:
    private = ec.generate_private_key(ec.SECP256R1())
    public_pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    (tmp_path / "k.pem").write_bytes(public_pem)
    settings = ServiceSettings(jwt_algorithm="ES256", jwt_public_key_file=tmp_path / "k.pem")
    verifier = TokenVerifier(settings.verification_key(), settings.jwt_algorithm)
    claims = {"sub": "idp-user", "scope": "attrition:predict", "exp": int(time.time()) + 60}
    assert verifier.verify(jwt.encode(claims, private, algorithm="ES256")).subject == "idp-user"
    # The classic confusion attack: HMAC-sign with the public key as the secret.
    forged = jwt.encode(claims, "p" * 64, algorithm="HS256")
    with pytest.raises(AuthError) as error:
        verifier.verify(forged)
    assert error.value.status == 401
