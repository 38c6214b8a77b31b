"""Issue 27, findings 3 to 6 on the audit store itself, each reproduced against a real store.

3. the SQLite file (with its -wal and -shm) and export files were created world-readable (0644);
4. in fallback mode an opt-out row kept the batch score to the last digit, a join key into the
   nightly scores file;
5. `attrition audit purge --older-than 1s` wiped the whole store, and the service's database role
   needed DELETE (checked against the session's real PostgreSQL);
6. `--actor` was free text with nothing showing a later edit of the admin log.
"""

from __future__ import annotations

import asyncio
import csv
import json
import os
import pwd
import sqlite3
import stat
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from attrition.audit.command import main as audit_main
from attrition.audit.database import create_audit_engine, parse_audit_db
from attrition.audit.decisions import record_decision, validate_decision
from attrition.pipeline.score import main as score_main
from attrition.service.core.batch_scores import load_batch_scores
from attrition.service.core.metrics import ServiceMetrics
from attrition.service.core.scoring import score_employees
from attrition.service.schemas import EmployeeFeatures
from tests.audit.builders import column, count, open_store, prediction
from tests.support.postgres import PostgresServer
from tests.support.service import SAMPLE_EMPLOYEE

pytestmark = pytest.mark.security

DAY = 86400.0


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def usual_umask() -> Iterator[None]:
    """The umask most shells and containers run with (022: files 0644 unless asked otherwise)."""
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


# --- 3: file modes ------------------------------------------------------------------------------
@pytest.mark.usefixtures("usual_umask")
def test_the_store_its_wal_and_shm_and_exports_are_created_0600(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "audit" / "audit.sqlite"
    with open_store(str(db)) as store:
        store.record_blocking([prediction("E1")])
        files = [db, db.with_name("audit.sqlite-wal"), db.with_name("audit.sqlite-shm")]
        assert {f.name: mode(f) for f in files} == {f.name: 0o600 for f in files}
    out = tmp_path / "exports" / "E1.json"
    assert audit_main(["--db", str(db), "export", "--employee-id", "E1", "--out", str(out)]) == 0
    assert mode(out) == 0o600
    out.chmod(0o644)  # an earlier, too open export is replaced, not reused
    assert audit_main(["--db", str(db), "export", "--employee-id", "E1", "--out", str(out)]) == 0
    assert mode(out) == 0o600 and json.loads(out.read_text())["employee_id"] == "E1"
    migrated = tmp_path / "other.sqlite"
    assert audit_main(["--db", str(migrated), "migrate"]) == 0
    assert mode(migrated) == 0o600


# --- 4: an opt-out row must not be joinable to the nightly scores ---------------------------------
@pytest.fixture(scope="module")
def batch_scores(model_package: Path, dataset_csv: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The score stage's output for the 800-employee fixture roster (what the fallback answers from)."""
    out = tmp_path_factory.mktemp("security-scores") / "batch_scores.csv"
    assert score_main(["--package", str(model_package), "--data", str(dataset_csv), "--out", str(out)]) == 0
    return out


def people_sharing(stored: float, scores: list[float]) -> int:
    """How many employees of the scores file have `stored` as their score, at its stored precision."""
    decimals = len(repr(stored).partition(".")[2])
    return sum(1 for score in scores if round(score, decimals) == stored)


def test_fallback_opt_out_rows_store_no_score_that_leads_back_to_one_employee(
    batch_scores: Path, tmp_path: Path
) -> None:
    with batch_scores.open(newline="") as handle:
        roster = {row["employee_id"]: float(row["attrition_probability"]) for row in csv.DictReader(handle)}
    scores = list(roster.values())
    assert min(Counter(scores).values()) == 1  # some scores do belong to one employee alone
    employees = [
        EmployeeFeatures.model_validate({**SAMPLE_EMPLOYEE, "employee_id": employee_id, "opt_out": True})
        for employee_id in roster
    ]
    db = str(tmp_path / "audit.sqlite")
    with open_store(db) as store:
        answers = asyncio.run(
            score_employees(
                state=None,  # no model: the fallback answers every employee from the scores file
                scores=load_batch_scores(batch_scores),
                load_error="package missing",
                audit=store,
                metrics=ServiceMetrics(),
                caller="manager-1",
                employees=employees,
                endpoint="/predict/batch",
            )
        )
    assert {answer.source for answer in answers} == {"batch"} and len(answers) == len(roster)
    stored = column(db, "SELECT probability FROM predictions WHERE opt_out = 1")
    assert len(stored) == len(roster)
    identifying = [p for p in stored if isinstance(p, float) and people_sharing(p, scores) == 1]
    assert identifying == [], f"{len(identifying)} opt-out rows name their employee through the score"


# --- 5: retention policy and roles ---------------------------------------------------------------
def test_a_purge_horizon_below_the_retention_policy_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    db = str(tmp_path / "audit.sqlite")
    with open_store(db) as store:
        store.record_blocking(
            [prediction("E1", ts=time.time() - 60), prediction("E2", ts=time.time() - 40 * DAY)]
        )
    assert audit_main(["--db", db, "purge", "--older-than", "1s"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "the minimum is 180d (ATTRITION_AUDIT_RETENTION_DAYS)" in err
    assert "--force-below-retention" in err
    assert count(db, "predictions") == 2  # nothing was deleted

    monkeypatch.setenv("ATTRITION_AUDIT_RETENTION_DAYS", "30")  # the service's own setting
    assert audit_main(["--db", db, "purge", "--older-than", "29d"]) == 2
    assert "the minimum is 30d" in capsys.readouterr().err
    assert audit_main(["--db", db, "purge", "--older-than", "30d"]) == 0
    assert column(db, "SELECT employee_id FROM predictions") == ["E1"]
    assert audit_main(["--db", db, "purge", "--older-than", "1s", "--force-below-retention"]) == 0
    assert count(db, "predictions") == 0


def _login(postgres: PostgresServer, database_url: str, group: str) -> str:
    """A login role that is a member of `group`, and the store URL that logs in as it."""
    name = f"{group}_login"
    with postgres.admin() as admin:
        admin.execute(f'CREATE ROLE "{name}" LOGIN IN ROLE "{group}"')
    return database_url.replace("postgresql://postgres@", f"postgresql://{name}@", 1)


def test_the_service_role_may_not_delete_and_purges_run_as_their_own_role(
    postgres: PostgresServer, capsys: pytest.CaptureFixture[str]
) -> None:
    owner_url = postgres.migrated_database()
    suffix = uuid.uuid4().hex[:8]  # roles are cluster-wide: one pair per test
    service_group, purge_group = f"svc_{suffix}", f"purge_{suffix}"
    argv = ["--db", owner_url, "grant", "--service-role", service_group, "--purge-role", purge_group]
    assert audit_main(argv) == 0, capsys.readouterr().err
    service_url = _login(postgres, owner_url, service_group)
    purge_url = _login(postgres, owner_url, purge_group)

    old, fresh = prediction("E1", ts=time.time() - 400 * DAY), prediction("E2")
    with open_store(service_url) as store:  # the service: records and decisions work...
        store.record_blocking([old, fresh])
        record_decision(store.engine, validate_decision(fresh.prediction_id, "no_action", "seen", "mgr"))
        assert store.request_purge(180 * DAY).result(timeout=30) == 0  # ...its scheduled purge stands aside
    database = owner_url.split("@/", 1)[1].split("?", 1)[0]
    with psycopg.connect(
        host=postgres.socket_dir, user=f"{service_group}_login", dbname=database, autocommit=True
    ) as service:
        for statement in (
            "DELETE FROM predictions",
            "DELETE FROM decisions",
            "UPDATE admin_log SET actor = 'x'",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                service.execute(statement)  # refused by the database itself
    assert count(owner_url, "predictions") == 2

    assert audit_main(["--db", purge_url, "--actor", "cron", "purge", "--older-than", "180d"]) == 0
    assert "purged 1 predictions" in capsys.readouterr().out
    assert column(owner_url, "SELECT employee_id FROM predictions") == ["E2"]
    with (
        psycopg.connect(
            host=postgres.socket_dir, user=f"{purge_group}_login", dbname=database, autocommit=True
        ) as purger,
        pytest.raises(psycopg.errors.InsufficientPrivilege),
    ):
        purger.execute("UPDATE admin_log SET actor = 'x'")  # appends to the admin log, never edits it


def test_the_purge_command_reads_the_purge_role_url_from_its_own_setting(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    service_db, purge_db = tmp_path / "service.sqlite", tmp_path / "purge.sqlite"
    for db in (service_db, purge_db):
        with open_store(str(db)) as store:
            store.record_blocking([prediction("E1", ts=0.0)])
    url_file = tmp_path / "purge-db"
    url_file.write_text(f"sqlite:///{purge_db}\n")
    monkeypatch.setenv("ATTRITION_AUDIT_DB", str(service_db))
    monkeypatch.setenv("ATTRITION_AUDIT_PURGE_DB_FILE", str(url_file))  # no password in any argv
    assert audit_main(["purge", "--older-than", "180d"]) == 0
    assert count(str(purge_db), "predictions") == 0 and count(str(service_db), "predictions") == 1


# --- 6: who ran it, and tamper evidence ----------------------------------------------------------
@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return str(tmp_path / "audit.sqlite")
    server: PostgresServer = request.getfixturevalue("postgres")
    return server.migrated_database()


def _edit(url: str, sql: str) -> None:
    """Change the admin log behind the tools' back, as someone with write access could."""
    if "://" not in url:
        with sqlite3.connect(url) as db:
            db.execute(sql)
        return
    engine = create_audit_engine(parse_audit_db(url))
    try:
        with engine.begin() as connection:
            connection.exec_driver_sql(sql)
    finally:
        engine.dispose()


def test_the_admin_log_records_the_os_user_and_an_edit_is_detected(
    store: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with open_store(store) as opened:
        opened.record_blocking([prediction("E1", ts=0.0), prediction("E2"), prediction("E3")])
    for argv in (
        ["--actor", "dpo", "export", "--employee-id", "E2"],
        ["--actor", "dpo", "erase", "--employee-id", "E2"],
        ["--actor", "cron", "purge", "--older-than", "180d"],
        ["--actor", "dpo", "erase", "--employee-id", "E3"],
    ):
        assert audit_main(["--db", store, *argv]) == 0
    me = pwd.getpwuid(os.geteuid()).pw_name
    assert column(store, "SELECT actor || '/' || os_user FROM admin_log ORDER BY id") == [
        f"{actor}/{me}" for actor in ("dpo", "dpo", "cron", "dpo")
    ]
    capsys.readouterr()
    assert audit_main(["--db", store, "verify"]) == 0
    assert "intact: 4 entries, head " in capsys.readouterr().out

    _edit(store, 'UPDATE admin_log SET detail = \'{"decisions": 0, "predictions": 0}\' WHERE id = 2')
    assert audit_main(["--db", store, "verify"]) == 3
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "entry 2 does not verify" in err

    _edit(store, "DELETE FROM admin_log WHERE id = 2")  # hiding the edited entry breaks the next link
    assert audit_main(["--db", store, "verify"]) == 3
    assert "entry 3 does not verify" in capsys.readouterr().err
