"""`attrition serve` against a no-op FastAPI POST with the same body (issue 26): p99 and throughput ratios.

Both servers run with uvloop and httptools on 127.0.0.1; the service answers only after its audit row is
committed (SQLite here). Each connection count runs the two servers back to back for --rounds rounds in
alternating order, so the machine's load drift hits both; the table gives pooled figures and the ratios
the issue targets (p99 <= 2x the no-op's, throughput >= 0.5x). --writer-thread adds a third server,
`attrition serve` with ATTRITION_AUDIT_LOOP_COMMITS=false (every row handed to the audit writer
thread, as before attrition.audit.loop_commit), to the same rounds; --postgres adds the service with
its audit store on PostgreSQL (a temporary server with fsync on, as bench_service.py starts, or
--pg-url), where every row goes through the writer thread and a network round trip.

    .venv/bin/python bench/bench_overhead.py [--duration 8] [--rounds 2] [--connections 1 8] \
        [--writer-thread] [--postgres [--pg-url URL]]

Every loop is bounded: each run stops after --duration seconds (and at most --max-requests).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import secrets
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # bench.bench_service, run as a script

from bench.bench_service import PROFILES, REPO, RunResult, _postgres, _run_server, free_port, request_bytes

P99_TARGET, THROUGHPUT_TARGET = 2.0, 0.5
SERVE, NOOP, WRITER_THREAD = "attrition serve", "no-op FastAPI", "attrition serve, writer thread"
POSTGRES = "attrition serve, PostgreSQL"


def _commands(kind: str, port: int) -> tuple[list[str], str]:
    if kind in (SERVE, WRITER_THREAD, POSTGRES):
        return [
            sys.executable,
            "-m",
            "attrition.cli",
            "serve",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ], "/readyz"
    uvicorn = [sys.executable, "-m", "uvicorn", "--factory", "bench.noop_reference:create_app"]
    options = ["--port", str(port), "--loop", "uvloop", "--http", "httptools", "--no-access-log"]
    return [*uvicorn, *options, "--log-level", "warning"], "/readyz"


def _pool(total: RunResult, result: RunResult) -> None:
    total.requests += result.requests
    total.answered += result.answered
    total.non_2xx += result.non_2xx
    total.errors += result.errors
    total.seconds += result.seconds
    total.latencies_ms.extend(result.latencies_ms)


def alternating_rounds(
    args: argparse.Namespace,
    env: dict[str, str],
    token: str,
    audit_db: Callable[[int], Path],
    connections: int,
    requests: Callable[[int, str | None], list[bytes]] | None = None,
) -> dict[str, RunResult]:
    """Both servers --rounds times in alternating order (the machine's drift hits both), pooled."""
    kinds = (
        (SERVE, NOOP)
        + ((WRITER_THREAD,) if args.writer_thread else ())
        + ((POSTGRES,) if args.postgres else ())
    )
    pooled = {kind: RunResult(kind) for kind in kinds}
    for round_number in range(args.rounds):
        for kind in list(pooled) if round_number % 2 == 0 else list(pooled)[::-1]:
            port = free_port()
            command, ready = _commands(kind, port)
            run_env = {**env, "ATTRITION_AUDIT_DB": str(audit_db(round_number))}
            if kind == POSTGRES:
                run_env["ATTRITION_AUDIT_DB"] = args.postgres_url
            if kind == WRITER_THREAD:
                run_env["ATTRITION_AUDIT_LOOP_COMMITS"] = "false"
            run_args = argparse.Namespace(**{**vars(args), "connections": connections})
            _pool(pooled[kind], _run_server(kind, command, run_env, ready, token, run_args, port, requests))
    return pooled


def batch_table(args: argparse.Namespace, env: dict[str, str], token: str, tmp: Path) -> None:
    """/predict/batch of --batch employees (the profiles in turn) at one connection: employees per second."""

    def batch_requests(port: int, token: str | None) -> list[bytes]:
        employees = [PROFILES[i % len(PROFILES)] for i in range(args.batch)]
        return [request_bytes(port, {"employees": employees}, token, path="/predict/batch")]

    pooled = alternating_rounds(args, env, token, lambda n: tmp / f"audit-batch-{n}.db", 1, batch_requests)
    print()
    print(f"| /predict/batch of {args.batch}, 1 connection | employees/s | p50 ms | p99 ms | non-2xx |")
    print("|---|---:|---:|---:|---:|")
    for kind, r in pooled.items():
        print(
            f"| {kind} | {r.rps * args.batch:,.0f} | {r.percentile(50):.2f} | {r.percentile(99):.2f} "
            f"| {r.non_2xx} |"
        )
    for kind in pooled:
        if kind != NOOP:
            print(f"batch employees/s, {kind}: {pooled[kind].rps / pooled[NOOP].rps:.2f}x the no-op's")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--package", type=Path, default=REPO / "models" / "attrition-model")
    parser.add_argument("--duration", type=float, default=8.0)
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--connections", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--max-requests", type=int, default=2_000_000)
    parser.add_argument(
        "--batch", type=int, default=100, help="employees per /predict/batch request (0: skip that table)"
    )
    parser.add_argument(
        "--writer-thread",
        action="store_true",
        help="also the service with every audit row on the writer thread",
    )
    parser.add_argument(
        "--postgres", action="store_true", help="also the service with its audit store on PostgreSQL"
    )
    parser.add_argument(
        "--pg-url", help="with --postgres: an existing database instead of a temporary server"
    )
    args = parser.parse_args(argv)
    if not (args.package / "MANIFEST.sha256").is_file():
        print(f"error: {args.package} is not a model package (run the pipeline first)", file=sys.stderr)
        return 2
    if not (0 < args.duration <= 300 and 1 <= args.rounds <= 20 and 0 <= args.batch <= 100):
        print(
            "error: --duration must be in (0, 300] s, --rounds in 1..20, --batch in 0..100", file=sys.stderr
        )
        return 2

    import uvloop

    from attrition.service.core.tokens import mint_token

    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    secret = secrets.token_urlsafe(48)
    token = mint_token(secret, "bench", ["attrition:predict"], 3600)
    print("| connections | server | requests/s | p50 ms | p99 ms | non-2xx | errors |")
    print("|---|---|---:|---:|---:|---:|---:|")
    ratios = []
    with tempfile.TemporaryDirectory(prefix="attrition-bench-") as tmp, contextlib.ExitStack() as stack:
        args.postgres_url = stack.enter_context(_postgres(args.pg_url)) if args.postgres else None
        env = {
            **os.environ,
            "ATTRITION_JWT_SECRET": secret,
            "ATTRITION_SCORES": str(Path(tmp) / "none.csv"),
            "ATTRITION_PACKAGE": str(args.package.resolve()),
        }
        for connections in args.connections:
            pooled = alternating_rounds(
                args, env, token, lambda n, c=connections: Path(tmp) / f"audit-{c}-{n}.db", connections
            )
            for kind, r in pooled.items():
                print(
                    f"| {connections} | {kind} | {r.rps:,.0f} | {r.percentile(50):.2f} "
                    f"| {r.percentile(99):.2f} | {r.non_2xx} | {r.errors} |"
                )
            noop = pooled[NOOP]
            for kind, r in pooled.items():
                if kind != NOOP:
                    ratios.append(
                        (kind, connections, r.percentile(99) / noop.percentile(99), r.rps / noop.rps)
                    )
        if args.batch:
            batch_table(args, env, token, Path(tmp))
    print()
    for kind, connections, p99, throughput in ratios:
        met = p99 <= P99_TARGET and throughput >= THROUGHPUT_TARGET
        print(
            f"{kind}, {connections} connection(s): p99 {p99:.1f}x the no-op's (target <= {P99_TARGET:g}x), "
            f"throughput {throughput:.2f}x (target >= {THROUGHPUT_TARGET:g}x): {'met' if met else 'NOT met'}"
        )
    print(
        f"({args.rounds} alternating rounds of {args.duration:g} s per server, {os.cpu_count()} cores shared)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
