"""Group commit: an awaited record is committed; faults lose nothing that was answered.

The process tests drive tests/audit/load_writer.py, a stand-in for a service process that answers
each request only after `await store.record(...)` returned, and compare what it answered with what
PostgreSQL (or SQLite) holds.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from attrition.audit.errors import AuditConfigError, AuditUnavailableError
from attrition.audit.writer import AuditStore
from tests.audit.builders import (
    PROCESS_TIMEOUT_S,
    REPO_ROOT,
    column,
    count,
    open_store,
    prediction,
    python_module,
)
from tests.support.postgres import PostgresServer

HEALTH_WAIT_S = 30.0


def test_an_awaited_record_is_already_committed(store_url: str) -> None:
    async def requests(store: AuditStore) -> list[str]:
        async def one(number: int) -> str:
            rows = [prediction(f"E{number}"), prediction(f"E{number}", opt_out=True)]
            await store.record(rows)
            # another connection (another replica, the monitor) sees the rows the moment we answer
            assert count(store_url, "predictions", f"prediction_id = '{rows[0].prediction_id}'") == 1
            return rows[0].prediction_id

        return await asyncio.gather(*(one(n) for n in range(40)))

    with open_store(store_url) as store:
        answered = asyncio.run(requests(store))
        assert store.stats.committed_rows == 80 and store.stats.failed_rows == 0
        assert 1 <= store.stats.transactions <= 40
        assert store.health().ok and store.health().backend in ("sqlite", "postgresql")
    assert count(store_url, "predictions") == 80
    leaked = "opt_out = 1 AND (inputs IS NOT NULL OR employee_id IS NOT NULL)"
    assert (
        count(store_url, "predictions", "opt_out = 1") == 40 and count(store_url, "predictions", leaked) == 0
    )
    assert set(answered) <= set(column(store_url, "SELECT prediction_id FROM predictions"))


def test_a_retried_row_is_stored_once(store_url: str) -> None:
    row = prediction()
    with open_store(store_url) as store:
        store.record_blocking([row])
        store.record_blocking([row])  # as after a commit whose acknowledgement was lost
    assert count(store_url, "predictions") == 1


def test_a_closed_store_refuses_rows_and_reports_unhealthy(tmp_path: Path) -> None:
    store = AuditStore(str(tmp_path / "audit.sqlite"))
    store.open()
    store.record_blocking([prediction()])
    store.close()
    assert not store.health().ok and store.health().reason == "audit store closed"
    with pytest.raises(AuditUnavailableError):
        store.record_blocking([prediction()])


def _wait_healthy(store: AuditStore, want: bool) -> None:
    deadline = time.monotonic() + HEALTH_WAIT_S
    while store.health().ok is not want:
        assert time.monotonic() < deadline, store.health()
        time.sleep(0.05)


def test_an_outage_past_the_bound_fails_closed_then_recovers(postgres: PostgresServer, pg_url: str) -> None:
    with open_store(pg_url, outage_bound_s=0.5) as store:
        store.record_blocking([prediction("E1")])
        postgres.stop()
        try:
            waiting = prediction("E2")
            with pytest.raises(AuditUnavailableError, match="unavailable"):
                store.record_blocking([waiting])  # retried for the bound, then refused: a 503
            health = store.health()
            assert not health.ok and "failing for" in (health.reason or "")
            with pytest.raises(AuditUnavailableError, match="failing for"):
                store.record_blocking([prediction("E3")])  # refused at once while down
        finally:
            postgres.start()
        _wait_healthy(store, True)  # the writer probes with back-off and finds it back
        store.record_blocking([prediction("E4")])
    assert sorted(column(pg_url, "SELECT employee_id FROM predictions")) == ["E1", "E4"]


def _answered(stdout: str) -> tuple[list[str], dict[str, int]]:
    lines = stdout.splitlines()
    stats = [json.loads(line[7:]) for line in lines if line.startswith("#stats ")]
    return [line for line in lines if line and not line.startswith("#")], (stats[0] if stats else {})


def _writer(url: str, rows: int, concurrency: int = 16) -> subprocess.Popen[str]:
    return subprocess.Popen(
        python_module("tests.audit.load_writer", url, str(rows), str(concurrency)),
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.e2e
def test_two_writer_processes_under_load_commit_every_answered_row(pg_url: str) -> None:
    writers = [_writer(pg_url, 3000), _writer(pg_url, 3000)]
    answered: list[str] = []
    for writer in writers:
        out, err = writer.communicate(timeout=PROCESS_TIMEOUT_S)
        assert writer.returncode == 0, err
        ids, stats = _answered(out)
        assert len(ids) == 3000 and stats["refused"] == 0 and stats["committed_rows"] == 3000
        assert stats["transactions"] < 3000  # several requests shared a commit
        answered += ids
    stored = column(pg_url, "SELECT prediction_id FROM predictions")
    assert len(stored) == len(answered) == 6000 and set(stored) == set(answered)


@pytest.mark.e2e
def test_postgres_restarted_under_load_loses_nothing(postgres: PostgresServer, pg_url: str) -> None:
    writer = _writer(pg_url, 6000)
    assert writer.stdout is not None
    for _ in range(500):  # wait until the load is flowing
        if not writer.stdout.readline():
            break
    postgres.stop()
    time.sleep(1.0)  # down for a second: requests wait, the writer retries with back-off
    postgres.start()
    rest, err = writer.communicate(timeout=PROCESS_TIMEOUT_S)
    assert writer.returncode == 0, err
    _ids, stats = _answered(rest)
    assert stats["retries"] > 0 and stats["refused"] == 0 and stats["failed_rows"] == 0
    assert count(pg_url, "predictions") == 6000  # every answered row, and nothing twice


@pytest.mark.e2e
@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_sigkill_under_load_loses_no_answered_row(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    url = str(tmp_path / "audit.sqlite") if backend == "sqlite" else request.getfixturevalue("pg_url")
    writer = _writer(url, 50_000)
    assert writer.stdout is not None
    answered: list[str] = []
    while len(answered) < 2000:  # bounded: the writer stops by itself after 50,000 rows
        line = writer.stdout.readline()
        if not line:
            break
        answered.append(line.strip())
    os.kill(writer.pid, signal.SIGKILL)
    rest, _ = writer.communicate(timeout=PROCESS_TIMEOUT_S)
    answered += [line for line in rest.splitlines() if line and not line.startswith("#")]
    assert writer.returncode == -signal.SIGKILL and 2000 <= len(answered) < 50_000
    stored = set(column(url, "SELECT prediction_id FROM predictions"))
    assert set(answered) <= stored  # rows may exceed answers (killed before replying), never the reverse


def test_an_unreachable_store_fails_open_in_one_line_naming_the_setting() -> None:
    store = AuditStore("postgresql://app:pw@127.0.0.1:1/audit")
    with pytest.raises(AuditConfigError) as caught:
        store.open()
    message = str(caught.value)
    assert message.startswith("ATTRITION_AUDIT_DB: cannot connect") and "\n" not in message
    assert "pw" not in message.replace("postgresql", "")
    assert not store.health().ok  # never opened: a service must not report ready


def test_the_service_protocol_names_start_and_request_purge(tmp_path: Path) -> None:
    url = str(tmp_path / "audit.sqlite")
    store = AuditStore(url)
    store.start()
    try:
        store.record_blocking([prediction("E1", ts=0.0), prediction("E2")])
        assert store.request_purge(180 * 86400).result(timeout=30) == 1
        assert store.request_purge(180 * 86400).result(timeout=30) == 0
    finally:
        store.close()
    assert column(url, "SELECT employee_id FROM predictions") == ["E2"]
    assert column(url, "SELECT actor FROM admin_log") == ["service"]


def test_a_row_the_database_rejects_fails_its_request_and_the_writer_goes_on(tmp_path: Path) -> None:
    url = str(tmp_path / "audit.sqlite")
    broken = dataclasses.replace(prediction("E1"), caller=None)  # type: ignore[arg-type]  # NOT NULL
    with open_store(url) as store:
        with pytest.raises(AuditUnavailableError, match="audit write failed"):
            store.record_blocking([broken])  # a 503: no retry loop for a row that can never be written
        store.record_blocking([prediction("E2")])
        assert store.health().ok and store.stats.failed_rows == 1
    assert column(url, "SELECT employee_id FROM predictions") == ["E2"]
