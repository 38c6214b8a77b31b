"""`attrition serve`: refuses bad settings in one line; SIGHUP reloads, SIGTERM drains the audit queue."""

from __future__ import annotations

import signal
import sqlite3
import ssl
import stat
import time
from pathlib import Path

import httpx
import pytest

from attrition.service.commands import serve
from tests.support.service import (
    SAMPLE_EMPLOYEE,
    SECRET,
    bearer,
    clean_env,
    make_token,
    rewrite_version,
    run_cli,
    self_signed_certificate,
    serve_subprocess,
    settings_for,
)

pytestmark = (
    pytest.mark.e2e
)  # each test starts `attrition serve` as a process: not the unit tier (`make unit`)


def test_serve_refuses_to_start_without_a_secret(tmp_path: Path) -> None:
    done = run_cli("serve", "--package", str(tmp_path), "--port", "9", env=clean_env())
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [done.stderr.strip()]
    assert "ATTRITION_JWT_SECRET" in done.stderr


def test_sighup_reloads_and_sigterm_drains_the_audit_queue(
    package_copy: Path, scores_csv: Path, tmp_path: Path
) -> None:

    settings = settings_for(tmp_path, package_copy, scores_csv)
    token = bearer(make_token(sub="sig"))
    with serve_subprocess(settings, tmp_path / "serve.log") as proc:
        with httpx.Client(base_url=proc.url, timeout=10, headers=token) as client:
            first = client.get("/readyz").json()["model_version"]
            rewrite_version(package_copy, "v-hup")
            proc.signal(signal.SIGHUP)
            deadline = time.monotonic() + 20
            while client.get("/readyz").json()["model_version"] != "v-hup":
                assert time.monotonic() < deadline, (tmp_path / "serve.log").read_text()
                time.sleep(0.1)
            assert first != "v-hup"
            for i in range(200):
                assert (
                    client.post("/predict", json={**SAMPLE_EMPLOYEE, "employee_id": f"S{i}"}).status_code
                    == 200
                )
        proc.signal(signal.SIGTERM)
        # uvicorn finishes the graceful shutdown, then re-raises SIGTERM for the exit status.
        assert proc.wait_exit(30) in (0, -signal.SIGTERM)
    log = (tmp_path / "serve.log").read_text()
    assert "serving model v-hup" in log
    assert "Application shutdown complete" in log
    with sqlite3.connect(settings.audit_db) as db:
        rows = db.execute(
            "SELECT COUNT(*), MIN(model_version), MAX(caller) FROM predictions WHERE employee_id LIKE 'S%'"
        ).fetchone()
    assert rows == (200, "v-hup", "sig")


def _future_schema_store(path: Path) -> str:
    """A SQLite audit store stamped with a schema revision this code does not know."""
    import sqlalchemy as sa

    from attrition.audit.writer import AuditStore

    store = AuditStore(str(path))
    store.open()
    with store.engine.begin() as connection:
        connection.execute(sa.text("UPDATE alembic_version SET version_num = '9999_from_the_future'"))
    store.close()
    return str(path)


@pytest.mark.parametrize(
    ("audit_db", "message"),
    [
        ("mysql://audit@db/audit", "error: ATTRITION_AUDIT_DB scheme 'mysql' is not supported; allowed:"),
        ("postgresql://audit:pw@127.0.0.1:1/audit", "error: ATTRITION_AUDIT_DB: cannot connect to"),
        ("FUTURE", "error: ATTRITION_AUDIT_DB: the audit schema is at revision '9999_from_the_future'"),
    ],
    ids=["malformed", "unreachable", "newer-schema"],
)
def test_a_bad_audit_store_stops_start_up_in_one_line(
    tmp_path: Path, model_package: Path, audit_db: str, message: str
) -> None:
    if audit_db == "FUTURE":
        audit_db = _future_schema_store(tmp_path / "future.sqlite")
    before = Path(audit_db).read_bytes() if Path(audit_db).is_file() else None
    done = run_cli("serve", "--package", str(model_package), "--audit-db", audit_db, "--port", "9")
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and done.stderr.startswith(message), done.stderr
    assert "pw@" not in done.stderr  # a password in the URL is never echoed
    if before is not None:
        assert Path(audit_db).read_bytes() == before  # nothing touched
    assert not (tmp_path / "audit").exists()


def test_help_shows_the_defaults(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        serve.main(["--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    assert "(default: 8000)" in out
    assert "(default: 127.0.0.1)" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [(["--port", "x"], "--port: invalid int value"), (["--port", "0"], "--port 0: must be 1-65535")],
)
def test_bad_flags_are_one_line_and_exit_2(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    try:
        code = serve.main(argv)
    except SystemExit as exited:
        code = int(exited.code or 0)
    assert code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ") and message in err


def _wait_until_accepted(url: str, token: str, log: Path, verify: object = True) -> None:
    """Poll /predict with `token` until it is accepted (bounded: 20 s)."""
    deadline = time.monotonic() + 20
    while True:
        reply = httpx.post(
            f"{url}/predict", json=SAMPLE_EMPLOYEE, headers=bearer(token), timeout=5, verify=verify
        )
        if reply.status_code == 200:
            return
        assert reply.status_code == 401, reply.text
        assert time.monotonic() < deadline, log.read_text()
        time.sleep(0.1)


def test_sighup_re_reads_a_rotated_secret_file(model_package: Path, scores_csv: Path, tmp_path: Path) -> None:
    secret_file = tmp_path / "jwt-secret"
    secret_file.write_text(SECRET + "\n")
    rotated = "n" * 48
    settings = settings_for(tmp_path, model_package, scores_csv)
    env = clean_env(ATTRITION_JWT_SECRET_FILE=str(secret_file))
    log = tmp_path / "serve.log"
    with serve_subprocess(settings, log, env=env) as proc:
        _wait_until_accepted(proc.url, make_token(), log)
        secret_file.write_text(rotated + "\n")
        proc.signal(signal.SIGHUP)
        _wait_until_accepted(proc.url, make_token(secret=rotated), log)
        stale = httpx.post(
            f"{proc.url}/predict", json=SAMPLE_EMPLOYEE, headers=bearer(make_token()), timeout=5
        )
        assert stale.status_code == 401


def test_dev_secret_is_shared_by_serve_and_token(
    model_package: Path, scores_csv: Path, tmp_path: Path
) -> None:
    """Two terminals, no secret exported: `serve --dev` creates it, `token` reads it."""
    settings = settings_for(tmp_path, model_package, scores_csv)
    log = tmp_path / "serve.log"
    with serve_subprocess(settings, log, env=clean_env(), extra_args=("--dev",), cwd=tmp_path) as proc:
        secret = tmp_path / ".attrition" / "dev-secret"
        assert stat.S_IMODE(secret.stat().st_mode) == 0o600
        minted = run_cli(
            "token", "--sub", "dev", "--scope", "attrition:predict", env=clean_env(), cwd=tmp_path
        )
        assert minted.returncode == 0, minted.stderr
        _wait_until_accepted(proc.url, minted.stdout.strip(), log)
    assert f"development secret created in {Path('.attrition/dev-secret')}" in log.read_text()


def test_serve_speaks_tls_with_the_given_certificate(
    model_package: Path, scores_csv: Path, tmp_path: Path
) -> None:
    cert, key = self_signed_certificate(tmp_path)
    trust = ssl.create_default_context(cafile=str(cert))
    settings = settings_for(tmp_path, model_package, scores_csv)
    args = ("--ssl-certfile", str(cert), "--ssl-keyfile", str(key))
    log = tmp_path / "serve.log"
    with serve_subprocess(settings, log, extra_args=args, scheme="https", verify=trust) as proc:
        assert proc.url.startswith("https://")
        _wait_until_accepted(proc.url, make_token(), log, verify=trust)
        with pytest.raises(httpx.ConnectError):  # an untrusted certificate is refused by clients
            httpx.get(f"{proc.url}/healthz", timeout=5)
        plain = proc.url.replace("https://", "http://")
        with pytest.raises(httpx.TransportError):
            httpx.get(f"{plain}/healthz", timeout=5)


@pytest.mark.parametrize(
    ("which", "message"),
    [
        ("cert-only", "give both or neither"),
        ("wrong-key", "not a matching PEM pair"),
        ("missing", "No such file"),
    ],
)
def test_bad_tls_flags_are_one_line(
    which: str, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cert, key = self_signed_certificate(tmp_path)
    other = tmp_path / "other"
    other.mkdir()
    _, other_key = self_signed_certificate(other)
    argv = {
        "cert-only": ["--ssl-certfile", str(cert)],
        "wrong-key": ["--ssl-certfile", str(cert), "--ssl-keyfile", str(other_key)],
        "missing": ["--ssl-certfile", str(tmp_path / "none.pem"), "--ssl-keyfile", str(key)],
    }[which]
    assert serve.main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: --ssl-") and message in err
