"""Create or upgrade the audit schema with Alembic, and refuse a schema newer than this code.

Alembic is SQLAlchemy's own migration tool: versioned revisions, a version table in the database,
batch mode for SQLite's limited ALTER TABLE. It runs programmatically here (no alembic.ini), so
the service, `attrition audit migrate` and the tests all upgrade the same way. On PostgreSQL an
advisory lock serialises replicas that start together.
"""

from __future__ import annotations

import functools
import logging
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection, Engine

from attrition.audit.database import SETTING, one_line
from attrition.audit.errors import AuditConfigError

log = logging.getLogger("attrition.audit.migrate")

MIGRATIONS = Path(__file__).with_name("migrations")
MIGRATION_LOCK_KEY = 0x617474726D6967  # "attrmig": one advisory lock id for schema changes


def alembic_config(connection: Connection | None = None) -> Config:
    """An in-memory Alembic config pointing at this package's revisions."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


@functools.cache
def _scripts() -> ScriptDirectory:
    """The revision files, read once per process: Alembic imports every file on each new directory."""
    return ScriptDirectory.from_config(alembic_config())


def head_revision() -> str:
    """The newest revision this code knows."""
    head = _scripts().get_current_head()
    assert head is not None
    return head


def current_revision(connection: Connection) -> str | None:
    """The revision stamped in the database (None: never migrated)."""
    return MigrationContext.configure(connection).get_current_revision()


def schema_state(engine: Engine) -> str:
    """'current', 'outdated' (upgrade needed) or 'empty'; AuditConfigError if newer than the code."""
    with engine.connect() as connection:
        revision = current_revision(connection)
        has_predictions = sa.inspect(connection).has_table("predictions")
    return _classify(revision, has_predictions)


def _classify(revision: str | None, has_predictions: bool) -> str:
    if revision is None:
        return "outdated" if has_predictions else "empty"  # a pre-migration SQLite store
    known = {script.revision for script in _scripts().walk_revisions()}
    if revision not in known:
        raise AuditConfigError(
            f"{SETTING}: the audit schema is at revision {revision!r}, newer than this code "
            f"(which knows up to {head_revision()!r}); run a newer attrition, nothing was changed"
        )
    return "current" if revision == head_revision() else "outdated"


def upgrade(engine: Engine) -> tuple[str | None, str]:
    """Bring the schema to head; returns (revision before, revision after). Never drops rows."""
    try:
        with engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(sa.select(sa.func.pg_advisory_xact_lock(MIGRATION_LOCK_KEY)))
            before = current_revision(connection)
            _classify(before, sa.inspect(connection).has_table("predictions"))  # newer: refuse
            if before != head_revision():
                command.upgrade(alembic_config(connection), "head")
                log.info("audit schema upgraded from %s to %s", before or "none", head_revision())
    except sa.exc.DBAPIError as error:
        raise AuditConfigError(f"{SETTING}: schema upgrade failed: {one_line(error.orig or error)}") from None
    return before, head_revision()
