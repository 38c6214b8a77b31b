"""Right of access (export) and right to erasure (erase), both in the admin log without content."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from attrition.audit import database, subject_rights
from attrition.audit.command import main as audit_main
from attrition.audit.decisions import record_decision, validate_decision
from attrition.audit.errors import AuditInputError
from attrition.audit.subject_rights import erase_employee, export_employee, validate_employee_id
from tests.audit.builders import FEATURES, column, count, open_store, prediction


@pytest.mark.parametrize("bad", ["", "   ", "x" * 33, "E1\n"])
def test_employee_ids_are_validated(bad: str) -> None:
    with pytest.raises(AuditInputError, match="--employee-id"):
        validate_employee_id(bad)


def test_export_then_erase(store_url: str) -> None:
    mine = [prediction("E1"), prediction("E1")]
    others = [prediction("E2"), prediction("E1", opt_out=True)]  # an opt-out is not linked to E1
    with open_store(store_url) as store:
        store.record_blocking(mine + others)
        for row in (mine[0], others[0]):
            record_decision(store.engine, validate_decision(row.prediction_id, "stay_interview", "r", "mgr"))

        exported = export_employee(store.engine, "E1", actor="dpo")
        assert [p["prediction_id"] for p in exported["predictions"]] == [r.prediction_id for r in mine]
        assert exported["predictions"][0]["inputs"] == FEATURES
        assert [d["prediction_id"] for d in exported["decisions"]] == [mine[0].prediction_id]
        json.dumps(exported)  # JSON-ready as it is

        assert erase_employee(store.engine, "E1", actor="dpo") == {"predictions": 2, "decisions": 1}
        again = export_employee(store.engine, "E1", actor="dpo")
    assert again["predictions"] == [] and again["decisions"] == []
    assert [entry["action"] for entry in again["admin_log"]] == ["export", "erase"]
    assert count(store_url, "predictions") == 2 and count(store_url, "decisions") == 1  # others kept
    log = column(store_url, "SELECT detail FROM admin_log ORDER BY id")
    assert log == [
        '{"decisions": 1, "predictions": 2}',
        '{"decisions": 1, "predictions": 2}',
        '{"decisions": 0, "predictions": 0}',
    ]
    assert column(store_url, "SELECT actor FROM admin_log") == ["dpo"] * 3
    # nothing of the erased content (inputs, ids of the rows, reasons) is anywhere in the log
    assert not any(mine[0].prediction_id in str(entry) or "age" in str(entry) for entry in log)


def test_an_erase_says_so_when_a_reader_keeps_the_wal_from_being_truncated(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "audit.sqlite"
    with open_store(str(db)) as store:
        store.record_blocking([prediction("E1")])
        monkeypatch.setattr(database, "SQLITE_BUSY_TIMEOUT_S", 0.05)
        monkeypatch.setattr(subject_rights, "CHECKPOINT_ATTEMPTS", 1)
        reader = sqlite3.connect(db, isolation_level=None)
        try:
            reader.execute("BEGIN")
            reader.execute("SELECT COUNT(*) FROM predictions").fetchone()  # a snapshot from before
            assert audit_main(["--db", str(db), "erase", "--employee-id", "E1"]) == 1
        finally:
            reader.close()
    captured = capsys.readouterr()
    assert "erased 1 predictions and 0 decisions about E1" in captured.out  # done, and committed
    assert captured.err.startswith("error: the SQLite WAL is still in use") and captured.err.count("\n") == 1
    assert count(str(db), "predictions") == 0
