"""`attrition audit`: migrate, purge, export and erase from the command line; bad input is exit 2."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from attrition.audit.command import main
from tests.audit.builders import count, open_store, prediction


def test_commands_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "audit.sqlite")
    assert main(["--db", db, "migrate"]) == 0
    assert "none -> 0005" in capsys.readouterr().out
    with open_store(db) as store:
        store.record_blocking([prediction("E1", ts=time.time() - 400 * 86400), prediction("E1")])

    assert main(["--db", db, "purge", "--older-than", "180d"]) == 0
    assert "purged 1 predictions and 0 decisions older than 180d" in capsys.readouterr().out

    out = tmp_path / "export" / "E1.json"
    assert main(["--db", db, "--actor", "dpo", "export", "--employee-id", "E1", "--out", str(out)]) == 0
    assert len(json.loads(out.read_text())["predictions"]) == 1
    assert main(["--db", db, "export", "--employee-id", "E1"]) == 0
    assert json.loads(capsys.readouterr().out.split("\n", 1)[1])["employee_id"] == "E1"

    assert main(["--db", db, "erase", "--employee-id", "E1"]) == 0
    assert "erased 1 predictions and 0 decisions about E1" in capsys.readouterr().out
    assert count(db, "predictions") == 0 and count(db, "admin_log") == 4


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["purge", "--older-than", "180x"], "invalid duration '180x'"),
        (["export", "--employee-id", ""], "is not an employee id"),
        (["purge", "--older-than", "180d"], "does not exist"),
        (["purge", "--older-than", "1s"], "the minimum is 180d (ATTRITION_AUDIT_RETENTION_DAYS)"),
        (["--db", "mysql://h/db", "migrate"], "scheme 'mysql' is not supported"),
        (["--db", "postgresql://u:pw@127.0.0.1:1/db", "erase", "--employee-id", "E1"], "cannot connect"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    argv: list[str],
    says: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ATTRITION_AUDIT_DB", str(tmp_path / "missing.sqlite"))
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and says in err
    assert not (tmp_path / "missing.sqlite").exists()


def test_an_unmigrated_store_is_not_changed_by_purge(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "audit.sqlite"
    import sqlite3

    with sqlite3.connect(db) as connection:
        connection.execute("CREATE TABLE predictions (id INTEGER PRIMARY KEY, ts REAL)")
    assert main(["--db", str(db), "purge", "--older-than", "180d"]) == 2
    assert "run `attrition audit migrate` first" in capsys.readouterr().err


def test_db_is_accepted_after_the_subcommand_too(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "audit.sqlite")
    assert main(["migrate", "--db", db]) == 0
    assert main(["purge", "--older-than", "180d", "--db", db, "--actor", "cron"]) == 0
    assert f"from sqlite:///{db}" in capsys.readouterr().out


def test_grant_prints_its_sql_and_refuses_what_it_cannot_do(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["grant", "--service-role", "svc", "--purge-role", "purger", "--print-sql"]) == 0
    sql = capsys.readouterr().out
    assert 'GRANT SELECT, INSERT ON TABLE predictions, decisions TO "svc";' in sql
    assert 'GRANT SELECT, DELETE ON TABLE predictions, decisions TO "purger";' in sql
    to_service = [line for line in sql.splitlines() if line.startswith("GRANT") and '"svc"' in line]
    assert len(to_service) == 3 and not [line for line in to_service if "DELETE" in line or "UPDATE" in line]
    db = str(tmp_path / "audit.sqlite")
    assert main(["--db", db, "migrate"]) == 0
    for argv, says in (
        (["--db", db, "grant"], "roles exist on PostgreSQL only"),
        (
            ["grant", "--service-role", "Svc; DROP", "--print-sql"],
            "--service-role: 'Svc; DROP' is not a role",
        ),
        (["grant", "--service-role", "same", "--purge-role", "same"], "--purge-role: must differ"),
    ):
        capsys.readouterr()
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: ") and err.count("\n") == 1 and says in err
