"""ATTRITION_AUDIT_DB: one URL for either backend, and the engines that talk to it.

Accepted: a bare path (`audit/audit.sqlite`), `sqlite:///relative/or//absolute/path`, or
`postgresql://user:password@host:port/db` (also `postgres://` and `postgresql+psycopg://`), always
driven by psycopg 3. SQLAlchemy Core gives both backends one set of table definitions and queries,
and Alembic (its migration tool) versions the schema; hand-writing dialect SQL twice would be the
alternative. Errors name the setting and never echo a password.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import ArgumentError

from attrition.audit.errors import AuditConfigError
from attrition.audit.files import create_private_file

SETTING = "ATTRITION_AUDIT_DB"
DEFAULT_AUDIT_DB = "audit/audit.sqlite"
ALLOWED = "allowed: a SQLite file path, sqlite:///path or postgresql://user@host:port/database"
CONNECT_TIMEOUT_S = 5
SQLITE_BUSY_TIMEOUT_S = 10.0
_POSTGRES_SCHEMES = ("postgresql", "postgres", "postgresql+psycopg")


@dataclass(frozen=True)
class AuditDatabase:
    """A parsed, validated ATTRITION_AUDIT_DB value."""

    url: URL

    @property
    def backend(self) -> str:
        """'sqlite' or 'postgresql'."""
        return self.url.get_backend_name()

    @property
    def sqlite_path(self) -> Path | None:
        """The SQLite file, or None for PostgreSQL."""
        return Path(self.url.database or "") if self.backend == "sqlite" else None

    def display(self) -> str:
        """The URL with any password masked, safe for logs and error lines."""
        return self.url.render_as_string(hide_password=True)


def parse_audit_db(text: str) -> AuditDatabase:
    """Validate an ATTRITION_AUDIT_DB value; AuditConfigError (one line) for anything else."""
    value = text.strip()
    if not value:
        raise AuditConfigError(f"{SETTING} is empty; {ALLOWED}")
    if "://" not in value:
        return AuditDatabase(URL.create("sqlite", database=value))
    scheme = value.split("://", 1)[0].lower()
    try:
        url = make_url(value)
    except (ArgumentError, ValueError) as error:
        raise AuditConfigError(f"{SETTING} is not a valid database URL ({error}); {ALLOWED}") from None
    if scheme == "sqlite":
        if not url.database or url.database == ":memory:" or url.host:
            raise AuditConfigError(f"{SETTING} sqlite URL needs a file path (sqlite:///path); {ALLOWED}")
        return AuditDatabase(url)
    if scheme in _POSTGRES_SCHEMES:
        if not url.database:
            raise AuditConfigError(f"{SETTING} PostgreSQL URL names no database; {ALLOWED}")
        return AuditDatabase(url.set(drivername="postgresql+psycopg"))
    raise AuditConfigError(f"{SETTING} scheme {scheme!r} is not supported; {ALLOWED}")


def sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets the CLI and the monitor read while the service writes. synchronous=NORMAL: a commit
    # is in the WAL file when it returns, so it survives a crash or SIGKILL of the service, but not
    # a power cut of the machine (FULL would add an fsync per commit: measured 4 ms here, 1,164
    # instead of 10,536 awaited records/s at 8 concurrent requests). PostgreSQL fsyncs every commit.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")  # decisions cascade with their prediction
    cursor.close()


def create_audit_engine(database: AuditDatabase, *, must_exist: bool = False) -> Engine:
    """An engine for the store; `must_exist` refuses to create a missing SQLite file.

    A new SQLite file is created here, 0600 (attrition.audit.files), before SQLite would create it
    with the umask's mode.
    """
    path = database.sqlite_path
    if path is not None:
        if must_exist and not path.is_file():
            raise AuditConfigError(f"{SETTING}: {path} does not exist; point it at an existing audit store")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            create_private_file(path)
        except OSError as error:
            raise AuditConfigError(f"{SETTING}: cannot create {path}: {error.strerror}") from None
        engine = sa.create_engine(
            database.url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S, "check_same_thread": False}
        )
        sa.event.listen(engine, "connect", sqlite_pragmas)
        return engine
    return sa.create_engine(
        database.url,
        pool_pre_ping=True,
        connect_args={"connect_timeout": CONNECT_TIMEOUT_S, "application_name": "attrition-audit"},
    )


def check_reachable(engine: Engine, database: AuditDatabase) -> None:
    """Open one connection now so an unreachable store fails start-up in one line."""
    try:
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
    except sa.exc.DBAPIError as error:
        raise AuditConfigError(
            f"{SETTING}: cannot connect to {database.display()}: {one_line(error.orig or error)}"
        ) from None


def one_line(error: BaseException) -> str:
    """The first line of an exception's message (drivers like multi-line details)."""
    lines = str(error).strip().splitlines()
    return lines[0] if lines else type(error).__name__


def location_from_environ(names: Sequence[str], environ: Mapping[str, str]) -> tuple[str, str] | None:
    """(value, where it came from) from the first of `names` (or its ``_FILE``, how Vault and Kubernetes
    mount secrets) that is set, else None. A URL with a password stays out of argv this way."""
    for name in names:
        if environ.get(name, "").strip():
            return environ[name], name
        file = environ.get(f"{name}_FILE", "").strip()
        if file:
            try:
                return Path(file).read_text(encoding="utf-8").strip(), f"{name}_FILE {file}"
            except (OSError, UnicodeDecodeError) as error:
                reason = error.strerror if isinstance(error, OSError) else "not UTF-8 text"
                raise AuditConfigError(f"{name}_FILE {file}: {reason}") from None
    return None
