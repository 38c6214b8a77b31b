"""Audit store: every prediction recorded off the request path, opt-out without inputs, purges."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

import pytest

from attrition.cli import main as cli_main
from attrition.service.core.audit import AuditError, AuditRecord, AuditStore, connect, parse_duration
from tests.service.conftest import bearer, make_token, serve_in_thread, settings_for

GOOD = {"age": 34, "job_role": "Sales", "monthly_income": 3200.5, "years_at_company": 2}


def _record(ts: float | None = None, opt_out: bool = False, employee_id: str = "E1") -> AuditRecord:
    record = AuditRecord.for_prediction(
        caller="alice",
        endpoint="/predict",
        model_version="v1",
        source="model",
        opt_out=opt_out,
        employee_id=employee_id,
        inputs=dict(GOOD),
        probability=0.25,
        decision=True,
    )
    if ts is None:
        return record
    return AuditRecord(**{**record.__dict__, "ts": ts})


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("180d", 180 * 86400), ("12h", 43200), ("30m", 1800), ("45s", 45), ("2w", 1209600), ("1.5d", 129600)],
)
def test_parse_duration(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "180", "d", "-1d", "0d", "18x", "1e3d", "180 days"])
def test_parse_duration_rejects_with_the_accepted_format(text: str) -> None:
    with pytest.raises(AuditError, match="use a positive number followed by s, m, h, d or w"):
        parse_duration(text)


def test_store_drains_on_close_and_honours_opt_out(tmp_path: Path) -> None:
    written: list[int] = []
    store = AuditStore(tmp_path / "a" / "audit.sqlite", on_written=written.append)
    store.start()
    for i in range(2000):
        store.record(_record(employee_id=f"E{i}", opt_out=i % 10 == 0))
    store.close()
    with sqlite3.connect(tmp_path / "a" / "audit.sqlite") as db:
        total, opted = db.execute("SELECT COUNT(*), SUM(opt_out) FROM predictions").fetchone()
        leaked = db.execute(
            "SELECT COUNT(*) FROM predictions WHERE opt_out = 1 AND "
            "(inputs IS NOT NULL OR employee_id IS NOT NULL)"
        ).fetchone()[0]
        inputs = db.execute("SELECT inputs FROM predictions WHERE opt_out = 0 LIMIT 1").fetchone()[0]
    assert (total, opted, leaked) == (2000, 200, 0)
    assert json.loads(inputs) == GOOD
    assert sum(written) == 2000


def test_a_cancelled_purge_does_not_kill_the_writer(tmp_path: Path) -> None:
    path = tmp_path / "audit.sqlite"
    store = AuditStore(path)
    abandoned = store.request_purge(1.0)  # queued before the writer starts, so it is handled first
    assert abandoned.cancel()
    store.record(_record(employee_id="E1", opt_out=False))
    kept = store.request_purge(10 * 365 * 86400.0)
    store.start()
    assert kept.result(timeout=10) == 0  # the writer is still alive after the cancelled request
    store.record(_record(employee_id="E2", opt_out=False))
    store.close()
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT COUNT(*) FROM predictions").fetchone()[0] == 2


def test_purge_through_the_writer_and_the_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "audit.sqlite"
    now = time.time()
    store = AuditStore(path)
    store.start()
    for age_days in (400, 200, 100, 1):
        store.record(_record(ts=now - age_days * 86400))
    assert store.request_purge(300 * 86400).result(timeout=10) == 1
    store.close()

    assert cli_main(["audit", "purge", "--older-than", "180d", "--db", str(path)]) == 0
    assert "purged 1 audit records older than 180d" in capsys.readouterr().out
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT COUNT(*) FROM predictions").fetchone()[0] == 2

    assert cli_main(["audit", "purge", "--older-than", "180x", "--db", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "invalid duration '180x'" in err
    assert cli_main(["audit", "purge", "--older-than", "1d", "--db", str(tmp_path / "no.db")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_service_audits_predictions_and_purges_on_schedule(
    model_package: Path, scores_csv: Path, tmp_path: Path
) -> None:
    settings = settings_for(tmp_path, model_package, scores_csv, audit_purge_interval_s=0.2)
    old = connect(settings.audit_db)
    with old:
        old.execute(
            "INSERT INTO predictions (ts, created_at, caller, endpoint, source, opt_out) "
            "VALUES (0, '1970-01-01', 'old', '/predict', 'model', 0)"
        )
    old.close()
    token = bearer(make_token(sub="carol"))
    with serve_in_thread(settings) as server, server.client(headers=token) as client:
        assert client.post("/predict", json={**GOOD, "employee_id": "E00001"}).status_code == 200
        assert (
            client.post("/predict", json={**GOOD, "employee_id": "E00002", "opt_out": True}).status_code
            == 200
        )
        assert client.post("/predict/batch", json={"employees": [GOOD, GOOD]}).status_code == 200
        assert client.get("/scores/E00003").status_code == 200
        assert client.post("/predict", json={**GOOD, "age": 3}).status_code == 422
        deadline = time.monotonic() + 10
        while "attrition_audit_records_purged_total 1.0" not in client.get("/metrics").text:
            assert time.monotonic() < deadline
            time.sleep(0.1)
    with sqlite3.connect(settings.audit_db) as db:
        db.row_factory = sqlite3.Row
        rows = [dict(r) for r in db.execute("SELECT * FROM predictions ORDER BY id")]
    assert [r["caller"] for r in rows] == ["carol"] * 5  # the 1970 record was purged
    assert [r["endpoint"] for r in rows] == [
        "/predict",
        "/predict",
        "/predict/batch",
        "/predict/batch",
        "/scores",
    ]
    normal, opted = rows[0], rows[1]
    assert json.loads(normal["inputs"]) == GOOD and normal["employee_id"] == "E00001"
    assert normal["source"] == "model" and normal["model_version"]
    assert 0 <= normal["probability"] <= 1 and normal["decision"] in (0, 1)
    assert opted["opt_out"] == 1 and opted["inputs"] is None and opted["employee_id"] is None
    assert opted["probability"] is not None
    assert abs(normal["ts"] - time.time()) < 60
