"""`attrition serve` processes on a real audit store under the benchmark's load generator.

Commit-before-answer, measured from outside: every prediction_id a client read is in the store, with
two replicas sharing one PostgreSQL, across a PostgreSQL restart (fail closed past the bound, then
back), and after a SIGKILL of the service. Every wait is bounded.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from bench.bench_service import RunResult, drive, predict_requests

from tests.support.postgres import PostgresServer, temporary_postgres
from tests.support.service import (
    SAMPLE_EMPLOYEE,
    SECRET,
    bearer,
    clean_env,
    make_token,
    serve_subprocess,
    settings_for,
    stored_rows,
)

pytestmark = pytest.mark.e2e

OUTAGE_BOUND_S = 2.0
LOAD_CONNECTIONS = 4


def _port(url: str) -> int:
    port = urlsplit(url).port
    assert port is not None
    return port


def _stored_ids(audit_db: str) -> list[str]:
    return [row["prediction_id"] for row in stored_rows(audit_db, "SELECT prediction_id FROM predictions")]


def _stored_count(audit_db: str) -> int:
    return int(stored_rows(audit_db, "SELECT COUNT(*) AS n FROM predictions")[0]["n"])


def _load(url: str, seconds: float, stop: threading.Event | None = None) -> RunResult:
    port = _port(url)
    return asyncio.run(
        drive(
            url,
            port,
            predict_requests(port, make_token(sub="load", ttl=600)),
            duration=seconds,
            connections=LOAD_CONNECTIONS,
            collect_ids=True,
            read_timeout_s=4 * OUTAGE_BOUND_S + 5,  # a request waits at most 2 x the bound, then 503
            stop=stop,
        )
    )


@contextmanager
def _load_in_background(url: str, seconds: float) -> Iterator[Callable[[], RunResult]]:
    """Closed-loop load in a thread while the test does something else; the callable stops it."""
    stop = threading.Event()
    results: list[RunResult] = []
    thread = threading.Thread(target=lambda: results.append(_load(url, seconds, stop)), daemon=True)
    thread.start()

    def finish() -> RunResult:
        stop.set()
        thread.join(seconds + 30)
        assert not thread.is_alive() and results, "the load generator did not finish"
        return results[0]

    try:
        yield finish
    finally:
        stop.set()
        thread.join(seconds + 30)


def _wait_for(probe: Callable[[], bool], what: str, timeout_s: float, log: Path) -> None:
    deadline = time.monotonic() + timeout_s
    while not probe():
        assert time.monotonic() < deadline, f"timed out waiting for {what}: {log.read_text()[-2000:]}"
        time.sleep(0.1)


def _refusals(client: httpx.Client) -> float:
    from prometheus_client.parser import text_string_to_metric_families

    for family in text_string_to_metric_families(client.get("/metrics").text):
        if family.name == "attrition_audit_refusals":
            return sum(sample.value for sample in family.samples if sample.name.endswith("_total"))
    return 0.0


def test_two_replicas_on_one_postgres_store_every_answered_row(
    model_package: Path, scores_csv: Path, tmp_path: Path, postgres: PostgresServer
) -> None:
    url = postgres.new_database()  # empty: both replicas migrate it at once (advisory lock)
    settings = settings_for(tmp_path, model_package, scores_csv, audit_db=url)
    with (
        serve_subprocess(settings, tmp_path / "a.log") as first,
        serve_subprocess(settings, tmp_path / "b.log") as second,
    ):

        async def both() -> list[RunResult]:
            return list(
                await asyncio.gather(*(asyncio.to_thread(_load, s.url, 3.0) for s in (first, second)))
            )

        results = asyncio.run(both())
        answered = [pid for result in results for pid in result.prediction_ids]
        stored = _stored_ids(url)  # read while both still run: committed before answered
    assert all(result.answered > 50 and result.errors == 0 for result in results), results
    assert all(set(result.statuses) == {200} for result in results)
    assert len(answered) == sum(result.answered for result in results)
    assert sorted(stored) == sorted(answered)  # rows committed == predictions answered, none twice


@pytest.mark.postgres  # its own server: it stops and starts it
def test_a_postgres_restart_loses_nothing_answered_and_readiness_fails_closed_then_recovers(
    model_package: Path, scores_csv: Path, tmp_path: Path
) -> None:
    log = tmp_path / "serve.log"
    with temporary_postgres(prefix="attrition-restart-pg-") as pg:
        url = pg.new_database()
        settings = settings_for(tmp_path, model_package, scores_csv, audit_db=url)
        env = clean_env(ATTRITION_JWT_SECRET=SECRET, ATTRITION_AUDIT_OUTAGE_BOUND_S=str(OUTAGE_BOUND_S))
        running = True
        with serve_subprocess(settings, log, env=env) as proc, httpx.Client(base_url=proc.url) as client:
            try:
                with _load_in_background(proc.url, seconds=60) as finish:
                    _wait_for(lambda: _stored_count(url) >= 50, "the load to flow", 30, log)
                    pg.stop("fast")
                    running = False
                    _wait_for(lambda: client.get("/readyz").status_code == 503, "/readyz 503", 20, log)
                    down = client.get("/readyz").json()
                    refused = client.post("/predict", json=SAMPLE_EMPLOYEE, headers=bearer(make_token()))
                    # Down past the bound: the waiting requests fail too, and the load's next ones are
                    # refused at once (counted per endpoint) instead of queueing unaudited.
                    _wait_for(lambda: _refusals(client) >= 20, "refusals under load", 20, log)
                    pg.start()
                    running = True
                    _wait_for(lambda: client.get("/readyz").status_code == 200, "/readyz 200", 30, log)
                    recovered = _stored_count(url)
                    _wait_for(lambda: _stored_count(url) >= recovered + 20, "the load to flow again", 30, log)
                    result = finish()
            finally:
                if not running:
                    pg.start()
            after = client.post("/predict", json=SAMPLE_EMPLOYEE, headers=bearer(make_token()))
        stored = set(_stored_ids(url))
    assert down["status"] == "not ready" and down["audit"]["ok"] is False
    assert "audit store failing" in down["reason"] and f"bound {OUTAGE_BOUND_S:g} s" in down["reason"]
    assert refused.status_code == 503 and refused.headers["retry-after"]
    assert "audit store" in refused.json()["detail"]
    assert after.status_code == 200 and after.json()["prediction_id"] in stored
    assert result.errors == 0 and result.statuses.get(503, 0) >= 19 and result.answered > 50, result.statuses
    assert set(result.prediction_ids) <= stored  # nothing answered was lost
    assert "audit store back after" in log.read_text()


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_sigkill_under_load_keeps_every_answered_prediction(
    model_package: Path,
    scores_csv: Path,
    tmp_path: Path,
    backend: str,
    request: pytest.FixtureRequest,
) -> None:
    if backend == "sqlite":
        url = str(tmp_path / "audit.sqlite")
    else:
        server: PostgresServer = request.getfixturevalue("postgres")
        url = server.new_database()
    settings = settings_for(tmp_path, model_package, scores_csv, audit_db=url)
    with (
        serve_subprocess(settings, tmp_path / "serve.log") as proc,
        _load_in_background(proc.url, seconds=30) as finish,
    ):
        # committed before answered: 150 rows stored means well over 100 answers left (4 connections)
        _wait_for(lambda: _stored_count(url) >= 150, "the load to flow", 30, tmp_path / "serve.log")
        proc.proc.kill()  # SIGKILL: no shutdown, no drain
        assert proc.wait_exit(10) == -9
        result = finish()
    stored = set(_stored_ids(url))
    assert result.answered > 100, result
    assert result.errors > 0  # the kill cut requests in flight: those answers never left
    missing = set(result.prediction_ids) - stored
    assert missing == set(), f"{len(missing)} of {result.answered} answered predictions not stored"
