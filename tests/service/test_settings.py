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
    assert settings.audit_db == str(tmp_path / "a.sqlite")
    assert settings.audit_location().sqlite_path == tmp_path / "a.sqlite"
    assert settings.audit_outage_bound_s == 10
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
    now = int(time.time())
    claims = {"sub": "idp-user", "scope": "attrition:predict", "iat": now, "exp": now + 60}
    assert verifier.verify(jwt.encode(claims, private, algorithm="ES256")).subject == "idp-user"
    # The classic confusion attack: HMAC-sign with the public key as the secret.
    forged = jwt.encode(claims, "p" * 64, algorithm="HS256")
    with pytest.raises(AuthError) as error:
        verifier.verify(forged)
    assert error.value.status == 401


def test_secrets_can_come_from_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ATTRITION_JWT_SECRET", raising=False)
    secret_file = tmp_path / "secret"
    secret_file.write_text("f" * 40 + "\n")
    settings = ServiceSettings(jwt_secret_file=secret_file)
    assert settings.signing_secret() == "f" * 40
    secret_file.write_text("g" * 40)
    assert settings.signing_secret() == "g" * 40  # read again each time: rotation needs no restart
    db_file = tmp_path / "db-url"
    for value, path in [("sqlite:///audit/a.sqlite", "audit/a.sqlite"), ("sqlite:////var/a.db", "/var/a.db")]:
        db_file.write_text(value + "\n")
        assert ServiceSettings(audit_db_file=db_file).audit_location().sqlite_path == Path(path)
    db_file.write_text("/data/audit.sqlite")
    assert ServiceSettings(audit_db_file=db_file).audit_location().sqlite_path == Path("/data/audit.sqlite")
    # The way a PostgreSQL password arrives from Vault: a URL in a mounted file, never echoed back.
    db_file.write_text("postgresql://audit:s3cret@db.internal:5432/audit\n")
    database = ServiceSettings(audit_db_file=db_file).audit_location()
    assert database.backend == "postgresql" and database.url.host == "db.internal"
    assert "s3cret" not in database.display()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "ATTRITION_JWT_SECRET_FILE {path}: No such file or directory"),
        ("", "ATTRITION_JWT_SECRET_FILE {path}: the file is empty"),
        ("short", "ATTRITION_JWT_SECRET_FILE {path} is 5 bytes; HS256 needs at least 32"),
    ],
    ids=["missing", "empty", "short"],
)
def test_bad_secret_files_are_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, content: str | None, message: str
) -> None:
    monkeypatch.delenv("ATTRITION_JWT_SECRET", raising=False)
    path = tmp_path / "secret"
    if content is not None:
        path.write_text(content)
    with pytest.raises(SettingsError) as error:
        ServiceSettings(jwt_secret_file=path).signing_secret()
    assert str(error.value) == message.format(path=path)


def test_a_setting_and_its_file_are_exclusive(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ATTRITION_JWT_SECRET", raising=False)
    with pytest.raises(ValidationError, match="not both"):
        ServiceSettings(jwt_secret="s" * 40, jwt_secret_file=tmp_path / "s")
    with pytest.raises(ValidationError, match="not both"):
        ServiceSettings(audit_db=tmp_path / "a.sqlite", audit_db_file=tmp_path / "url")


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("mysql://u@h/db", "ATTRITION_AUDIT_DB scheme 'mysql' is not supported"),
        ("postgresql://u@h", "ATTRITION_AUDIT_DB PostgreSQL URL names no database"),
        ("sqlite://", "ATTRITION_AUDIT_DB sqlite URL needs a file path"),
        ("   ", "ATTRITION_AUDIT_DB is empty"),
    ],
)
def test_a_malformed_audit_url_is_refused_naming_the_setting(value: str, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        ServiceSettings(audit_db=value)


def test_a_malformed_url_in_the_audit_file_names_the_file(tmp_path: Path) -> None:
    url_file = tmp_path / "url"
    url_file.write_text("mysql://audit:pw@db/audit")
    with pytest.raises(SettingsError) as error:
        ServiceSettings(audit_db_file=url_file).audit_location()
    assert str(error.value).startswith(f"ATTRITION_AUDIT_DB_FILE {url_file} scheme 'mysql' is not supported")
    assert "\n" not in str(error.value) and "pw" not in str(error.value)


def test_allowed_hosts_are_names_without_ports(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ATTRITION_ALLOWED_HOSTS", " api.example.com, *.svc.cluster.local ,[::1]")
    assert ServiceSettings().allowed_hosts == ("api.example.com", "*.svc.cluster.local", "::1")
    for bad in ("api.example.com:443", "https://api.example.com", "a*.example.com", " , "):
        monkeypatch.setenv("ATTRITION_ALLOWED_HOSTS", bad)
        with pytest.raises(ValidationError, match="ATTRITION_ALLOWED_HOSTS"):
            ServiceSettings()


def test_a_token_must_fit_in_a_request_head() -> None:
    with pytest.raises(ValidationError, match="ATTRITION_MAX_TOKEN_BYTES=16000 leaves no room"):
        ServiceSettings(max_token_bytes=16000)


def test_audience_and_issuer_are_required_outside_development_mode() -> None:
    assert ServiceSettings().required_claims() == ("attrition", "attrition")
    assert ServiceSettings(dev_mode=True).required_claims() == (None, None)
    assert ServiceSettings(dev_mode=True, jwt_audience="hr").required_claims() == ("hr", None)
