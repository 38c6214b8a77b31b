"""SQLite's WAL is copied back beside the writer, never inside the commit a request waits on."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import sqlalchemy as sa

from attrition.audit.checkpoint import MAX_FRAMES, WalCheckpointer, writer_autocheckpoint
from attrition.audit.database import create_audit_engine, parse_audit_db
from tests.audit.builders import count, open_store, prediction

PAGE = 4096
AUTOCHECKPOINT_PAGES = 1000  # SQLite's default, which the writer's connection turns off


def _wal(path: Path) -> int:
    wal = path.with_name(path.name + "-wal")
    return wal.stat().st_size if wal.exists() else 0


def test_the_writers_commits_checkpoint_only_a_long_log(tmp_path: Path) -> None:
    path = tmp_path / "audit.sqlite"
    url = f"sqlite:///{path}"
    # The checkpointer waits an hour: the log grows past SQLite's 1,000 pages, up to MAX_FRAMES.
    with open_store(url, checkpoint_interval_s=3600.0) as store:
        for _ in range(2000):  # one commit each, as at one connection
            store.record_blocking([prediction()])
        grown = _wal(path)
        assert 1.5 * AUTOCHECKPOINT_PAGES * PAGE < grown <= (MAX_FRAMES + 64) * (PAGE + 24)
        engine = create_audit_engine(parse_audit_db(url))
        with engine.connect() as connection:
            assert WalCheckpointer(engine).checkpoint(connection) == 0  # all copied back
        store.record_blocking([prediction()])  # the next commit starts the log over
        engine.dispose()
        assert _wal(path) == grown  # reused from its start, not grown
    assert count(url, "predictions") == 2001


def test_the_store_checkpoints_on_its_own_interval(tmp_path: Path) -> None:
    path = tmp_path / "audit.sqlite"
    url = f"sqlite:///{path}"
    with open_store(url, checkpoint_interval_s=0.05) as store:
        for _ in range(300):
            store.record_blocking([prediction()])
        deadline = time.monotonic() + 10
        engine = create_audit_engine(parse_audit_db(url))
        with engine.connect() as connection:
            while True:
                _, frames, copied = connection.exec_driver_sql("PRAGMA wal_checkpoint(NOOP)").one()
                if frames == copied or time.monotonic() > deadline:
                    break
                time.sleep(0.05)
        engine.dispose()
        assert frames == copied, f"{frames - copied} frames never copied back"


def _busy_writer(engine: sa.Engine, stop: threading.Event, frames: int) -> int:
    commits = 0
    with engine.connect() as connection:
        writer_autocheckpoint(connection, frames)
        connection.commit()
        while not stop.is_set():
            with connection.begin():
                connection.exec_driver_sql("INSERT INTO t(v) VALUES (?)", (b"x" * 3000,))
            commits += 1
    return commits


def _run_writer(path: Path, seconds: float, frames: int) -> tuple[int, int, int]:
    """A writer committing back to back for `seconds` beside a checkpointer; its commits, the log's
    size and the checkpoints the thread ran."""
    engine = sa.create_engine(f"sqlite:///{path}", connect_args={"timeout": 10})
    with engine.begin() as connection:
        connection.exec_driver_sql("PRAGMA journal_mode=WAL")
        connection.exec_driver_sql("CREATE TABLE t(id INTEGER PRIMARY KEY, v BLOB)")
    worker = WalCheckpointer(engine, interval_s=0.01)
    stop, done = threading.Event(), []
    thread = threading.Thread(target=lambda: done.append(_busy_writer(engine, stop, frames)))
    thread.start()
    worker.start()
    time.sleep(seconds)
    stop.set()
    thread.join(30)
    worker.stop()
    size = _wal(path)
    engine.dispose()
    return done[0], size, worker.passive


def test_a_writer_that_never_pauses_needs_its_own_checkpoint_past_the_bound(tmp_path: Path) -> None:
    """The thread's PASSIVE checkpoints alone never reset the log of a writer that never pauses (each
    one ends with the writer's newer frames uncopied); the writer's own checkpoint past its bound does."""
    commits, unbounded, passive = _run_writer(tmp_path / "alone.sqlite", 1.0, frames=0)
    assert commits > 200 and passive > 10
    assert unbounded > AUTOCHECKPOINT_PAGES * PAGE / 2
    commits, bounded, _ = _run_writer(tmp_path / "bounded.sqlite", 1.0, frames=64)
    assert commits > 200
    assert bounded < unbounded / 2, (bounded, unbounded)
