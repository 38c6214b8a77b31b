"""The SQLite audit store: records written off the request path, opt-out without inputs, purges."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from attrition.service.core.audit import AuditError, AuditRecord, AuditStore, parse_duration
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
    assert json.loads(inputs) == SAMPLE_EMPLOYEE
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
