"""`attrition audit purge`: deletes old records, one-line errors with exit 2."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest

from attrition.cli import main as cli_main
from attrition.service.core.audit import AuditRecord, AuditStore
from tests.support.service import (
    SAMPLE_EMPLOYEE,
)


def _record(ts: float | None = None, opt_out: bool = False, employee_id: str = "E1") -> AuditRecord:
    record = AuditRecord.for_prediction(
        caller="alice",
        endpoint="/predict",
        model_version="v1",
        source="model",
        opt_out=opt_out,
        employee_id=employee_id,
        inputs=dict(SAMPLE_EMPLOYEE),
        probability=0.25,
        decision=True,
    )
    if ts is None:
        return record
    return AuditRecord(**{**record.__dict__, "ts": ts})


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
