"""Audit fixtures: a fresh store URL per test on each backend (the session PostgreSQL: tests/conftest.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.postgres import PostgresServer


@pytest.fixture
def pg_url(postgres: PostgresServer) -> str:
    """An empty PostgreSQL database of this test's own."""
    return postgres.new_database()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty store on each backend in turn."""
    if request.param == "sqlite":
        return str(tmp_path / "audit" / "audit.sqlite")
    server: PostgresServer = request.getfixturevalue("postgres")
    return server.new_database()
