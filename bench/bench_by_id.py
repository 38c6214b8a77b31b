"""`/predict` by employee_id (the online feature store) against `/predict` with the four features.

One `attrition serve` (audit on SQLite, commit before answer, JWT on) with an online feature file of
--employees simulated employees (`attrition hris simulate` + the feature store, as the daily job
builds it), driven by bench_service's closed-loop generator in alternating rounds: the full-feature
request, then the same number of by-id requests for active employees, --rounds times. Alternating on
one server cancels most of a shared machine's drift; the by-id cost is the look-up plus the larger
answer (the features used and their table version). The issue's target: look-up p99 < 2 ms inside
the service.

    .venv/bin/python bench/bench_by_id.py [--employees 5000] [--rounds 3] [--duration 5] [--connections 1]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
from datetime import date
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.bench_service import (  # noqa: E402 - after the path set-up, as a script
    PROFILES,
    RunResult,
    _stop,
    _wait_ready,
    drive,
    free_port,
    request_bytes,
)


def online_file(folder: Path, employees: int, months: int) -> tuple[Path, list[str]]:
    """A materialized online file of a simulated company, and its active ids."""
    from attrition.features.extract import extract_from_frame
    from attrition.features.materialize import materialize
    from attrition.features.online import OnlineStore, online_file_bytes
    from attrition.features.store import refresh
    from attrition.hris.simulate import SimulationConfig, simulate

    store = str(folder / "store")
    last = None
    for extract in simulate(SimulationConfig(employees, months, date(2023, 1, 1), 7)):
        refresh(store, extract_from_frame(extract.frame, extract.extract_date, "bench"))
        last = extract.extract_date
    assert last is not None
    path = folder / "online.json.gz"
    path.write_bytes(online_file_bytes(materialize(store, last)))
    return path, OnlineStore.load(path).active_ids()


def summary(name: str, runs: list[RunResult]) -> str:
    latencies = [ms for run in runs for ms in run.latencies_ms]
    quantiles = statistics.quantiles(latencies, n=100, method="inclusive")
    requests = sum(run.requests for run in runs)
    seconds = sum(run.seconds for run in runs)
    bad = sum(run.non_2xx + run.errors for run in runs)
    return (
        f"| {name} | {requests / seconds:,.0f} | {quantiles[49]:.3f} | {quantiles[98]:.3f} | "
        f"{max(latencies):.2f} | {bad} |"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--package", type=Path, default=REPO / "models" / "attrition-model")
    parser.add_argument("--employees", type=int, default=5000)
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per round and request kind")
    parser.add_argument("--connections", type=int, default=1)
    args = parser.parse_args(argv)
    if not (args.package / "MANIFEST.sha256").is_file():
        print(f"error: {args.package} is not a model package (run the pipeline first)", file=sys.stderr)
        return 2
    if not (1 <= args.rounds <= 10 and 0 < args.duration <= 60 and 1 <= args.connections <= 64):
        print("error: --rounds 1..10, --duration in (0, 60] s, --connections 1..64", file=sys.stderr)
        return 2

    import uvloop

    from attrition.service.core.tokens import mint_token

    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    secret = secrets.token_urlsafe(48)
    token = mint_token(secret, "bench", ["attrition:predict"], 3600)
    with tempfile.TemporaryDirectory(prefix="attrition-bench-by-id-") as tmp:
        online, ids = online_file(Path(tmp), args.employees, args.months)
        port = free_port()
        env = {
            **os.environ,
            "ATTRITION_JWT_SECRET": secret,
            "ATTRITION_SCORES": str(Path(tmp) / "no-scores.csv"),
            "ATTRITION_PACKAGE": str(args.package.resolve()),
            "ATTRITION_AUDIT_DB": str(Path(tmp) / "audit.sqlite"),
            "ATTRITION_ONLINE_FEATURES": str(online),
        }
        command = [
            sys.executable,
            "-m",
            "attrition.cli",
            "serve",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ]
        proc = subprocess.Popen(
            command, env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        by_features: list[RunResult] = []
        by_id: list[RunResult] = []
        try:
            _wait_ready(port, "/readyz", 60, proc)
            features = [request_bytes(port, body, token) for body in PROFILES]
            step = max(len(ids) // 50, 1)
            lookups = [request_bytes(port, {"employee_id": i}, token) for i in ids[::step][:50]]
            for _ in range(args.rounds):
                for name, requests, runs in (("features", features, by_features), ("by id", lookups, by_id)):
                    runs.append(
                        asyncio.run(
                            drive(
                                name,
                                port,
                                requests,
                                duration=args.duration,
                                warmup=0.5,
                                connections=args.connections,
                            )
                        )
                    )
        finally:
            _stop(proc)
    print(
        f"{len(ids):,} active employees in the online file; {args.rounds} alternating rounds of "
        f"{args.duration:.0f} s per kind, {args.connections} keep-alive connection(s), {os.cpu_count()} cores"
    )
    print("| request | requests/s | p50 ms | p99 ms | max ms | non-2xx or errors |")
    print("|---|---:|---:|---:|---:|---:|")
    print(summary("POST /predict with the four features", by_features))
    print(summary('POST /predict {"employee_id": ...} (online store)', by_id))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
