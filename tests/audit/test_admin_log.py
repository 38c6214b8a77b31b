"""The admin log's hash chain: one unforked chain under concurrent commands, kept across migration."""

from __future__ import annotations

import threading
from pathlib import Path

import sqlalchemy as sa
from alembic import command

from attrition.audit import migrate
from attrition.audit.admin_log import verify_admin_log
from attrition.audit.database import create_audit_engine, parse_audit_db
from attrition.audit.schema import admin_log
from attrition.audit.subject_rights import export_employee
from tests.audit.builders import column, open_store, prediction


def test_concurrent_commands_append_one_chain(store_url: str) -> None:
    with open_store(store_url) as store:
        store.record_blocking([prediction(f"E{n}") for n in range(4)])
    errors: list[BaseException] = []

    def exports(n: int) -> None:
        engine = create_audit_engine(parse_audit_db(store_url))  # one per "process"
        try:
            for _ in range(5):
                export_employee(engine, f"E{n}", actor=f"dpo-{n}")
        except BaseException as error:
            errors.append(error)
        finally:
            engine.dispose()

    threads = [threading.Thread(target=exports, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert errors == []
    engine = create_audit_engine(parse_audit_db(store_url))
    try:
        report = verify_admin_log(engine)
    finally:
        engine.dispose()
    assert report.intact and report.entries == 20
    assert report.head == column(store_url, "SELECT entry_hash FROM admin_log ORDER BY id DESC")[0]


def test_upgrading_to_0003_gives_decisions_their_subject_and_chains_the_old_log(tmp_path: Path) -> None:
    url = str(tmp_path / "audit.sqlite")
    engine = create_audit_engine(parse_audit_db(url))
    try:
        with engine.begin() as connection:
            command.upgrade(migrate.alembic_config(connection), "0002")
            connection.exec_driver_sql(
                "INSERT INTO predictions (ts, created_at, caller, endpoint, source, opt_out, employee_id,"
                " prediction_id) VALUES (1, 't', 'c', '/predict', 'model', 0, 'E1', 'p1'),"
                " (2, 't', 'c', '/predict', 'model', 1, NULL, 'p2')"
            )
            connection.exec_driver_sql(
                "INSERT INTO decisions (decision_id, prediction_id, ts, created_at, decided_by, action,"
                " reason) VALUES ('d1', 'p1', 3, 't', 'm', 'no_action', 'r'),"
                " ('d2', 'p2', 4, 't', 'm', 'no_action', 'r')"
            )
            connection.exec_driver_sql(
                "INSERT INTO admin_log (ts, created_at, actor, action, employee_id, detail) VALUES"
                " (5, 't', 'dpo', 'export', 'E1', '{}'), (6, 't', 'dpo', 'erase', 'E9', '{}')"
            )
        assert migrate.upgrade(engine) == ("0002", migrate.head_revision())
        assert verify_admin_log(engine).entries == 2 and verify_admin_log(engine).intact
        with engine.connect() as connection:
            subjects = connection.exec_driver_sql(
                "SELECT decision_id, employee_id FROM decisions ORDER BY id"
            ).all()
            assert [tuple(row) for row in subjects] == [("d1", "E1"), ("d2", None)]
            assert connection.execute(sa.select(admin_log.c.os_user)).scalars().all() == [None, None]
    finally:
        engine.dispose()
