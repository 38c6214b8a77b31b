"""The audit store the service calls: group commit, so an answer leaves only once its row is committed.

`await store.record(rows)` puts the rows on a queue and resolves when the transaction holding them
has committed. One writer thread takes everything queued (up to `max_batch_rows`) into a single
transaction, so under load one commit (one fsync) serves many requests: the group commit of
databases, applied to the whole request path. A crash can only lose rows whose answer never left.
On SQLite the event loop commits its own requests' rows, one transaction per pass of the loop
(audit/loop_commit.py: cheaper than the hand-off to this thread and back); what it cannot commit at
once comes here.

While the database is unreachable the writer retries the same batch with exponential back-off;
rows queued meanwhile wait and are written when it is back (the insert ignores ids already stored,
so a commit whose acknowledgement was lost is not written twice). If the outage lasts longer than
`outage_bound_s`, the store is unhealthy: waiting rows fail with AuditUnavailableError (the caller
answers 503; those answers never left), new rows are refused at once, and the writer keeps probing
until the database answers again. Readiness reads `health()`. On SQLite the log's checkpoints run
beside the writer, not inside its commits (audit/checkpoint.py).

One file on purpose (~490 lines): it is one class, AuditStore, whose queue, writer thread, back-off
and health state share one invariant (every queued row's waiter is settled exactly once, after its
commit or its refusal; a row the loop's committer could not commit is handed to the queue, never
settled there); split across modules, that invariant could no longer be checked in one read.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from attrition.audit import migrate, retention
from attrition.audit.checkpoint import DEFAULT_INTERVAL_S as CHECKPOINT_INTERVAL_S
from attrition.audit.checkpoint import WalCheckpointer, writer_autocheckpoint
from attrition.audit.database import (
    SETTING,
    AuditDatabase,
    check_reachable,
    create_audit_engine,
    one_line,
    parse_audit_db,
)
from attrition.audit.errors import AuditConfigError, AuditUnavailableError
from attrition.audit.loop_commit import Batch, LoopCommitter
from attrition.audit.records import PredictionRow
from attrition.audit.schema import predictions

log = logging.getLogger("attrition.audit.writer")

DEFAULT_OUTAGE_BOUND_S = 10.0
FIRST_BACKOFF_S = 0.05
MAX_BACKOFF_S = 1.0


@dataclass(frozen=True)
class StoreHealth:
    """What readiness reports: `ok` is False once a failure has lasted longer than the bound."""

    ok: bool
    reason: str | None
    backend: str
    pending_rows: int


@dataclass
class WriterStats:
    """Counters the writer thread keeps (read them for metrics; only the writer changes them)."""

    committed_rows: int = 0
    transactions: int = 0
    retries: int = 0
    failed_rows: int = 0


@dataclass
class _Waiter:
    rows: Sequence[PredictionRow]
    loop: asyncio.AbstractEventLoop | None
    future: asyncio.Future[None] | concurrent.futures.Future[None]


_STOP = object()


def _resolve(waiters: list[_Waiter], error: str | None) -> None:
    """Runs on the waiters' event loop: settle every future that is still waiting."""
    for waiter in waiters:
        if not waiter.future.done():
            if error is None:
                waiter.future.set_result(None)
            else:
                waiter.future.set_exception(AuditUnavailableError(error))


def _is_transient(error: sa.exc.DBAPIError) -> bool:
    """Connection lost, server restarting, SQLite busy: worth retrying. Anything else is a bug."""
    return bool(
        error.connection_invalidated or isinstance(error, sa.exc.OperationalError | sa.exc.InterfaceError)
    )


class AuditStore:
    """open() -> await record(rows)* -> close(). Thread-safe; one writer thread per store."""

    def __init__(
        self,
        database: AuditDatabase | str,
        *,
        outage_bound_s: float = DEFAULT_OUTAGE_BOUND_S,
        max_batch_rows: int = 2000,
        upgrade_schema: bool = True,
        on_committed: Callable[[int], None] | None = None,
        checkpoint_interval_s: float = CHECKPOINT_INTERVAL_S,
        loop_commits: bool = True,
    ) -> None:
        self.database = parse_audit_db(database) if isinstance(database, str) else database
        if outage_bound_s <= 0 or max_batch_rows < 1 or checkpoint_interval_s <= 0:
            raise ValueError("outage_bound_s and checkpoint_interval_s must be > 0 and max_batch_rows >= 1")
        self.checkpoint_interval_s = checkpoint_interval_s  # SQLite: how often the log is copied back
        self.outage_bound_s = outage_bound_s
        self.max_batch_rows = max_batch_rows
        self.upgrade_schema = upgrade_schema
        self.stats = WriterStats()
        self._on_committed = on_committed
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._engine: Engine | None = None
        self._connection: Connection | None = None
        self._thread: threading.Thread | None = None
        self._purger: concurrent.futures.ThreadPoolExecutor | None = None
        self._checkpointer: WalCheckpointer | None = None
        self._may_purge = True
        self._closed = False
        self._queued_rows = 0
        self._queued_lock = threading.Lock()
        self._outage_since: float | None = None  # monotonic time of the first failure in a row
        self._commit_started: float | None = None
        self._last_error: str | None = None
        self._backoff = FIRST_BACKOFF_S
        self._insert = self._insert_statement()
        # SQLite: the first event loop that records commits its own rows (LoopCommitter)
        self.loop_commits = loop_commits and self.database.backend == "sqlite"
        self._committer: LoopCommitter | None = None
        self._stats_lock = threading.Lock()  # the writer thread and the loop's commits both count

    # --- life cycle -------------------------------------------------------------------------
    def open(self) -> None:
        """Connect, check or upgrade the schema, start the writer; AuditConfigError in one line."""
        engine = create_audit_engine(self.database)
        try:
            check_reachable(engine, self.database)
            if self.upgrade_schema:
                migrate.upgrade(engine)
            else:
                state = migrate.schema_state(engine)
                if state != "current":
                    raise AuditConfigError(
                        f"{SETTING}: the audit schema is {state}; run `attrition audit migrate` first"
                    )
            self._may_purge = retention.may_delete(engine)  # False: a PostgreSQL role without DELETE
        except BaseException:
            engine.dispose()
            raise
        self._engine = engine
        if not self._may_purge:
            log.info("audit role may not delete: scheduled purges are left to the purge role")
        self._thread = threading.Thread(target=self._run, name="audit-writer", daemon=True)
        self._thread.start()
        if self.database.backend == "sqlite":
            self._checkpointer = WalCheckpointer(engine, interval_s=self.checkpoint_interval_s)
            self._checkpointer.start()

    def start(self) -> None:
        """open(), under the name the service's AuditSink protocol uses."""
        self.open()

    def request_purge(self, older_than_s: float, actor: str = "service") -> concurrent.futures.Future[int]:
        """Run a retention purge on a helper thread; the future gives the rows deleted (both tables).

        The writer thread keeps committing meanwhile; concurrent purges from other replicas are
        safe (see attrition.audit.retention). A role without DELETE leaves purging to the purge
        role's `attrition audit purge` (issue 27): the future then gives 0 at once.
        """
        if not self._may_purge:
            done: concurrent.futures.Future[int] = concurrent.futures.Future()
            done.set_result(0)
            return done
        if self._purger is None:
            self._purger = concurrent.futures.ThreadPoolExecutor(
                max_workers=1, thread_name_prefix="audit-purge"
            )
        engine = self.engine

        def run() -> int:
            result = retention.purge(engine, older_than_s, actor=actor)
            return result.predictions + result.decisions

        return self._purger.submit(run)

    @property
    def engine(self) -> Engine:
        """The open engine, for decisions, purges and exports on the same store."""
        if self._engine is None:
            raise RuntimeError("AuditStore.open() has not been called")
        return self._engine

    def close(self, timeout_s: float = 30.0) -> None:
        """Refuse new rows, commit everything already queued, stop the writer."""
        self._closed = True
        self._close_committer(timeout_s)
        if self._purger is not None:
            self._purger.shutdown(wait=True, cancel_futures=True)
            self._purger = None
        if self._thread is not None:
            self._queue.put(_STOP)
            self._thread.join(timeout_s)
            if self._thread.is_alive():
                log.error(
                    "audit writer still busy after %.0f s; %d rows pending", timeout_s, self._queued_rows
                )
            self._thread = None
        if self._checkpointer is not None:  # after the writer: SQLite checkpoints on the last close
            self._checkpointer.stop()
            self._checkpointer = None
        if self._engine is not None:
            self._engine.dispose()

    # --- the request path -------------------------------------------------------------------
    async def record(self, rows: Sequence[PredictionRow]) -> None:
        """Return once `rows` are committed; AuditUnavailableError means: do not answer (503)."""
        if not rows:
            return
        self._check_accepting()
        loop = asyncio.get_running_loop()
        committer = self._loop_committer(loop)
        future: asyncio.Future[None]
        if committer is not None:
            self._add_queued(len(rows))
            future = committer.submit(rows)
        else:
            future = loop.create_future()
            self._enqueue(_Waiter(rows, loop, future))
        try:
            await asyncio.wait_for(future, timeout=2 * self.outage_bound_s)
        except TimeoutError:
            raise AuditUnavailableError(
                f"audit store did not commit within {2 * self.outage_bound_s:g} s"
            ) from None

    def record_blocking(self, rows: Sequence[PredictionRow]) -> None:
        """`record` for code without an event loop (scripts, the benchmark's sync paths)."""
        if not rows:
            return
        self._check_accepting()
        future: concurrent.futures.Future[None] = concurrent.futures.Future()
        self._enqueue(_Waiter(rows, None, future))
        try:
            future.result(timeout=2 * self.outage_bound_s)
        except concurrent.futures.TimeoutError:
            raise AuditUnavailableError(
                f"audit store did not commit within {2 * self.outage_bound_s:g} s"
            ) from None

    def health(self) -> StoreHealth:
        """Healthy unless closed, the writer died, or a failure or a commit outlasted the bound."""
        reason = self._unhealthy_reason()
        return StoreHealth(reason is None, reason, self.database.backend, self._queued_rows)

    # --- internals --------------------------------------------------------------------------
    def _loop_committer(self, loop: asyncio.AbstractEventLoop) -> LoopCommitter | None:
        """The committer of `loop`, made on its first record; None: use the writer thread (another
        backend or loop, or an outage under way, which the writer thread bounds and probes)."""
        if not self.loop_commits or self._outage_since is not None:
            return None
        if self._committer is None:
            path = self.database.sqlite_path
            assert path is not None  # loop_commits is for SQLite only
            self._committer = LoopCommitter(
                path, loop, committed=self._loop_committed, hand_over=self._hand_over
            )
        return self._committer if self._committer.loop is loop else None

    def _loop_committed(self, rows: int) -> None:
        self._add_queued(-rows)
        self._count_commit(rows)

    def _hand_over(self, batch: Batch) -> None:
        """Rows the loop could not commit at once: the writer thread's, already counted as queued."""
        for rows, future in batch:
            self._queue.put(_Waiter(rows, future.get_loop(), future))

    def _count_commit(self, rows: int) -> None:
        with self._stats_lock:
            self.stats.transactions += 1
            self.stats.committed_rows += rows
        if self._on_committed is not None:
            self._on_committed(rows)

    def _close_committer(self, timeout_s: float) -> None:
        """Before the writer stops: what the loop cannot commit goes on the queue the writer drains."""
        committer, self._committer = self._committer, None
        if committer is not None and not committer.close_from_any_thread(timeout_s):
            log.error("the event loop did not close the audit committer within %.0f s", timeout_s)

    def _unhealthy_reason(self) -> str | None:
        if self._closed:
            return "audit store closed"
        if self._thread is None or not self._thread.is_alive():
            return "audit writer not running"
        now = time.monotonic()
        outage, started = self._outage_since, self._commit_started
        if outage is not None and now - outage > self.outage_bound_s:
            return (
                f"audit store failing for {now - outage:.1f} s (bound {self.outage_bound_s:g} s): "
                f"{self._last_error}"
            )
        if started is not None and now - started > self.outage_bound_s:
            return f"audit commit running for {now - started:.1f} s (bound {self.outage_bound_s:g} s)"
        return None

    def _check_accepting(self) -> None:
        reason = self._unhealthy_reason()
        if reason is not None:
            raise AuditUnavailableError(reason)

    def _enqueue(self, waiter: _Waiter) -> None:
        self._add_queued(len(waiter.rows))
        self._queue.put(waiter)

    def _add_queued(self, rows: int) -> None:
        """Rows waiting for a commit on either path (health() reports them); negative: settled."""
        with self._queued_lock:
            self._queued_rows += rows

    def _insert_statement(self) -> Any:
        # Idempotent on prediction_id: retrying a batch whose commit did land adds nothing.
        dialect = postgresql if self.database.backend == "postgresql" else sqlite
        return dialect.insert(predictions).on_conflict_do_nothing(index_elements=["prediction_id"])

    def _run(self) -> None:
        stopping = False
        try:
            while not stopping:
                waiters, stopping = self._take()
                if waiters:
                    self._commit(waiters)
                elif self._outage_since is not None and not stopping:
                    self._probe()
        except BaseException as error:  # a bug: fail closed rather than hang requests
            log.exception("audit writer crashed")
            self._last_error = one_line(error)
            self._fail_queued(f"audit writer crashed: {self._last_error}")
            raise
        finally:
            self._drop_connection()

    def _take(self) -> tuple[list[_Waiter], bool]:
        """Block for the first item (or a back-off while down), then take what else is queued."""
        try:
            first = self._queue.get(timeout=None if self._outage_since is None else self._backoff)
        except queue.Empty:
            return [], False
        items, rows = [first], len(first.rows) if isinstance(first, _Waiter) else 0
        while rows < self.max_batch_rows and first is not _STOP:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            items.append(item)
            if isinstance(item, _Waiter):
                rows += len(item.rows)
            if item is _STOP:
                break
        waiters = [item for item in items if isinstance(item, _Waiter)]
        return waiters, any(item is _STOP for item in items)

    def _connect(self) -> Connection:
        if self._connection is None:
            connection = self.engine.connect()
            if self.database.backend == "postgresql":  # a hung server must not hang the writer
                connection.exec_driver_sql(f"SET statement_timeout = {int(self.outage_bound_s * 1000)}")
            else:  # the checkpointer copies the log, not the commit a request waits on
                writer_autocheckpoint(connection)
            connection.commit()
            self._connection = connection
        return self._connection

    def _drop_connection(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            try:
                connection.invalidate()
                connection.close()
            except sa.exc.SQLAlchemyError:  # closing a dead connection may fail too; it is gone
                pass

    def _commit(self, waiters: list[_Waiter]) -> None:
        rows = [row.values() for waiter in waiters for row in waiter.rows]
        while True:
            self._commit_started = time.monotonic()
            try:
                connection = self._connect()
                with connection.begin():
                    connection.execute(self._insert, rows)
            except sa.exc.DBAPIError as error:
                self._commit_started = None
                self._last_error = one_line(error.orig or error)
                if not _is_transient(error):
                    log.error("audit write of %d rows failed: %s", len(rows), self._last_error)
                    self._settle(waiters, f"audit write failed: {self._last_error}")
                    return
                self._drop_connection()
                if not self._wait_out_failure(len(rows)):
                    self._settle(waiters, f"audit store unavailable: {self._last_error}")
                    self._fail_queued(f"audit store unavailable: {self._last_error}")
                    return
                continue
            self._commit_started = None
            self._recovered()
            self._count_commit(len(rows))
            self._settle(waiters, None)
            return

    def _wait_out_failure(self, rows: int) -> bool:
        """Sleep one back-off step; False once the outage has outlasted the bound."""
        now = time.monotonic()
        if self._outage_since is None:
            self._outage_since = now
            log.warning("audit store failing (%s); retrying %d rows with back-off", self._last_error, rows)
        if now - self._outage_since > self.outage_bound_s:
            log.error("audit store down for over %g s: failing closed", self.outage_bound_s)
            return False
        self.stats.retries += 1
        time.sleep(self._backoff)
        self._backoff = min(self._backoff * 2, MAX_BACKOFF_S)
        return True

    def _probe(self) -> None:
        """While failed closed and idle: one connection attempt per back-off step."""
        try:
            connection = self._connect()
            connection.execute(sa.text("SELECT 1"))
            connection.rollback()
        except sa.exc.DBAPIError as error:
            self._last_error = one_line(error.orig or error)
            self._drop_connection()
            self._backoff = min(self._backoff * 2, MAX_BACKOFF_S)
            return
        self._recovered()

    def _recovered(self) -> None:
        if self._outage_since is not None:
            log.warning("audit store back after %.1f s", time.monotonic() - self._outage_since)
        self._outage_since = None
        self._backoff = FIRST_BACKOFF_S

    def _fail_queued(self, error: str) -> None:
        waiters: list[_Waiter] = []
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if isinstance(item, _Waiter):
                waiters.append(item)
            elif item is _STOP:
                self._queue.put(_STOP)  # keep the stop request for the main loop
                break
        self._settle(waiters, error)

    def _settle(self, waiters: list[_Waiter], error: str | None) -> None:
        """Resolve futures: one hop per event loop for the whole batch, not one per request."""
        count = sum(len(waiter.rows) for waiter in waiters)
        self._add_queued(-count)
        if error is not None:
            self.stats.failed_rows += count
        by_loop: dict[asyncio.AbstractEventLoop, list[_Waiter]] = {}
        for waiter in waiters:
            if waiter.loop is None:
                _resolve([waiter], error)  # concurrent.futures.Future is thread-safe
            else:
                by_loop.setdefault(waiter.loop, []).append(waiter)
        for loop, group in by_loop.items():
            with contextlib.suppress(RuntimeError):  # that loop closed: nobody is waiting any more
                loop.call_soon_threadsafe(_resolve, group, error)
