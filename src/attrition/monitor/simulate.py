"""`attrition simulate`: send employees drawn from a dataset version to a running service, keep the truth.

The generator's dataset versions are a drift laboratory: a version-3 model that serves a version-8
population sees income drift and a real loss of precision. This command draws N fresh employees of
version V (a new seed, never the pipeline's 1234 + V), gives them ids, scores them through
``/predict/batch`` with a token, and writes their true outcomes (employee_id, attrition, observed_at)
for `attrition monitor` to join. Every request and retry is bounded.

Exit codes: 0 every employee was answered, 1 some were refused or failed (reported), 2 bad input.
"""

from __future__ import annotations

import argparse
import json
import re
import secrets
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from attrition.atomic import atomic_write_text
from attrition.dataset import FEATURES, TARGET, training_seed
from attrition.method.synthetic import generate_frame

BATCH = 100  # the service's MAX_BATCH
REQUEST_TIMEOUT_S = 30.0
ATTEMPTS = 4  # per batch, for transport errors and 503s (with 1, 2, 4 s back-off)
REFUSAL_ROUNDS = 10  # a 422 names at most 20 refused employees; resend the rest at most this often
_INDEX = re.compile(r"employees[\[.](\d+)")


class SimulationError(Exception):
    """The service cannot be used at all (unreachable, token refused): one line, exit 2."""


@dataclass
class Tally:
    """What happened to the employees sent."""

    answered: int = 0
    refused: dict[str, str] = field(default_factory=dict)  # employee_id -> the service's reason
    failed: int = 0


def draw_population(version: int, rows: int, seed: int) -> pd.DataFrame:
    """N employees of dataset `version` from the generator with `seed`, with unique employee ids."""
    frame = generate_frame(version, rows, seed=seed)
    frame.insert(0, "employee_id", [f"v{version}-{seed}-{i:06d}" for i in range(rows)])
    return frame


def outcomes_csv(frame: pd.DataFrame, observed_at: datetime) -> str:
    """The HR system's view: who left, and when that was known."""
    stamp = observed_at.isoformat(timespec="seconds")
    out = pd.DataFrame(
        {"employee_id": frame["employee_id"], "attrition": frame[TARGET], "observed_at": stamp}
    )
    return str(out.to_csv(index=False, lineterminator="\n"))


def _post(url: str, token: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode("utf-8"),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT_S) as response:
            return int(response.status), json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        payload = error.read()
        try:
            return int(error.code), json.loads(payload or b"{}")
        except json.JSONDecodeError:
            return int(error.code), {"detail": payload.decode("utf-8", "replace")[:200]}


def _post_with_retries(url: str, token: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]] | None:
    for attempt in range(ATTEMPTS):
        try:
            status, payload = _post(url, token, body)
        except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
            if attempt == ATTEMPTS - 1:
                raise SimulationError(f"--url {url}: unreachable ({error})") from None
        else:
            if status in (401, 403):
                raise SimulationError(
                    f"--token-file: the service refused the token ({payload.get('detail')})"
                )
            if status != 503:
                return status, payload
        time.sleep(2**attempt)
    return None


def send_batch(url: str, token: str, employees: list[dict[str, Any]], tally: Tally) -> None:
    """Score one batch; employees the service refuses (422) are recorded and the rest resent."""
    pending = list(employees)
    for _ in range(REFUSAL_ROUNDS):
        if not pending:
            return
        answer = _post_with_retries(url, token, {"employees": pending})
        if answer is None:
            tally.failed += len(pending)
            return
        status, payload = answer
        if status == 200:
            tally.answered += len(payload["predictions"])
            return
        reasons = {  # row index -> the service's message for it
            int(m.group(1)): e.get("message", "")
            for e in payload.get("errors") or []
            for m in [_INDEX.search(e.get("field", ""))]
            if m
        }
        if status != 422 or not reasons:
            tally.failed += len(pending)
            print(f"simulate: batch refused with {status}: {payload.get('detail')}", file=sys.stderr)
            return
        for index in sorted(reasons):
            tally.refused[str(pending[index]["employee_id"])] = reasons[index]
        pending = [e for i, e in enumerate(pending) if i not in reasons]
    tally.failed += len(pending)


def simulate(frame: pd.DataFrame, url: str, token: str) -> Tally:
    """Send every employee in batches of BATCH to URL/predict/batch."""
    endpoint = url.rstrip("/") + "/predict/batch"
    records = [
        {"employee_id": row["employee_id"], **{name: row[name] for name in FEATURES}}
        for row in frame[["employee_id", *FEATURES]].to_dict("records")
    ]
    for record in records:  # the service's schema is strict: ints stay ints, incomes floats
        record["age"], record["years_at_company"] = int(record["age"]), int(record["years_at_company"])
        record["monthly_income"] = float(record["monthly_income"])
    tally = Tally()
    for start in range(0, len(records), BATCH):
        send_batch(endpoint, token, records[start : start + BATCH], tally)
    return tally


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="attrition simulate", description=__doc__.split("\n\n")[0])
    parser.add_argument("--population-version", type=int, required=True, help="dataset version to draw from")
    parser.add_argument("--rows", type=int, required=True, help="employees to send")
    parser.add_argument("--url", required=True, help="the running service, e.g. http://127.0.0.1:8000")
    parser.add_argument(
        "--token-file", type=Path, required=True, help="file holding a token with attrition:predict"
    )
    parser.add_argument("--outcomes", type=Path, required=True, help="CSV of true outcomes to write")
    parser.add_argument("--seed", type=int, help="generator seed (default: a fresh random one, printed)")
    args = parser.parse_args(argv)
    seed = args.seed
    while seed is None or (args.seed is None and seed == training_seed(args.population_version)):
        seed = secrets.randbelow(2**31 - 1) + 1  # fresh, and never the pipeline's training seed
    problems = []
    if args.population_version < 1:
        problems.append(f"--population-version {args.population_version}: use a dataset version >= 1")
    if not 1 <= args.rows <= 1_000_000:
        problems.append(f"--rows {args.rows}: use 1 to 1000000")
    if seed == training_seed(args.population_version) or not 0 <= seed < 2**32:
        problems.append(
            f"--seed {seed}: use 0..2**32-1 other than the pipeline's training seed 1234 + version"
        )
    if not args.url.startswith(("http://", "https://")):
        problems.append(f"--url {args.url}: use an http(s):// URL of the running service")
    try:
        token = args.token_file.read_text(encoding="utf-8").strip()
    except OSError as error:
        problems.append(f"--token-file {args.token_file}: {error.strerror}")
    if problems:
        print(f"error: {problems[0]}", file=sys.stderr)
        return 2
    frame = draw_population(args.population_version, args.rows, seed)
    try:
        tally = simulate(frame, args.url, token)
    except SimulationError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    atomic_write_text(args.outcomes, outcomes_csv(frame, datetime.now(UTC)))
    print(
        f"simulate: {args.rows} employees of version {args.population_version} (seed {seed}): "
        f"{tally.answered} answered, {len(tally.refused)} refused, {tally.failed} failed; "
        f"{int(frame[TARGET].sum())} left; outcomes -> {args.outcomes}"
    )
    if tally.refused:
        first_id, reason = next(iter(tally.refused.items()))
        print(f"simulate: refused e.g. {first_id}: {reason}", file=sys.stderr)
    return 0 if tally.answered == args.rows else 1


if __name__ == "__main__":
    raise SystemExit(main())
