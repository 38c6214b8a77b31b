"""What group commit costs: awaited audit records per second and their latency, SQLite vs PostgreSQL.

Each run opens a fresh store and drives it like a service process does: C concurrent request tasks
on one event loop, each building one prediction row and answering only after `await
store.record([row])` returned (so each latency is the wait for a commit). Reported per backend
and concurrency: records/s, p50/p99 of that wait, transactions (commits), rows per commit, and
rows in the database versus records answered.

PostgreSQL is a real server: --pg-url, or (default) a temporary one from the binaries the
`pgserver` wheel bundles, fsync on, on a Unix socket; it is stopped and deleted at the end.

    .venv/bin/python bench/bench_audit.py [--records 20000] [--concurrency 1 8 64] [--pg-url URL]

Every run is bounded by --records and --max-seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # tests.support.postgres starts the temporary PostgreSQL

from tests.audit.builders import count  # noqa: E402
from tests.support.postgres import temporary_postgres  # noqa: E402

from attrition.audit.records import PredictionRow  # noqa: E402
from attrition.audit.writer import AuditStore  # noqa: E402

FEATURES: dict[str, object] = {
    "age": 34,
    "job_role": "Sales",
    "monthly_income": 3200.5,
    "years_at_company": 2,
}


@dataclass
class Run:
    """One backend at one concurrency."""

    backend: str
    concurrency: int
    answered: int
    seconds: float
    latencies_ms: list[float]
    transactions: int
    stored: int

    def line(self) -> str:
        ordered = sorted(self.latencies_ms)
        p99 = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]
        return (
            f"| {self.backend} | {self.concurrency} | {self.answered / self.seconds:,.0f} | "
            f"{statistics.median(ordered):.2f} | {p99:.2f} | {self.transactions:,} | "
            f"{self.answered / max(self.transactions, 1):.1f} | {self.stored:,} / {self.answered:,} |"
        )


async def _drive(
    store: AuditStore, records: int, concurrency: int, max_seconds: float
) -> tuple[int, list[float]]:
    latencies: list[float] = []
    deadline = time.monotonic() + max_seconds
    remaining = iter(range(records))

    async def request() -> None:
        for number in remaining:
            if time.monotonic() > deadline:
                return
            row = PredictionRow.for_prediction(
                caller="bench",
                endpoint="/predict",
                model_version="v-bench",
                source="model",
                opt_out=False,
                employee_id=f"E{number % 1000:05d}",
                inputs=FEATURES,
                probability=0.25,
                decision=True,
            )
            started = time.perf_counter()
            await store.record([row])
            latencies.append((time.perf_counter() - started) * 1000)

    await asyncio.gather(*(request() for _ in range(concurrency)))
    return len(latencies), latencies


def measure(backend: str, url: str, records: int, concurrency: int, max_seconds: float) -> Run:
    """One fresh store, one closed-loop run."""
    store = AuditStore(url)
    store.open()
    try:
        started = time.perf_counter()
        answered, latencies = asyncio.run(_drive(store, records, concurrency, max_seconds))
        seconds = time.perf_counter() - started
    finally:
        store.close()
    return Run(
        backend,
        concurrency,
        answered,
        seconds,
        latencies,
        store.stats.transactions,
        count(url, "predictions"),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8, 64])
    parser.add_argument("--max-seconds", type=float, default=60.0, help="per run")
    parser.add_argument("--pg-url", help="an existing PostgreSQL (a fresh database per run is NOT made)")
    args = parser.parse_args(argv)
    if args.records < 1 or any(c < 1 for c in args.concurrency):
        print("error: --records and --concurrency must be positive", file=sys.stderr)
        return 2
    print(f"{args.records:,} records per run, one event loop, one writer thread per store")
    print(
        "| backend | concurrency | records/s | p50 ms | p99 ms | commits | rows/commit | stored / answered |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory(prefix="attrition-bench-sqlite-") as scratch:
        for concurrency in args.concurrency:
            url = str(Path(scratch) / f"audit-{concurrency}.sqlite")
            print(measure("sqlite", url, args.records, concurrency, args.max_seconds).line(), flush=True)
    if args.pg_url:
        for concurrency in args.concurrency:
            print(
                measure("postgresql", args.pg_url, args.records, concurrency, args.max_seconds).line(),
                flush=True,
            )
        return 0
    with temporary_postgres("attrition-bench-pg-") as server:
        for concurrency in args.concurrency:
            url = server.new_database()
            print(measure("postgresql", url, args.records, concurrency, args.max_seconds).line(), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
