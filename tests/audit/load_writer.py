"""A stand-in for one service process under load: many concurrent requests, each answered only
after `await store.record(...)` returns. Prints every answered prediction_id (flushed) on stdout,
then a final `#stats {json}` line. Run: python -m tests.audit.load_writer URL ROWS CONCURRENCY
"""

from __future__ import annotations

import asyncio
import json
import sys
from dataclasses import asdict

from attrition.audit.errors import AuditUnavailableError
from attrition.audit.writer import AuditStore
from tests.audit.builders import prediction


async def _load(store: AuditStore, rows: int, concurrency: int) -> int:
    todo = iter(range(rows))
    refused = 0

    async def client() -> None:
        nonlocal refused
        for number in todo:
            row = prediction(f"E{number % 500:05d}", opt_out=number % 10 == 0)
            try:
                await store.record([row])
            except AuditUnavailableError:
                refused += 1  # a 503: never answered, so never printed
                continue
            sys.stdout.write(row.prediction_id + "\n")
            sys.stdout.flush()

    await asyncio.gather(*(client() for _ in range(concurrency)))
    return refused


def main(argv: list[str]) -> int:
    url, rows, concurrency = argv[0], int(argv[1]), int(argv[2])
    bound = float(argv[3]) if len(argv) > 3 else 10.0
    store = AuditStore(url, outage_bound_s=bound)
    store.open()
    refused = asyncio.run(_load(store, rows, concurrency))
    store.close()
    print("#stats " + json.dumps({**asdict(store.stats), "refused": refused}), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
