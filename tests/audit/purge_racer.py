"""One replica's purge, started together with another: waits for a start file, then purges once.

Prints `ready` once connected, then `deleted <predictions> <decisions>`.
Run: python -m tests.audit.purge_racer URL START_FILE
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from attrition.audit.database import create_audit_engine, parse_audit_db
from attrition.audit.retention import purge

WAIT_S = 30.0


def main(argv: list[str]) -> int:
    url, start = argv[0], Path(argv[1])
    engine = create_audit_engine(parse_audit_db(url))
    with engine.connect():  # connected before the start signal, so both purges really overlap
        pass
    print("ready", flush=True)
    deadline = time.monotonic() + WAIT_S
    while not start.exists():
        if time.monotonic() > deadline:
            return 3
        time.sleep(0.005)
    result = purge(engine, 180 * 86400, actor=f"replica-{argv[2] if len(argv) > 2 else '?'}")
    print(f"deleted {result.predictions} {result.decisions}", flush=True)
    engine.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
