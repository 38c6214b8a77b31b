"""SQLite commits on the event loop's own thread: group commit without a hand-off to another thread.

On SQLite in WAL mode with synchronous=NORMAL a commit is a write into the log, tens of
microseconds (the fsyncs happen in checkpoints, on audit/checkpoint.py's thread). Handing the rows
to the writer thread and its answer back costs more than that: two thread wake-ups, the GIL changing
hands, SQLAlchemy's statement execution. bench/bench_overhead.py, one sitting, every answer after its
commit: the writer thread gave p99 2.3x and 2.4x the no-op POST's and 0.33x and 0.35x its
throughput at 1 and 8 connections; this path 1.8x and 1.7x, 0.51x and 0.55x (no audit at all:
1.1x and 1.4x, 0.78x and 0.71x).

So the rows of every request that reaches `record` in one pass of the event loop are inserted by one
callback on that loop, in one transaction, and each request's future resolves after that COMMIT: an
answer still leaves only once its row is in the log, which is what survives a SIGKILL. The loop
never waits for a lock (busy_timeout 0): when SQLite cannot commit at once (a purge, the writer
thread or another process holds the write lock; an I/O error; a row it rejects) the batch goes to
the writer thread, which waits, retries with back-off, bounds the outage and fails rows exactly as
for every other backend. PostgreSQL commits cost a network round trip and an fsync; it keeps the
writer thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from attrition.audit import database
from attrition.audit.checkpoint import MAX_FRAMES
from attrition.audit.records import PredictionRow
from attrition.audit.schema import predictions

# Idempotent on prediction_id, like the writer thread's insert: a batch handed over after a failed
# COMMIT that did land is not stored twice.
COLUMNS = [column.name for column in predictions.columns if column.name != "id"]
INSERT = (
    f"INSERT INTO predictions ({', '.join(COLUMNS)}) VALUES ({', '.join(':' + c for c in COLUMNS)})"
    " ON CONFLICT (prediction_id) DO NOTHING"
)

Batch = list[tuple[Sequence[PredictionRow], asyncio.Future[None]]]


class LoopCommitter:
    """One SQLite connection used only from one event loop's thread, with that loop's pending rows."""

    def __init__(
        self,
        path: Path,
        loop: asyncio.AbstractEventLoop,
        *,
        committed: Callable[[int], None],
        hand_over: Callable[[Batch], None],
    ) -> None:
        self.loop = loop
        self._committed = committed  # (rows) after each COMMIT
        self._hand_over = hand_over  # a batch this path could not commit: to the writer thread
        self._pending: Batch = []
        self._connection: sqlite3.Connection | None = sqlite3.connect(
            path, timeout=0, isolation_level=None, check_same_thread=False
        )
        database.sqlite_pragmas(self._connection, None)  # looked up now: tests open it as other builds do
        self._connection.execute(f"PRAGMA wal_autocheckpoint={MAX_FRAMES}")  # as the writer's own

    def submit(self, rows: Sequence[PredictionRow]) -> asyncio.Future[None]:
        """Queue `rows` for this pass's commit (call on the loop's thread); the future resolves after it."""
        future: asyncio.Future[None] = self.loop.create_future()
        if not self._pending:
            self.loop.call_soon(self.flush)
        self._pending.append((rows, future))
        return future

    def flush(self) -> None:
        """Insert and commit every pending row in one transaction; on any SQLite error hand them over."""
        batch, self._pending = self._pending, []
        if not batch:
            return
        connection = self._connection
        if connection is None:
            self._hand_over(batch)
            return
        values = [row.values() for rows, _ in batch for row in rows]
        try:
            connection.execute("BEGIN IMMEDIATE")
            if len(values) == 1:  # one request in this pass: execute is 30 µs where executemany is 37
                connection.execute(INSERT, values[0])
            else:
                connection.executemany(INSERT, values)
            connection.execute("COMMIT")
        except sqlite3.Error:
            with contextlib.suppress(sqlite3.Error):
                if connection.in_transaction:
                    connection.execute("ROLLBACK")
            self._hand_over(batch)
            return
        self._committed(len(values))
        for _, future in batch:
            if not future.done():
                future.set_result(None)

    def close(self) -> None:
        """Commit what is pending (on the loop's thread, or once the loop has stopped), then disconnect."""
        self.flush()
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.close()

    def close_from_any_thread(self, timeout_s: float) -> bool:
        """close() on the loop's own thread if that loop still runs (False: it did not within the timeout)."""
        loop = self.loop
        try:
            on_that_loop = asyncio.get_running_loop() is loop
        except RuntimeError:
            on_that_loop = False
        if on_that_loop or loop.is_closed() or not loop.is_running():
            self.close()
            return True
        done = threading.Event()

        def close_there() -> None:
            try:
                self.close()
            finally:
                done.set()

        try:
            loop.call_soon_threadsafe(close_there)
        except RuntimeError:  # that loop closed meanwhile
            self.close()
            return True
        return done.wait(timeout_s)
