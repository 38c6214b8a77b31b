"""`attrition serve`: refuses bad settings in one line; SIGHUP reloads, SIGTERM drains the audit queue."""

from __future__ import annotations

import signal
import sqlite3
import time
from pathlib import Path

import httpx
import pytest

from attrition.service.commands import serve
from tests.support.service import (
    SAMPLE_EMPLOYEE,
    bearer,
    clean_env,
    make_token,
    rewrite_version,
    run_cli,
    serve_subprocess,
    settings_for,
)


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
