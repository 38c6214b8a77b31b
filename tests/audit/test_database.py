"""ATTRITION_AUDIT_DB parsing and start-up failures: one line naming the setting, nothing created."""

from __future__ import annotations

from pathlib import Path

import pytest

from attrition.audit.database import check_reachable, create_audit_engine, parse_audit_db
from attrition.audit.errors import AuditConfigError


@pytest.mark.parametrize(
    ("text", "backend", "database"),
    [
        ("audit/audit.sqlite", "sqlite", "audit/audit.sqlite"),
        ("/var/lib/attrition/audit.db", "sqlite", "/var/lib/attrition/audit.db"),
        ("sqlite:///audit/a.sqlite", "sqlite", "audit/a.sqlite"),
        ("sqlite:////abs/a.sqlite", "sqlite", "/abs/a.sqlite"),
        ("postgresql://app:pw@db.internal:5432/audit", "postgresql", "audit"),
        ("postgres://app@db/audit", "postgresql", "audit"),
        ("postgresql+psycopg://app@db/audit", "postgresql", "audit"),
        ("postgresql://postgres@/audit?host=/run/pg", "postgresql", "audit"),
    ],
)
def test_accepted_values(text: str, backend: str, database: str) -> None:
    parsed = parse_audit_db(text)
    assert (parsed.backend, parsed.url.database) == (backend, database)
    if backend == "postgresql":
        assert parsed.url.drivername == "postgresql+psycopg"  # always psycopg 3


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", "is empty"),
        ("   ", "is empty"),
        ("mysql://u@h/db", "scheme 'mysql' is not supported"),
        ("sqlite://", "needs a file path"),
        ("sqlite:///:memory:", "needs a file path"),
        ("postgresql://u@host", "names no database"),
        ("postgresql://u@host:notaport/db", "not a valid database URL"),
        ("://nothing", "not a valid database URL"),
    ],
)
def test_malformed_values_are_one_line_naming_the_setting(text: str, says: str) -> None:
    with pytest.raises(AuditConfigError) as caught:
        parse_audit_db(text)
    message = str(caught.value)
    assert message.startswith("ATTRITION_AUDIT_DB") and says in message and "\n" not in message
    assert "allowed:" in message


def test_display_and_errors_never_show_the_password() -> None:
    parsed = parse_audit_db("postgresql://app:s3cret@127.0.0.1:1/audit")
    assert "s3cret" not in parsed.display()
    engine = create_audit_engine(parsed)
    with pytest.raises(AuditConfigError) as caught:
        check_reachable(engine, parsed)  # nothing listens on port 1
    engine.dispose()
    message = str(caught.value)
    assert "cannot connect" in message and "ATTRITION_AUDIT_DB" in message
    assert "s3cret" not in message and "\n" not in message


def test_must_exist_refuses_a_missing_sqlite_file_without_creating_it(tmp_path: Path) -> None:
    target = tmp_path / "nowhere" / "audit.sqlite"
    with pytest.raises(AuditConfigError, match="does not exist"):
        create_audit_engine(parse_audit_db(str(target)), must_exist=True)
    assert not target.parent.exists()
