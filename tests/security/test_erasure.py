"""Issue 27, findings 1 and 2: erasure and access reach every row about a person, and leave no bytes.

A decision on an opt-out or id-less prediction used to be reachable by no employee id (erase said
"0 decisions" and kept its reason), and an erased row stayed readable in the SQLite WAL and in free
pages until a checkpoint. Each test plants unique strings and looks for them where they could hide.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from attrition.audit.command import main as audit_main
from attrition.audit.decisions import record_decision, validate_decision
from attrition.audit.records import PredictionRow
from attrition.audit.writer import AuditStore
from tests.audit.builders import column, count, open_store, prediction
from tests.support.service import (
    SAMPLE_EMPLOYEE,
    Server,
    bearer,
    make_token,
    serve_in_thread,
    settings_for,
    stored_rows,
)

pytestmark = pytest.mark.security

EMPLOYEE = "E00077"


def planted(label: str) -> str:
    """A string that occurs nowhere unless this test wrote it."""
    return f"PLANTED-{label}-{uuid.uuid4().hex}"


def row_with_inputs(employee_id: str | None, job_role: str, *, opt_out: bool = False) -> PredictionRow:
    """A live prediction whose stored inputs carry `job_role` (a planted string)."""
    return PredictionRow.for_prediction(
        caller="alice",
        endpoint="/predict",
        model_version="v3-test",
        source="model",
        opt_out=opt_out,
        employee_id=employee_id,
        inputs={"age": 34, "job_role": job_role, "monthly_income": 3200.5, "years_at_company": 2},
        probability=0.25,
        decision=True,
    )


def decide(store: AuditStore, row: PredictionRow, reason: str, employee_id: str | None = None) -> None:
    """A manager's decision, naming its subject only when given (as the API body does)."""
    subject = {} if employee_id is None else {"employee_id": employee_id}
    record_decision(
        store.engine, validate_decision(row.prediction_id, "stay_interview", reason, "mgr", **subject)
    )


def raw_bytes(db: Path) -> bytes:
    """The database file and its WAL as they are on disk now (the WAL may not exist)."""
    wal = db.with_name(db.name + "-wal")
    return db.read_bytes() + (wal.read_bytes() if wal.exists() else b"")


@pytest.fixture(params=["sqlite-default", "secure-delete-off"])
def store_path(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A store path; `secure-delete-off` opens every connection as SQLite builds without
    SQLITE_SECURE_DELETE do (Debian's has it on, python.org's and Homebrew's do not)."""
    if request.param == "secure-delete-off":
        from attrition.audit import database

        pragmas = database.sqlite_pragmas

        def insecure(dbapi_connection: Any, record: Any) -> None:
            pragmas(dbapi_connection, record)
            dbapi_connection.execute("PRAGMA secure_delete = OFF")

        monkeypatch.setattr(database, "sqlite_pragmas", insecure)
    return tmp_path / "audit" / "audit.sqlite"


@pytest.fixture
def running(store_path: Path) -> Iterator[AuditStore]:
    """The store as the service holds it: open (its writer connected) while the CLI erases."""
    with open_store(str(store_path)) as store:
        yield store


def test_decisions_on_opt_out_and_id_less_predictions_are_exported_and_erased(
    running: AuditStore, store_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(store_path)
    named, opted, anonymous, other = (
        prediction(EMPLOYEE),
        prediction(EMPLOYEE, opt_out=True),
        prediction(None),
        prediction("E2"),
    )
    running.record_blocking([named, opted, anonymous, other])
    reasons = {key: planted(key) for key in ("named", "opted", "anonymous", "mentioned")}
    decide(running, named, reasons["named"])
    decide(running, opted, f"asked not to be profiled: {reasons['opted']}", EMPLOYEE)
    decide(running, anonymous, reasons["anonymous"], EMPLOYEE)
    decide(running, anonymous, f"spoke with {EMPLOYEE} again: {reasons['mentioned']}")  # no subject
    decide(running, other, "about someone else")
    assert column(db, f"SELECT employee_id FROM decisions WHERE prediction_id = '{named.prediction_id}'") == [
        EMPLOYEE  # copied from the prediction
    ]

    out = tmp_path / "export.json"
    assert audit_main(["--db", db, "export", "--employee-id", EMPLOYEE, "--out", str(out)]) == 0
    exported = json.loads(out.read_text())
    assert sorted(d["reason"].split()[-1] for d in exported["decisions"]) == sorted(reasons.values())
    assert [p["prediction_id"] for p in exported["predictions"]] == [named.prediction_id]
    capsys.readouterr()

    assert audit_main(["--db", db, "erase", "--employee-id", EMPLOYEE]) == 0
    assert f"erased 1 predictions and 4 decisions about {EMPLOYEE}" in capsys.readouterr().out
    assert column(db, "SELECT reason FROM decisions") == ["about someone else"]
    assert count(db, "predictions") == 3  # the opt-out and id-less predictions name nobody: kept
    contents = raw_bytes(store_path)
    assert not [key for key, reason in reasons.items() if reason.encode() in contents]


def test_after_an_erase_neither_the_database_nor_its_wal_holds_the_erased_bytes(
    running: AuditStore, store_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    role, reason = planted("input"), planted("reason")
    kept = planted("kept")
    mine = row_with_inputs(EMPLOYEE, role)
    running.record_blocking([mine, row_with_inputs("E2", kept)])
    decide(running, mine, reason)
    before = raw_bytes(store_path)
    assert role.encode() in before and reason.encode() in before  # the grep does find them

    assert audit_main(["--db", str(store_path), "erase", "--employee-id", EMPLOYEE]) == 0
    assert "erased 1 predictions and 1 decisions" in capsys.readouterr().out
    after = raw_bytes(store_path)
    assert role.encode() not in after, "erased inputs still on disk"
    assert reason.encode() not in after, "erased reason still on disk"
    wal = store_path.with_name(store_path.name + "-wal")
    assert not wal.exists() or wal.stat().st_size == 0  # checkpointed and truncated
    assert kept.encode() in after  # the other employee's row is untouched
    running.record_blocking([prediction("E3")])  # and the running service goes on writing
    assert count(str(store_path), "predictions") == 2


@pytest.fixture
def served(model_package: Path, tmp_path: Path) -> Iterator[Server]:
    """The service in a thread with the test package; no batch scores needed here."""
    settings = settings_for(tmp_path, model_package, tmp_path / "no-scores.csv")
    with serve_in_thread(settings) as server:
        yield server


def test_the_decision_api_takes_the_subject_of_an_opt_out_prediction(
    served: Server, capsys: pytest.CaptureFixture[str]
) -> None:
    with served.client(headers=bearer(make_token())) as client:
        reply = client.post("/predict", json={**SAMPLE_EMPLOYEE, "employee_id": EMPLOYEE, "opt_out": True})
    assert reply.status_code == 200, reply.text
    prediction_id = reply.json()["prediction_id"]
    reason = planted("api")
    body = {"prediction_id": prediction_id, "action": "no_action", "reason": reason}
    with served.client(headers=bearer(make_token("attrition:decide", sub="manager-1"))) as client:
        wrong = client.post("/decisions", json={**body, "employee_id": "not valid!"})
        stored = client.post("/decisions", json={**body, "employee_id": EMPLOYEE})
    assert wrong.status_code == 422 and wrong.json()["errors"][0]["field"] == "employee_id"
    assert stored.status_code == 201, stored.text
    assert stored.json()["employee_id"] == EMPLOYEE
    db = str(served.settings.audit_db)
    assert stored_rows(db, "SELECT employee_id FROM predictions") == [{"employee_id": None}]  # opt-out
    assert audit_main(["--db", db, "erase", "--employee-id", EMPLOYEE]) == 0
    assert f"erased 0 predictions and 1 decisions about {EMPLOYEE}" in capsys.readouterr().out
    assert stored_rows(db, "SELECT COUNT(*) AS n FROM decisions") == [{"n": 0}]


def test_a_decision_naming_another_employee_than_its_prediction_is_refused(running: AuditStore) -> None:
    from attrition.audit.errors import AuditInputError

    row = prediction("E1")
    running.record_blocking([row])
    with pytest.raises(AuditInputError, match="employee_id: is not the employee of this prediction"):
        decide(running, row, "mix-up", "E2")
    assert count(str(running.database.sqlite_path), "decisions") == 0
