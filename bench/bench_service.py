"""Throughput and tail latency of `attrition serve` on each audit backend vs the plan's naive endpoint.

Three servers run one process each (uvicorn, uvloop + httptools, access log off), one after the
other, on the same verified package and under the same load: `attrition serve` with its audit store
on SQLite, the same with the store on PostgreSQL, and the deployment plan's naive endpoint. The
service runs as deployed: JWT auth on (a predict-scoped token), metrics, and commit-before-answer
audit (a response leaves only once its audit row is committed, group-committed with the rows of
concurrent requests).

The load generator is this script: one asyncio (uvloop) process holding N keep-alive TCP
connections, each sending a pre-encoded POST /predict and reading the full response before the next
one (closed loop, so concurrency == connections). It parses only the status line and Content-Length
(and, when asked, the body's prediction_id), which keeps it cheap enough to leave the server a core.
The tests in tests/service/commands/test_serve_postgres.py drive servers with the same generator.

PostgreSQL is a real server: a temporary one from the binaries the `pgserver` wheel bundles (fsync
on, Unix socket only), stopped and deleted at the end; or --pg-url.

    .venv/bin/python bench/bench_service.py --package models/attrition-model \
        [--duration 10] [--connections 8] [--pg-url URL] [--json bench/results.json]

What the per-prediction reasons cost (issue 24) is bench/bench_reasons.py, built on this file's driver.

Every loop is bounded: each run stops after --duration seconds (and at most --max-requests);
every socket read has a timeout; servers are stopped by PID. One file (~410 lines): the load driver
and the servers it starts, which bench_by_id.py and bench_reasons.py import.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PROFILES: list[dict[str, object]] = [
    {"age": 34, "job_role": "Sales", "monthly_income": 3200.5, "years_at_company": 2},
    {"age": 45, "job_role": "Engineering", "monthly_income": 8100.0, "years_at_company": 12},
    {"age": 29, "job_role": "Marketing", "monthly_income": 4500.0, "years_at_company": 1},
    {"age": 52, "job_role": "Finance", "monthly_income": 9900.0, "years_at_company": 20},
    {"age": 38, "job_role": "HR", "monthly_income": 5100.0, "years_at_company": 7},
]
READ_TIMEOUT_S = 5.0


@dataclass
class RunResult:
    """What one load run measured. `requests`/`latencies_ms` cover the measured window only;
    `answered` counts every 2xx the generator read (warm-up included), `prediction_ids` their ids
    when collected."""

    name: str
    requests: int = 0
    non_2xx: int = 0
    errors: int = 0
    seconds: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    answered: int = 0
    prediction_ids: list[str] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, q: float) -> float:
        ordered = sorted(self.latencies_ms)
        if not ordered:
            return float("nan")
        return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def request_bytes(port: int, body: dict[str, object], token: str | None, path: str = "/predict") -> bytes:
    """One pre-encoded HTTP/1.1 keep-alive POST."""
    payload = json.dumps(body).encode()
    auth = f"Authorization: Bearer {token}\r\n" if token else ""
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{auth}"
        f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n"
    )
    return head.encode() + payload


def predict_requests(port: int, token: str | None) -> list[bytes]:
    """The benchmark's request mix: POST /predict for each profile in turn."""
    return [request_bytes(port, body, token) for body in PROFILES]


async def _read_response(reader: asyncio.StreamReader, timeout_s: float) -> tuple[int, bytes]:
    """Status code and body of one HTTP/1.1 response with Content-Length."""
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout_s)
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    body = await asyncio.wait_for(reader.readexactly(length), timeout_s) if length else b""
    return status, body


async def _connection(
    port: int,
    requests: list[bytes],
    stop_at: float,
    record_from: float,
    result: RunResult,
    max_requests: int,
    collect_ids: bool,
    read_timeout_s: float,
    stop: threading.Event | None,
) -> None:
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        result.errors += 1
        return
    i = 0
    try:
        while True:
            start = time.perf_counter()
            if start >= stop_at or result.requests >= max_requests or (stop is not None and stop.is_set()):
                break
            writer.write(requests[i % len(requests)])
            i += 1
            try:
                status, body = await _read_response(reader, read_timeout_s)
            except (TimeoutError, asyncio.IncompleteReadError, ConnectionError):
                result.errors += 1  # includes a server killed mid-request: that answer never came
                break
            end = time.perf_counter()
            result.statuses[status] = result.statuses.get(status, 0) + 1
            if 200 <= status < 300:
                result.answered += 1
                if collect_ids:
                    result.prediction_ids.append(json.loads(body)["prediction_id"])
            if start >= record_from:
                result.requests += 1
                result.latencies_ms.append((end - start) * 1000)
                if not 200 <= status < 300:
                    result.non_2xx += 1
    finally:
        writer.close()


async def drive(
    name: str,
    port: int,
    requests: list[bytes],
    *,
    duration: float,
    connections: int,
    warmup: float = 0.0,
    max_requests: int = 2_000_000,
    collect_ids: bool = False,
    read_timeout_s: float = READ_TIMEOUT_S,
    stop: threading.Event | None = None,
) -> RunResult:
    """Closed-loop load: `connections` keep-alive connections until `duration` (or `stop`) ends it."""
    now = time.perf_counter()
    record_from, stop_at = now + warmup, now + warmup + duration
    result = RunResult(name)
    await asyncio.gather(
        *(
            _connection(
                port, requests, stop_at, record_from, result, max_requests, collect_ids, read_timeout_s, stop
            )
            for _ in range(connections)
        )
    )
    result.seconds = min(duration, max(time.perf_counter() - record_from, 1e-9))
    return result


def _wait_ready(port: int, path: str, deadline_s: float, proc: subprocess.Popen[bytes]) -> None:
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before becoming ready")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=1) as reply:
                if reply.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"server on port {port} not ready after {deadline_s} s")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)


def _run_server(
    name: str,
    cmd: list[str],
    env: dict[str, str],
    ready_path: str,
    token: str | None,
    args: argparse.Namespace,
    port: int,
    requests: Callable[[int, str | None], list[bytes]] | None = None,
) -> RunResult:
    """Start `cmd`, wait for `ready_path`, drive it (with `requests(port, token)`, default
    predict_requests), stop it."""
    proc = subprocess.Popen(cmd, env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_ready(port, ready_path, 60, proc)
        return asyncio.run(
            drive(
                name,
                port,
                (requests or predict_requests)(port, token),
                duration=args.duration,
                warmup=args.warmup,
                connections=args.connections,
                max_requests=args.max_requests,
            )
        )
    finally:
        _stop(proc)  # SIGTERM: the store commits what is queued (nothing is: every answer waited)


def count_rows(audit_db: str) -> int:
    """Prediction rows in an audit store (either backend)."""
    import sqlalchemy as sa

    from attrition.audit.database import create_audit_engine, parse_audit_db

    engine = create_audit_engine(parse_audit_db(audit_db), must_exist=True)
    try:
        with engine.connect() as connection:
            return int(connection.execute(sa.text("SELECT COUNT(*) FROM predictions")).scalar_one())
    finally:
        engine.dispose()


@contextlib.contextmanager
def _postgres(pg_url: str | None) -> Iterator[str]:
    """An ATTRITION_AUDIT_DB URL on PostgreSQL: --pg-url, or a fresh database on a temporary server."""
    if pg_url:
        yield pg_url
        return
    sys.path.insert(0, str(REPO))  # tests.support.postgres starts the temporary server
    from tests.support.postgres import temporary_postgres

    with temporary_postgres(prefix="attrition-bench-pg-") as server:
        yield server.new_database()


def _table(runs: list[RunResult], rows: dict[str, int], connections: int) -> str:
    lines = [
        "| server | requests/s | p50 ms | p95 ms | p99 ms | non-2xx | errors | audit rows / 2xx answered |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in runs:
        audit = f"{rows[r.name]:,} / {r.answered:,}" if r.name in rows else "(no audit)"
        lines.append(
            f"| {r.name} | {r.rps:,.0f} | {r.percentile(50):.2f} | {r.percentile(95):.2f} | "
            f"{r.percentile(99):.2f} | {r.non_2xx} | {r.errors} | {audit} |"
        )
    sqlite, postgres, naive = runs
    lines.append("")
    lines.append(
        f"PostgreSQL / SQLite: {postgres.rps / sqlite.rps:.2f}x throughput, p99 "
        f"{postgres.percentile(99) / sqlite.percentile(99):.2f}x; service (SQLite) / naive: "
        f"{sqlite.rps / naive.rps:.1f}x throughput ({connections} keep-alive connections, "
        f"{sqlite.seconds:.0f} s per run after warm-up, {os.cpu_count()} cores, servers, database and "
        "load generator on the same machine). Audit rows include the warm-up, as does '2xx answered'."
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--package", type=Path, default=REPO / "models" / "attrition-model")
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--max-requests", type=int, default=2_000_000)
    parser.add_argument("--pg-url", help="an existing PostgreSQL database for the audit store")
    parser.add_argument("--json", type=Path, help="also write the raw figures here")
    args = parser.parse_args(argv)
    if not (args.package / "MANIFEST.sha256").is_file():
        print(f"error: {args.package} is not a model package (run the pipeline first)", file=sys.stderr)
        return 2
    if not (0 < args.duration <= 300 and 0 < args.connections <= 256):
        print("error: --duration must be in (0, 300] s and --connections in 1..256", file=sys.stderr)
        return 2

    import uvloop

    from attrition.service.core.tokens import mint_token

    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    secret = secrets.token_urlsafe(48)
    token = mint_token(secret, "bench", ["attrition:predict"], 3600)
    python = sys.executable
    runs: list[RunResult] = []
    rows: dict[str, int] = {}
    with tempfile.TemporaryDirectory(prefix="attrition-bench-") as tmp, _postgres(args.pg_url) as pg_url:
        base_env = {
            **os.environ,
            "ATTRITION_JWT_SECRET": secret,
            "ATTRITION_SCORES": str(Path(tmp) / "no-scores.csv"),
            "ATTRITION_PACKAGE": str(args.package.resolve()),
        }
        for name, audit_db in (
            ("attrition serve, audit on SQLite", str(Path(tmp) / "audit.sqlite")),
            ("attrition serve, audit on PostgreSQL", pg_url),
        ):
            port = free_port()
            result = _run_server(
                name,
                [python, "-m", "attrition.cli", "serve", "--port", str(port), "--log-level", "warning"],
                {**base_env, "ATTRITION_AUDIT_DB": audit_db},
                "/readyz",
                token,
                args,
                port,
            )
            runs.append(result)
            rows[name] = count_rows(audit_db)
        port = free_port()
        runs.append(
            _run_server(
                "naive reference (plan: DataFrame + predict_proba)",
                [
                    python,
                    "-m",
                    "uvicorn",
                    "--factory",
                    "bench.naive_reference:create_app",
                    "--port",
                    str(port),
                    "--loop",
                    "uvloop",
                    "--http",
                    "httptools",
                    "--no-access-log",
                    "--log-level",
                    "warning",
                ],
                base_env,
                "/docs",
                None,
                args,
                port,
            )
        )
    print(_table(runs, rows, args.connections))
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    r.name: {
                        "rps": r.rps,
                        "p50_ms": r.percentile(50),
                        "p95_ms": r.percentile(95),
                        "p99_ms": r.percentile(99),
                        "mean_ms": statistics.fmean(r.latencies_ms) if r.latencies_ms else None,
                        "requests": r.requests,
                        "answered_2xx": r.answered,
                        "audit_rows": rows.get(r.name),
                        "non_2xx": r.non_2xx,
                        "errors": r.errors,
                    }
                    for r in runs
                },
                indent=2,
            )
            + "\n"
        )
    sqlite, postgres, naive = runs
    lossless = all(rows[r.name] == r.answered for r in (sqlite, postgres))
    ok = (
        sqlite.rps >= 10 * naive.rps
        and sqlite.percentile(99) <= 10
        and not sqlite.non_2xx
        and not postgres.non_2xx
        and lossless
    )
    print(
        "\ntargets (service on SQLite >= 10x naive throughput with p99 <= 10 ms; no non-2xx; audit rows "
        f"== 2xx answered on both backends): {'met' if ok else 'NOT met'}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
