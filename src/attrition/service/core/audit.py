"""Audit trail of predictions in SQLite, written by one background thread.

Request handlers only put a tuple on a queue (about a microsecond), so disk latency never shows up
in request latency; the writer commits in batches. `close()` drains the queue, so a clean shutdown
loses nothing. Opt-out requests are recorded without their inputs or employee id. Purges run on
the writer thread too, so the service never competes with itself for SQLite's write lock.
"""

from __future__ import annotations

import json
import logging
import queue
import re
import sqlite3
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

log = logging.getLogger("attrition.service.audit")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS predictions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ts REAL NOT NULL,                -- unix seconds, what purges compare against
    created_at TEXT NOT NULL,        -- the same instant, ISO 8601 UTC, for humans
    caller TEXT NOT NULL,            -- token subject
    endpoint TEXT NOT NULL,
    model_version TEXT,
    source TEXT NOT NULL,            -- model | batch
    opt_out INTEGER NOT NULL,
    employee_id TEXT,                -- NULL when opt_out
    inputs TEXT,                     -- JSON features; NULL when opt_out
    probability REAL,
    decision INTEGER
);
CREATE INDEX IF NOT EXISTS predictions_ts ON predictions (ts);
"""
_INSERT = (
    "INSERT INTO predictions (ts, created_at, caller, endpoint, model_version, source, opt_out,"
    " employee_id, inputs, probability, decision) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")
_BATCH = 500


class AuditError(Exception):
    """An audit store that cannot be opened or a bad purge request (one-line message)."""


def parse_duration(text: str) -> float:
    """'180d' -> seconds; raises AuditError with the accepted format on anything else."""
    match = _DURATION.match(text)
    seconds = float(match.group(1)) * _UNITS[match.group(2)] if match else 0.0
    if not match or seconds <= 0:
        raise AuditError(
            f"invalid duration {text!r}: use a positive number followed by s, m, h, d or w (e.g. 180d, 12h)"
        )
    return seconds


@dataclass(frozen=True)
class AuditRecord:
    """One prediction as it goes to the store (inputs already dropped for opt-out)."""

    ts: float
    caller: str
    endpoint: str
    model_version: str | None
    source: str
    opt_out: bool
    employee_id: str | None
    inputs: dict[str, object] | None
    probability: float | None
    decision: bool | None

    @classmethod
    def for_prediction(
        cls,
        *,
        caller: str,
        endpoint: str,
        model_version: str | None,
        source: str,
        opt_out: bool,
        employee_id: str | None,
        inputs: dict[str, object] | None,
        probability: float | None,
        decision: bool | None,
    ) -> AuditRecord:
        """Build a record, enforcing the opt-out rule in one place."""
        return cls(
            ts=time.time(),
            caller=caller,
            endpoint=endpoint,
            model_version=model_version,
            source=source,
            opt_out=opt_out,
            employee_id=None if opt_out else employee_id,
            inputs=None if opt_out else inputs,
            probability=probability,
            decision=decision,
        )

    def row(self) -> tuple[object, ...]:
        """SQL parameters in _INSERT order."""
        created = datetime.fromtimestamp(self.ts, UTC).isoformat(timespec="milliseconds")
        return (
            self.ts,
            created,
            self.caller,
            self.endpoint,
            self.model_version,
            self.source,
            int(self.opt_out),
            self.employee_id,
            None if self.inputs is None else json.dumps(self.inputs, sort_keys=True),
            self.probability,
            None if self.decision is None else int(self.decision),
        )


class AuditSink(Protocol):
    """What the runtime needs from an audit store; the SQLite store below is one.

    The PostgreSQL store (src/attrition/audit/, issue 12) plugs in behind the same four methods.
    """

    def start(self) -> None: ...

    def record(self, record: AuditRecord) -> None: ...

    def request_purge(self, older_than_s: float) -> Future[int]: ...

    def close(self) -> None: ...


def connect(path: Path) -> sqlite3.Connection:
    """Open (and create) the store; WAL lets the CLI purge while the service writes."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(path, timeout=10.0, check_same_thread=False)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")
        connection.executescript(_SCHEMA)
    except (OSError, sqlite3.Error) as error:
        raise AuditError(f"audit store {path}: {error}") from error
    return connection


def purge(connection: sqlite3.Connection, older_than_s: float, now: float | None = None) -> int:
    """Delete records older than `older_than_s` seconds; returns how many went."""
    cutoff = (time.time() if now is None else now) - older_than_s
    with connection:
        cursor = connection.execute("DELETE FROM predictions WHERE ts < ?", (cutoff,))
    return cursor.rowcount


class _Purge:
    """A purge request travelling through the queue with a future for its result."""

    def __init__(self, older_than_s: float) -> None:
        self.older_than_s = older_than_s
        self.result: Future[int] = Future()


_STOP = object()


class AuditStore:
    """Queue-fed SQLite writer thread. start() -> record()* -> close()."""

    def __init__(
        self, path: Path, on_written: Callable[[int], None] | None = None, max_queue: int = 100_000
    ) -> None:
        self.path = path
        self._queue: queue.Queue[object] = queue.Queue(maxsize=max_queue)
        self._thread: threading.Thread | None = None
        self._connection: sqlite3.Connection | None = None
        self._on_written = on_written
        self.errors = 0

    def start(self) -> None:
        """Open the database now (so a bad path fails the start-up) and start the writer."""
        self._connection = connect(self.path)
        self._thread = threading.Thread(target=self._run, name="audit-writer", daemon=True)
        self._thread.start()

    def record(self, record: AuditRecord) -> None:
        """Queue a record; only blocks if the writer is 100k records behind (back-pressure)."""
        try:
            self._queue.put_nowait(record)
        except queue.Full:
            self._queue.put(record)

    def request_purge(self, older_than_s: float) -> Future[int]:
        """Ask the writer to purge; the future resolves to the number of deleted records."""
        request = _Purge(older_than_s)
        self._queue.put(request)
        return request.result

    def pending(self) -> int:
        """Records queued but not yet committed (approximate)."""
        return self._queue.qsize()

    def close(self, timeout_s: float = 30.0) -> None:
        """Write everything still queued, then stop the thread and close the database."""
        if self._thread is None:
            return
        self._queue.put(_STOP)
        self._thread.join(timeout_s)
        if self._thread.is_alive():
            log.error(
                "audit writer did not finish within %.0f s; %d records pending", timeout_s, self.pending()
            )
        self._thread = None

    def _run(self) -> None:
        connection = self._connection
        assert connection is not None
        stopping = False
        while not stopping:
            items = [self._queue.get()]
            while len(items) < _BATCH:
                try:
                    items.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            rows = [item.row() for item in items if isinstance(item, AuditRecord)]
            self._write(connection, rows)
            for item in items:
                if isinstance(item, _Purge):
                    self._purge(connection, item)
                elif item is _STOP:
                    stopping = True
        connection.close()

    def _write(self, connection: sqlite3.Connection, rows: list[tuple[object, ...]]) -> None:
        if not rows:
            return
        try:
            with connection:
                connection.executemany(_INSERT, rows)
        except sqlite3.Error as error:
            self.errors += len(rows)
            log.error("audit write of %d records failed: %s", len(rows), error)
            return
        if self._on_written is not None:
            self._on_written(len(rows))

    def _purge(self, connection: sqlite3.Connection, request: _Purge) -> None:
        # A caller that gave up (cancelled future, e.g. a scheduled purge at shutdown) needs no
        # answer; setting one would raise InvalidStateError and kill the writer thread with it.
        if not request.result.set_running_or_notify_cancel():
            return
        try:
            request.result.set_result(purge(connection, request.older_than_s))
        except sqlite3.Error as error:
            log.error("audit purge failed: %s", error)
            request.result.set_exception(AuditError(f"audit purge failed: {error}"))
