"""Versioned schema: a pre-migration SQLite store upgrades with every row kept; newer is refused."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from attrition.audit import migrate
from attrition.audit.command import main as audit_main
from attrition.audit.database import create_audit_engine, parse_audit_db
from attrition.audit.errors import AuditConfigError
from attrition.audit.records import PredictionRow
from attrition.audit.schema import metadata
from attrition.audit.writer import AuditStore
from tests.audit.builders import FEATURES, column, count, open_store, prediction

# The store's schema as service/audit.py created it before migrations existed (the last release).
LEGACY_SCHEMA = """
CREATE TABLE IF NOT EXISTS predictions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ts REAL NOT NULL,
    created_at TEXT NOT NULL,
    caller TEXT NOT NULL,
    endpoint TEXT NOT NULL,
    model_version TEXT,
    source TEXT NOT NULL,
    opt_out INTEGER NOT NULL,
    employee_id TEXT,
    inputs TEXT,
    probability REAL,
    decision INTEGER
);
CREATE INDEX IF NOT EXISTS predictions_ts ON predictions (ts);
"""


def legacy_store(path: Path, rows: int) -> list[tuple[object, ...]]:
    """A SQLite file as the last release left it, with `rows` predictions; returns them."""
    with sqlite3.connect(path) as db:
        db.executescript(LEGACY_SCHEMA)
        db.executemany(
            "INSERT INTO predictions (ts, created_at, caller, endpoint, model_version, source, opt_out,"
            " employee_id, inputs, probability, decision) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    1000.0 + i,
                    "t",
                    "bob",
                    "/predict",
                    "v1",
                    "model",
                    i % 3 == 0,
                    None if i % 3 == 0 else f"E{i}",
                    None if i % 3 == 0 else '{"age": 30}',
                    0.5,
                    1,
                )
                for i in range(rows)
            ],
        )
    with sqlite3.connect(path) as db:
        return db.execute("SELECT * FROM predictions ORDER BY id").fetchall()


def test_upgrading_a_legacy_sqlite_store_keeps_every_row(tmp_path: Path) -> None:
    path = tmp_path / "audit.sqlite"
    before = legacy_store(path, 250)
    engine = create_audit_engine(parse_audit_db(str(path)))
    assert migrate.schema_state(engine) == "outdated"
    assert migrate.upgrade(engine) == (None, migrate.head_revision())
    assert migrate.schema_state(engine) == "current"
    assert migrate.upgrade(engine) == (migrate.head_revision(), migrate.head_revision())  # no-op
    engine.dispose()
    with sqlite3.connect(path) as db:
        after = db.execute("SELECT * FROM predictions ORDER BY id").fetchall()
        ids = [r[0] for r in db.execute("SELECT prediction_id FROM predictions ORDER BY id")]
    assert [row[:12] for row in after] == before  # same ids, same values, same order
    assert ids == [f"legacy-{row[0]}" for row in before]
    with open_store(str(path)) as store:  # and the upgraded file takes new rows
        store.record_blocking([prediction("E999")])
    assert count(str(path), "predictions") == 251
    assert max(column(str(path), "SELECT id FROM predictions")) == 251  # row ids keep counting up


def test_a_schema_newer_than_the_code_is_refused_and_left_untouched(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "audit.sqlite"
    with open_store(str(path)) as store:
        store.record_blocking([prediction()])
    with sqlite3.connect(path) as db:
        db.execute("UPDATE alembic_version SET version_num = '0099'")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    with pytest.raises(AuditConfigError, match="revision '0099', newer than this code"):
        AuditStore(str(path)).open()
    assert audit_main(["--db", str(path), "migrate"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ATTRITION_AUDIT_DB") and err.count("\n") == 1
    assert hashlib.sha256(path.read_bytes()).hexdigest() == digest


def test_a_store_that_may_not_upgrade_names_the_migrate_command(tmp_path: Path) -> None:
    path = tmp_path / "audit.sqlite"
    legacy_store(path, 3)
    with pytest.raises(AuditConfigError, match="attrition audit migrate"):
        AuditStore(str(path), upgrade_schema=False).open()
    with sqlite3.connect(path) as db:  # nothing was changed
        assert db.execute("SELECT name FROM sqlite_master WHERE name = 'alembic_version'").fetchall() == []


def test_the_head_migration_builds_exactly_the_tables_the_code_uses(empty_store_url: str) -> None:
    engine = create_audit_engine(parse_audit_db(empty_store_url))
    migrate.upgrade(engine)
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), metadata)
    engine.dispose()
    assert differences == []


def test_replicas_starting_together_upgrade_once(empty_pg_url: str) -> None:
    pg_url = empty_pg_url
    results: list[tuple[str | None, str]] = []
    errors: list[BaseException] = []

    def start() -> None:
        engine = create_audit_engine(parse_audit_db(pg_url))
        try:
            results.append(migrate.upgrade(engine))
        except BaseException as error:
            errors.append(error)
        finally:
            engine.dispose()

    threads = [threading.Thread(target=start) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    head = migrate.head_revision()
    assert sorted(before or "none" for before, _ in results) == [head, head, "none"]
    assert column(pg_url, "SELECT version_num FROM alembic_version") == [migrate.head_revision()]
    assert sa.inspect  # the schema is usable right away:
    with open_store(pg_url) as store:
        store.record_blocking([prediction()])


def test_upgrading_to_0004_keeps_every_prediction_with_no_feature_origin(empty_store_url: str) -> None:
    """Revision 0004 adds where looked-up features came from; rows before it had theirs sent."""
    engine = create_audit_engine(parse_audit_db(empty_store_url))
    try:
        with engine.begin() as connection:
            command.upgrade(migrate.alembic_config(connection), "0003")
            connection.exec_driver_sql(
                "INSERT INTO predictions (ts, created_at, caller, endpoint, model_version, source, opt_out,"
                " employee_id, inputs, probability, decision, prediction_id) VALUES"
                " (1, 't', 'c', '/predict', 'v1', 'model', 0, 'E1', '{\"age\": 30}', 0.5, 1, 'p1'),"
                " (2, 't', 'c', '/predict', 'v1', 'model', 1, NULL, NULL, 0.25, 0, 'p2')"
            )
        assert migrate.upgrade(engine) == ("0003", migrate.head_revision())
    finally:
        engine.dispose()
    kept = column(empty_store_url, "SELECT prediction_id FROM predictions ORDER BY id")
    assert kept == ["p1", "p2"]
    assert column(
        empty_store_url,
        "SELECT COUNT(*) FROM predictions WHERE feature_table_version IS NULL AND features_as_of IS NULL",
    ) == [2]
    looked_up = PredictionRow.for_prediction(
        caller="c",
        endpoint="/predict",
        model_version="v1",
        source="model",
        opt_out=False,
        employee_id="E2",
        inputs=dict(FEATURES),
        probability=0.5,
        decision=True,
        feature_table_version=12,
        features_as_of=date(2024, 3, 31),
    )
    with open_store(empty_store_url) as store:
        store.record_blocking([looked_up])
    stored = column(
        empty_store_url,
        "SELECT feature_table_version || ' ' || features_as_of FROM predictions WHERE employee_id = 'E2'",
    )
    assert stored == ["12 2024-03-31"]


def test_upgrading_to_0005_keeps_every_prediction_without_reasons(empty_store_url: str) -> None:
    """Revision 0005 adds the reasons a live answer gave; rows before it gave none."""
    engine = create_audit_engine(parse_audit_db(empty_store_url))
    try:
        with engine.begin() as connection:
            command.upgrade(migrate.alembic_config(connection), "0004")
            connection.exec_driver_sql(
                "INSERT INTO predictions (ts, created_at, caller, endpoint, model_version, source, opt_out,"
                " employee_id, inputs, probability, decision, prediction_id) VALUES"
                " (1, 't', 'c', '/predict', 'v1', 'model', 0, 'E1', '{\"age\": 30}', 0.5, 1, 'p1')"
            )
        assert migrate.upgrade(engine) == ("0004", migrate.head_revision())
    finally:
        engine.dispose()
    assert column(empty_store_url, "SELECT COUNT(*) FROM predictions WHERE reasons IS NULL") == [1]
    explained = PredictionRow.for_prediction(
        caller="c",
        endpoint="/predict",
        model_version="v1",
        source="model",
        opt_out=False,
        employee_id="E2",
        inputs=dict(FEATURES),
        probability=0.5,
        decision=True,
        reasons={"baseline": 0.2, "contributions": {"job_role": 0.3}, "reasons": ["job role Sales: +0.30"]},
    )
    with open_store(empty_store_url) as store:
        store.record_blocking([explained])
    stored = column(empty_store_url, "SELECT reasons FROM predictions WHERE employee_id = 'E2'")
    assert json.loads(stored[0])["reasons"] == ["job role Sales: +0.30"]
