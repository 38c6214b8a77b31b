"""Throughput and tail latency of `attrition serve` vs the deployment plan's naive endpoint.

Both servers run one process each (uvicorn, uvloop + httptools, access log off), one after the
other, on the same verified package. The load generator is this script: one asyncio (uvloop)
process holding N keep-alive TCP connections, each sending a pre-encoded POST /predict and reading
the full response before the next one (closed loop, so concurrency == connections). It parses
only the status line and Content-Length, which keeps it cheap enough to leave the server a core.

The real service runs as deployed: JWT auth on (a predict-scoped token), metrics, audit to SQLite.

    .venv/bin/python bench/bench_service.py --package models/attrition-model \
        [--duration 10] [--connections 8] [--json bench/results.json]

Every loop is bounded: each run stops after --duration seconds (and at most --max-requests);
every socket read has a timeout; servers are stopped by PID.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PROFILES = [
    {"age": 34, "job_role": "Sales", "monthly_income": 3200.5, "years_at_company": 2},
    {"age": 45, "job_role": "Engineering", "monthly_income": 8100.0, "years_at_company": 12},
    {"age": 29, "job_role": "Marketing", "monthly_income": 4500.0, "years_at_company": 1},
    {"age": 52, "job_role": "Finance", "monthly_income": 9900.0, "years_at_company": 20},
    {"age": 38, "job_role": "HR", "monthly_income": 5100.0, "years_at_company": 7},
]
READ_TIMEOUT_S = 5.0


@dataclass
class RunResult:
    """What one load run measured."""

    name: str
    requests: int
    non_2xx: int
    errors: int
    seconds: float
    latencies_ms: list[float]

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    def percentile(self, q: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _request_bytes(port: int, body: dict[str, object], token: str | None) -> bytes:
    payload = json.dumps(body).encode()
    auth = f"Authorization: Bearer {token}\r\n" if token else ""
    head = (
        f"POST /predict HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{auth}"
        f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n"
    )
    return head.encode() + payload


async def _read_response(reader: asyncio.StreamReader) -> int:
    """Status code of one HTTP/1.1 response with Content-Length (the body is discarded)."""
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), READ_TIMEOUT_S)
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    if length:
        await asyncio.wait_for(reader.readexactly(length), READ_TIMEOUT_S)
    return status


async def _connection(
    port: int,
    requests: list[bytes],
    stop_at: float,
    record_from: float,
    result: RunResult,
    max_requests: int,
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    i = 0
    try:
        while True:
            start = time.perf_counter()
            if start >= stop_at or result.requests >= max_requests:
                break
            writer.write(requests[i % len(requests)])
            i += 1
            try:
                status = await _read_response(reader)
            except (TimeoutError, asyncio.IncompleteReadError, ConnectionError):
                result.errors += 1
                break
            end = time.perf_counter()
            if start >= record_from:
                result.requests += 1
                result.latencies_ms.append((end - start) * 1000)
                if not 200 <= status < 300:
                    result.non_2xx += 1
    finally:
        writer.close()


async def _load(
    name: str,
    port: int,
    token: str | None,
    duration: float,
    warmup: float,
    connections: int,
    max_requests: int,
) -> RunResult:
    requests = [_request_bytes(port, body, token) for body in PROFILES]
    now = time.perf_counter()
    record_from, stop_at = now + warmup, now + warmup + duration
    result = RunResult(name, 0, 0, 0, duration, [])
    await asyncio.gather(
        *(_connection(port, requests, stop_at, record_from, result, max_requests) for _ in range(connections))
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
) -> RunResult:
    proc = subprocess.Popen(cmd, env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_ready(port, ready_path, 60, proc)
        return asyncio.run(
            _load(name, port, token, args.duration, args.warmup, args.connections, args.max_requests)
        )
    finally:
        _stop(proc)


def _table(service: RunResult, naive: RunResult, connections: int) -> str:
    rows = [
        "| endpoint | requests/s | p50 ms | p95 ms | p99 ms | non-2xx | errors |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in (service, naive):
        rows.append(
            f"| {r.name} | {r.rps:,.0f} | {r.percentile(50):.2f} | {r.percentile(95):.2f} | "
            f"{r.percentile(99):.2f} | {r.non_2xx} | {r.errors} |"
        )
    ratio = service.rps / naive.rps if naive.rps else float("inf")
    rows.append("")
    rows.append(
        f"Throughput ratio (service / naive): **{ratio:.1f}x** "
        f"({connections} keep-alive connections, {service.seconds:.0f} s per run, "
        f"{os.cpu_count()} cores, server and load generator on the same machine)."
    )
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--package", type=Path, default=REPO / "models" / "attrition-model")
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--max-requests", type=int, default=2_000_000)
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
    with tempfile.TemporaryDirectory(prefix="attrition-bench-") as tmp:
        env = {
            **os.environ,
            "ATTRITION_JWT_SECRET": secret,
            "ATTRITION_AUDIT_DB": str(Path(tmp) / "audit.sqlite"),
            "ATTRITION_SCORES": str(Path(tmp) / "no-scores.csv"),
            "ATTRITION_PACKAGE": str(args.package.resolve()),
        }
        port = _free_port()
        service = _run_server(
            "attrition serve (auth, metrics, audit)",
            [python, "-m", "attrition.cli", "serve", "--port", str(port), "--log-level", "warning"],
            env,
            "/readyz",
            token,
            args,
            port,
        )
        with sqlite3.connect(Path(tmp) / "audit.sqlite") as db:
            audited = db.execute("SELECT COUNT(*) FROM predictions").fetchone()[0]
        port = _free_port()
        naive = _run_server(
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
            env,
            "/docs",
            None,
            args,
            port,
        )
    print(_table(service, naive, args.connections))
    print(
        f"\nAudit rows the service committed (warm-up included, drained on SIGTERM): "
        f"{audited:,} for {service.requests:,} measured requests."
    )
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    r.name: {
                        "rps": r.rps,
                        "p50_ms": r.percentile(50),
                        "p95_ms": r.percentile(95),
                        "p99_ms": r.percentile(99),
                        "mean_ms": statistics.fmean(r.latencies_ms),
                        "requests": r.requests,
                        "non_2xx": r.non_2xx,
                        "errors": r.errors,
                    }
                    for r in (service, naive)
                },
                indent=2,
            )
            + "\n"
        )
    ok = (
        service.rps >= 10 * naive.rps
        and service.percentile(99) <= 10
        and not service.non_2xx
        and audited >= service.requests
    )
    print(f"\ntargets (>= 10x naive throughput, p99 <= 10 ms, no non-2xx): {'met' if ok else 'NOT met'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
