"""A real PostgreSQL 16 for the audit and service tests (and the benchmarks), from the binaries the
`pgserver` wheel bundles.

pgserver (PyPI) ships PostgreSQL 16 built for manylinux, so no system package is needed. Its own
start-up helper is not used: a test here stops and starts the server to simulate an outage, and
that helper loses track of a restarted server at clean-up. PostgreSQL refuses to run as root, so
as root the server runs as a system user `pgserver` (created once, as pgserver itself does). It
listens on a Unix socket in its data directory only, never on the network; each test gets its own
database (an empty one, or a copy of a template migrated once).
"""

from __future__ import annotations

import contextlib
import importlib.util
import itertools
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

COMMAND_TIMEOUT_S = 60
SERVER_USER = "pgserver"


def _binaries() -> Path:
    # Located, not imported: importing pgserver runs its own set-up (lock files, warnings).
    spec = importlib.util.find_spec("pgserver")
    assert spec is not None and spec.submodule_search_locations, "pgserver is in requirements-dev.txt"
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


def _run_as_server_user() -> dict[str, Any]:
    """subprocess keyword arguments that drop root for PostgreSQL's sake."""
    if os.geteuid() != 0:
        return {}
    import pwd

    try:
        pwd.getpwnam(SERVER_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", SERVER_USER], check=True, timeout=30)
    return {"user": SERVER_USER, "group": SERVER_USER}


@dataclass
class PostgresServer:
    """One running server; `url(db)` is an ATTRITION_AUDIT_DB value for a database on it."""

    pgdata: Path
    _names: itertools.count[int] = field(default_factory=itertools.count)
    _migrated_template: str | None = None

    @classmethod
    def create(cls, directory: Path) -> PostgresServer:
        """initdb in `directory` (which must be traversable by the server user) and start."""
        directory.chmod(0o755)
        pgdata = directory / "data"
        pgdata.mkdir()
        if os.geteuid() == 0:
            import shutil

            shutil.chown(pgdata, SERVER_USER if _run_as_server_user() else None, SERVER_USER)
        server = cls(pgdata)
        server._command("initdb", "-D", str(pgdata), "-U", "postgres", "--auth=trust", "--encoding=UTF8")
        server.start()
        return server

    @property
    def socket_dir(self) -> str:
        return str(self.pgdata)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@/{database}?host={self.socket_dir}"

    def admin(self) -> psycopg.Connection[tuple[object, ...]]:
        return psycopg.connect(host=self.socket_dir, user="postgres", dbname="postgres", autocommit=True)

    def new_database(self, template: str | None = None) -> str:
        """A fresh database, empty or a copy of database `template`; returns its ATTRITION_AUDIT_DB URL."""
        return self.url(self._create(template))

    def _create(self, template: str | None = None) -> str:
        name = f"audit_{os.getpid()}_{next(self._names)}"
        with self.admin() as connection:
            connection.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
        return name

    def migrated_database(self) -> str:
        """A fresh database whose audit schema is at head: a copy of a template migrated once per server
        (CREATE DATABASE ... TEMPLATE copies it in a few milliseconds, instead of running Alembic)."""
        if not self._migrated_template:
            from attrition.audit import migrate
            from attrition.audit.database import create_audit_engine, parse_audit_db

            name = self._create()
            engine = create_audit_engine(parse_audit_db(self.url(name)))
            try:
                migrate.upgrade(engine)
            finally:
                engine.dispose()  # no connection may remain on a template database
            self._migrated_template = name
        return self.new_database(template=self._migrated_template)

    def _command(self, binary: str, *args: str) -> None:
        done = subprocess.run(
            [str(_binaries() / binary), *args],
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT_S,
            check=False,
            **_run_as_server_user(),
        )
        if done.returncode != 0:
            raise RuntimeError(
                f"{binary} {' '.join(args)} failed: {done.stderr.strip() or done.stdout.strip()}"
            )

    def _pg_ctl(self, *args: str) -> None:
        self._command("pg_ctl", "-D", str(self.pgdata), "-w", "-t", str(COMMAND_TIMEOUT_S), *args)

    def start(self) -> None:
        """Start and wait until it accepts connections (pg_ctl -w, bounded by its -t)."""
        log = str(self.pgdata / "server.log")
        # fsync stays on: the tests check durability claims, so the server must make them honestly.
        self._pg_ctl("-l", log, "-o", f"-h '' -k {self.socket_dir} -c max_connections=50", "start")

    def stop(self, mode: str = "fast") -> None:
        """`fast` cuts every client connection, as a crash or a failover does."""
        self._pg_ctl("-m", mode, "stop")


@contextlib.contextmanager
def temporary_postgres(prefix: str = "attrition-pg-") -> Iterator[PostgresServer]:
    """A server in a fresh temporary directory, stopped and deleted afterwards.

    Not under pytest's basetemp: every pytest session on the machine resets that to mode 0700,
    which locks out the server's own (non-root) user.
    """
    directory = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        server = PostgresServer.create(directory)
        try:
            yield server
        finally:
            server.stop("immediate")  # the data is thrown away: no shutdown checkpoint needed
    finally:
        shutil.rmtree(directory, ignore_errors=True)
