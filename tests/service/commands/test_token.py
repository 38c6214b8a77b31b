"""`attrition token`: mints a token the server accepts; every bad flag or secret is one line, exit 2."""

from __future__ import annotations

import time

import jwt
import pytest

from attrition.cli import main as cli_main
from tests.support.service import (
    SAMPLE_EMPLOYEE,
    SECRET,
    Server,
    bearer,
    run_cli,
)


def test_token_command_mints_a_usable_token(live: Server) -> None:
    done = run_cli("token", "--sub", "alice", "--scope", "attrition:predict", "--ttl", "3600")
    assert done.returncode == 0, done.stderr
    token = done.stdout.strip()
    claims = jwt.decode(token, SECRET, algorithms=["HS256"])
    assert claims["sub"] == "alice"
    assert claims["scope"] == "attrition:predict"
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
) -> None:
    monkeypatch.delenv("ATTRITION_JWT_SECRET", raising=False)
    if secret is not None:
        monkeypatch.setenv("ATTRITION_JWT_SECRET", secret)
    assert cli_main(["token", "--sub", "alice", *args]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert len(err.strip().splitlines()) == 1
    assert message in err
