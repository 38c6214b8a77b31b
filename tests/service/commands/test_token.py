"""`attrition token`: mints a token the server accepts; every bad flag or secret is one line, exit 2."""

from __future__ import annotations

import time
from pathlib import Path

import jwt
import pytest

from attrition.cli import main as cli_main
from attrition.service.settings import DEFAULT_JWT_AUDIENCE, DEFAULT_JWT_ISSUER
from tests.support.service import (
    SAMPLE_EMPLOYEE,
    SECRET,
    Server,
    bearer,
    clean_env,
    run_cli,
)

AUDIENCE = DEFAULT_JWT_AUDIENCE

pytestmark = pytest.mark.e2e  # tokens checked against a served process: not the unit tier (`make unit`)


def test_token_command_mints_a_usable_token(live: Server) -> None:
    done = run_cli("token", "--sub", "alice", "--scope", "attrition:predict", "--ttl", "3600")
    assert done.returncode == 0, done.stderr
    token = done.stdout.strip()
    claims = jwt.decode(token, SECRET, algorithms=["HS256"], audience=DEFAULT_JWT_AUDIENCE)
    assert claims["sub"] == "alice"
    assert claims["scope"] == "attrition:predict"
    assert (claims["aud"], claims["iss"]) == (DEFAULT_JWT_AUDIENCE, DEFAULT_JWT_ISSUER)  # what serve requires
    assert 3590 <= claims["exp"] - time.time() <= 3600
    with live.client() as client:
        assert client.post("/predict", json=SAMPLE_EMPLOYEE, headers=bearer(token)).status_code == 200


@pytest.mark.parametrize(
    ("args", "secret", "message"),
    [
        (["--scope", "attrition:predict"], None, "ATTRITION_JWT_SECRET is not set"),
        (["--scope", "attrition:predict"], "short", "at least 32"),
        (["--scope", "attrition:everything"], SECRET, "--scope attrition:everything"),
        (["--scope", "attrition:predict", "--ttl", "0"], SECRET, "--ttl 0"),
    ],
    ids=["no-secret", "short-secret", "unknown-scope", "zero-ttl"],
)
def test_token_command_errors_are_one_line(
    args: list[str],
    secret: str | None,
    message: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    monkeypatch.chdir(tmp_path)  # no development secret of the developer's checkout
    monkeypatch.delenv("ATTRITION_JWT_SECRET", raising=False)
    monkeypatch.delenv("ATTRITION_JWT_SECRET_FILE", raising=False)
    if secret is not None:
        monkeypatch.setenv("ATTRITION_JWT_SECRET", secret)
    assert cli_main(["token", "--sub", "alice", *args]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert len(err.strip().splitlines()) == 1
    assert message in err


def test_token_signs_with_the_secret_file_or_the_development_secret(tmp_path: Path) -> None:
    secret_file = tmp_path / "jwt-secret"
    secret_file.write_text(SECRET + "\n")
    from_file = run_cli(
        "token",
        "--sub",
        "bob",
        "--scope",
        "attrition:admin",
        env=clean_env(ATTRITION_JWT_SECRET_FILE=str(secret_file)),
    )
    assert from_file.returncode == 0, from_file.stderr
    assert (
        jwt.decode(from_file.stdout.strip(), SECRET, algorithms=["HS256"], audience=AUDIENCE)["sub"] == "bob"
    )

    dev = tmp_path / ".attrition" / "dev-secret"
    dev.parent.mkdir()
    dev.write_text("d" * 64)
    from_dev = run_cli(
        "token", "--sub", "carol", "--scope", "attrition:predict", env=clean_env(), cwd=tmp_path
    )
    assert from_dev.returncode == 0, from_dev.stderr
    assert (
        jwt.decode(from_dev.stdout.strip(), "d" * 64, algorithms=["HS256"], audience=AUDIENCE)["sub"]
        == "carol"
    )
