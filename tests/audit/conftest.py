"""Audit fixtures: a store URL per test on each backend (the session PostgreSQL: tests/conftest.py).

`store_url` and `pg_url` hand out stores whose schema is already at head, copied from a template
migrated once per session; the migration tests ask for `empty_store_url` or `empty_pg_url`.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.support.postgres import PostgresServer


@pytest.fixture
def pg_url(postgres: PostgresServer) -> str:
    """A PostgreSQL database of this test's own, schema at head, no rows."""
    return postgres.migrated_database()


@pytest.fixture
def empty_pg_url(postgres: PostgresServer) -> str:
    """An empty PostgreSQL database of this test's own (never migrated)."""
    return postgres.new_database()


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite audit store migrated to head once per session (copied, never opened, by the tests)."""
    from attrition.audit import migrate
    from attrition.audit.database import create_audit_engine, parse_audit_db

    path = tmp_path_factory.mktemp("audit-template") / "audit.sqlite"
    engine = create_audit_engine(parse_audit_db(str(path)))
    try:
        migrate.upgrade(engine)
    finally:
        engine.dispose()
    return path


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A store on each backend in turn, schema at head, no rows."""
    if request.param == "sqlite":
        target = tmp_path / "audit" / "audit.sqlite"
        target.parent.mkdir()
        shutil.copyfile(request.getfixturevalue("migrated_sqlite"), target)
        return str(target)
    server: PostgresServer = request.getfixturevalue("postgres")
    return server.migrated_database()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def empty_store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty store on each backend in turn (never migrated)."""
    if request.param == "sqlite":
        return str(tmp_path / "audit" / "audit.sqlite")
    server: PostgresServer = request.getfixturevalue("postgres")
    return server.new_database()
