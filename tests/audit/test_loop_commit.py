"""SQLite's commits on the event loop (attrition.audit.loop_commit): one transaction per pass of the
loop, and everything it cannot commit at once goes to the writer thread, which settles it."""

from __future__ import annotations

import asyncio
import dataclasses
import shutil
import sqlite3
from pathlib import Path

import pytest

from attrition.audit.errors import AuditUnavailableError
from attrition.audit.writer import AuditStore
from tests.audit.builders import column, count, open_store, prediction


@pytest.fixture
def sqlite_url(migrated_sqlite: Path, tmp_path: Path) -> str:
    target = tmp_path / "audit.sqlite"
    shutil.copyfile(migrated_sqlite, target)
    return str(target)


def test_requests_of_one_pass_of_the_loop_share_one_transaction(sqlite_url: str) -> None:
    async def requests(store: AuditStore) -> None:
        await asyncio.gather(*(store.record([prediction(f"E{n}")]) for n in range(40)))
        await store.record([prediction("E40"), prediction("E41")])

    with open_store(sqlite_url) as store:
        asyncio.run(requests(store))
        assert (store.stats.transactions, store.stats.committed_rows) == (2, 42)
        assert store.health().pending_rows == 0
    assert count(sqlite_url, "predictions") == 42


def test_a_write_lock_held_elsewhere_sends_the_rows_to_the_writer_which_commits_them_once_free(
    sqlite_url: str,
) -> None:
    """The loop never waits for a lock (a purge, another process): the writer thread does, and the
    request is answered only after the commit it made once the lock was released."""
    holder = sqlite3.connect(sqlite_url, isolation_level=None)
    row = prediction("E1")

    async def request(store: AuditStore) -> bool:
        holder.execute("BEGIN IMMEDIATE")
        waiting = asyncio.ensure_future(store.record([row]))
        await asyncio.sleep(0.3)
        answered_while_locked = waiting.done()
        holder.execute("COMMIT")
        await waiting
        return answered_while_locked

    try:
        with open_store(sqlite_url) as store:
            assert asyncio.run(request(store)) is False
            assert store.stats.committed_rows == 1 and store.health().pending_rows == 0
    finally:
        holder.close()
    assert column(sqlite_url, "SELECT prediction_id FROM predictions") == [row.prediction_id]


def test_a_row_sqlite_rejects_fails_its_request_through_the_writer(sqlite_url: str) -> None:
    broken = dataclasses.replace(prediction("E1"), caller=None)  # type: ignore[arg-type]  # NOT NULL

    async def requests(store: AuditStore) -> None:
        with pytest.raises(AuditUnavailableError, match="audit write failed"):
            await store.record([broken])
        await store.record([prediction("E2")])  # the loop commits again at once

    with open_store(sqlite_url) as store:
        asyncio.run(requests(store))
        assert store.health().ok and store.stats.failed_rows == 1
    assert column(sqlite_url, "SELECT employee_id FROM predictions") == ["E2"]


def test_a_second_event_loop_records_through_the_writer_thread(sqlite_url: str) -> None:
    """The committer belongs to the loop that recorded first; a store shared by loops still commits."""
    with open_store(sqlite_url) as store:
        asyncio.run(store.record([prediction("E1")]))
        asyncio.run(store.record([prediction("E2")]))
        assert store.stats.committed_rows == 2
    assert sorted(column(sqlite_url, "SELECT employee_id FROM predictions")) == ["E1", "E2"]


def test_without_loop_commits_the_writer_thread_commits_everything(sqlite_url: str) -> None:
    store = AuditStore(sqlite_url, loop_commits=False)
    store.open()
    try:
        asyncio.run(store.record([prediction("E1")]))
        assert store.stats.committed_rows == 1
    finally:
        store.close()
    assert count(sqlite_url, "predictions") == 1
