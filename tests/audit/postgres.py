"""A real PostgreSQL 16 for the audit tests: pgserver's bundled server in a temp directory.

pgserver (PyPI) ships the PostgreSQL binaries and, as root, runs them as its own system user. The
server listens on a Unix socket only (nothing on the network). Tests may stop and start it to
simulate an outage; each test gets its own database so they never see each other's rows.
"""

from __future__ import annotations

import itertools
import os
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

START_TIMEOUT_S = 30


@dataclass
class PostgresServer:
    """One running server; `url(db)` is an ATTRITION_AUDIT_DB value for a database on it."""

    pgdata: Path
    socket_dir: str
    handle: Any  # pgserver.PostgresServer: its cleanup() stops the server at the end
    _names: itertools.count[int] = field(default_factory=itertools.count)

    @classmethod
    def start_in(cls, pgdata: Path) -> PostgresServer:
        with warnings.catch_warnings():  # platformdirs warns that XDG_RUNTIME_DIR is unset
            warnings.simplefilter("ignore")
            import pgserver

            server = pgserver.get_server(pgdata, cleanup_mode="stop")
        info = server.get_postmaster_info()
        return cls(pgdata, str(info.socket_dir), server)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@/{database}?host={self.socket_dir}"

    def admin(self) -> psycopg.Connection[tuple[object, ...]]:
        return psycopg.connect(host=self.socket_dir, user="postgres", dbname="postgres", autocommit=True)

    def new_database(self) -> str:
        """A fresh, empty database; returns its ATTRITION_AUDIT_DB URL."""
        name = f"audit_{os.getpid()}_{next(self._names)}"
        with self.admin() as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def _pg_ctl(self, args: list[str]) -> None:
        from pgserver._commands import pg_ctl

        user = "pgserver" if os.geteuid() == 0 else None
        pg_ctl(args, pgdata=self.pgdata, user=user, timeout=START_TIMEOUT_S)

    def stop(self) -> None:
        """Fast shutdown: every client connection is cut, as in a crash or a failover."""
        self._pg_ctl(["-w", "-m", "fast", "stop"])

    def start(self) -> None:
        self._pg_ctl(
            ["-w", "-l", str(self.pgdata / "log"), "-o", '-h ""', "-o", f"-k {self.socket_dir}", "start"]
        )
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:  # bounded: pg_ctl -w has waited already; this only confirms connections work
            try:
                self.admin().close()
                return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def shutdown(self) -> None:
        self.handle.cleanup()
