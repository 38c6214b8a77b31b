"""SQLite's WAL checkpoints moved off the commits that answer requests.

By default the connection whose commit pushes the write-ahead log past 1,000 pages copies the log into
the database file and fsyncs both, inside that commit: a few milliseconds every few hundred commits, and
every request waiting on that commit waits with it. At 8 connections that was the service's p99. So:

* this thread runs a PASSIVE checkpoint every `interval_s` on its own connection: it copies the log
  into the database beside the writer (WAL mode lets a checkpoint run beside a writer, and SQLite
  releases the GIL for the I/O) and never blocks the writer or a reader;
* the audit writer's connection checkpoints only past `MAX_FRAMES` frames (`writer_autocheckpoint`),
  not 1,000 pages. Under light load it never gets there: the log starts over at the first commit after
  a checkpoint reached its end. A writer that never pauses keeps appending while the thread copies, so
  the log would grow without end; past `MAX_FRAMES` the writer's own commit checkpoints, copying only
  what the thread has not copied yet (a RESTART from this thread instead was measured waiting 0.6-4 s
  for such a writer), and the log starts over. One stall per `MAX_FRAMES` frames instead of one per
  1,000 pages, and a log of at most about `MAX_FRAMES` pages.

Durability is unchanged: a commit is in the log when it returns, checkpointed or not (synchronous=NORMAL
in WAL mode, audit/database.py). A failed checkpoint is logged and retried at the next interval; it
never fails a request.
"""

from __future__ import annotations

import logging
import threading

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from attrition.audit.database import one_line

log = logging.getLogger("attrition.audit.checkpoint")

# Measured at one connection under continuous load (about 2,000 commits/s, 6-7 frames each), where a
# thread checkpoint always races a commit and so never lets the log start over: each one takes ~4 ms
# (two fsyncs) and the requests beside it are slower, while the writer's own checkpoint, every
# MAX_FRAMES frames, stalls one commit 3-5 ms. p99 / p999 / max of /predict, ms, 6 s each:
#   0.1 s, 4,000 frames: 0.76 0.73 / 3.4 3.3 / 6 6     0.25 s, 16,000 frames: 0.59 0.63 / 2.5 2.6 / 10 13
#   0.5 s, 16,000 frames: 0.56 0.60 / 2.8 2.8 / 16 16  1 s, 32,000 frames: 0.53 0.58 / 1.8 1.9 / 30 25
# 0.25 s and 16,000 frames better the p99 and p999 for a max of about 10 ms and a log of at most 64 MB.
# Under light load none of this matters: a checkpoint that meets no commit lets the log start over.
DEFAULT_INTERVAL_S = 0.25  # the writer's own checkpoint then finds at most ~0.25 s of log left to copy
MAX_FRAMES = 16_000  # 64 MB of 4 KiB pages: the writer's own checkpoints, 16x rarer than SQLite's


def writer_autocheckpoint(connection: Connection, frames: int = MAX_FRAMES) -> None:
    """Let this connection's commits checkpoint only once the log holds more than `frames` frames."""
    connection.exec_driver_sql(f"PRAGMA wal_autocheckpoint={int(frames)}")


class WalCheckpointer:
    """A daemon thread that checkpoints a SQLite store's WAL beside its writer."""

    def __init__(
        self,
        engine: Engine,
        *,
        interval_s: float = DEFAULT_INTERVAL_S,
    ) -> None:
        if interval_s <= 0:
            raise ValueError("interval_s must be > 0")
        self.engine = engine
        self.interval_s = interval_s
        self.passive = 0  # checkpoints run, for tests and the curious
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_error = ""

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="audit-checkpoint", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 30.0) -> None:
        """Stop the thread (after the checkpoint under way, if any)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
            self._thread = None

    def _run(self) -> None:
        connection: Connection | None = None
        while not self._stop.wait(self.interval_s):
            try:
                if connection is None:
                    connection = self.engine.connect()
                self.checkpoint(connection)
            except sa.exc.DBAPIError as error:  # locked, disk full, file gone: try again next time
                reason = one_line(error.orig or error)
                if reason != self._last_error:
                    self._last_error = reason
                    log.warning("WAL checkpoint failed (retried every %g s): %s", self.interval_s, reason)
                if connection is not None:
                    connection.invalidate()
                    connection = None
        if connection is not None:
            connection.close()

    def checkpoint(self, connection: Connection) -> int:
        """One PASSIVE checkpoint; the frames it left in the log (a writer's commits since it began)."""
        _, frames, copied = connection.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)").one()
        connection.commit()
        self.passive += 1
        return max(int(frames) - int(copied), 0)
