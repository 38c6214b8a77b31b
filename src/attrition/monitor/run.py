"""`attrition monitor`: drift, decay and fairness verdicts from the audit store and the outcomes file.

Before the labels (issue 24), each calendar month of predictions also gets recall and precision
estimated from its scores (monitor.estimate, CBPE), realized beside them once the month's labels are in,
and a calibration check on labelled rows that says whether the estimates can be trusted.

Writes monitoring.json (every verdict with its figures, row counts and intervals) and Prometheus text
exposition with a last-success timestamp. With --on-decay it runs the retraining flow when decay is
confirmed; the promotion gate, not the monitor, decides whether the candidate serves.

Exit codes: 0 no check alerts, 1 at least one check alerts, 2 bad input, 3 the --on-decay command failed.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from attrition.atomic import atomic_write_text
from attrition.audit.database import SETTING, location_from_environ
from attrition.audit.errors import AuditConfigError
from attrition.modelpkg.artifact import PackageError, read_package
from attrition.modelpkg.reference import ProfileError, Reference, reference_of
from attrition.monitor.checks import CheckResult, drift_checks, duration_seconds, labelled_checks, worst
from attrition.monitor.exposition import build_registry, write_textfile
from attrition.monitor.performance import MonthFigures, month_table, performance_checks
from attrition.monitor.predictions import InputError, join_outcomes, read_outcomes, read_predictions
from attrition.params import Params, ParamsError, load_params

KINDS = ("drift", "decay", "fairness", "calibration", "estimate")


def monitor(
    reference: Reference,
    model_version: str,
    predictions_url: str,
    outcomes_path: Path,
    *,
    params: Params,
    age_edges: list[int],
    since: str,
    now: float,
) -> tuple[list[CheckResult], dict[str, int], list[MonthFigures]]:
    """Read the rows once and run every check (drift windows, the labelled window, the months' estimates)."""
    monitor_params = params.monitor
    since_s = duration_seconds(since)
    horizon = max(since_s, *(duration_seconds(w) for w in monitor_params.drift.windows))
    predictions = read_predictions(predictions_url, now - horizon)
    predictions = predictions[predictions["ts"] <= now]  # a past --now never sees what came after it
    outcomes = read_outcomes(outcomes_path)
    results = drift_checks(
        reference, predictions, now=now, model_version=model_version, params=monitor_params
    )
    labelled_window = predictions[
        (predictions["ts"] >= now - since_s)
        & (predictions["source"] == "model")
        & (predictions["model_version"] == model_version)
    ]
    joined, counts = join_outcomes(labelled_window, outcomes)
    results += labelled_checks(reference, joined, window=since, age_edges=age_edges, params=monitor_params)
    performance, months = performance_checks(
        reference, labelled_window, outcomes, joined, window=since, params=monitor_params
    )
    return results + performance, counts, months


def summary(results: list[CheckResult]) -> dict[str, str]:
    """Worst verdict per check kind."""
    return {kind: worst([r for r in results if r.check == kind]) for kind in KINDS}


def run_on_decay(command: str, timeout_s: int) -> dict[str, Any]:
    """Run the retraining flow (no shell: the command line is split like a shell would)."""
    started = time.time()
    try:
        completed = subprocess.run(shlex.split(command), timeout=timeout_s, check=False)
        code: int | None = completed.returncode
    except (OSError, subprocess.TimeoutExpired) as error:
        print(f"monitor: --on-decay command failed to finish: {error}", file=sys.stderr)
        code = None
    return {"command": command, "exit_code": code, "seconds": round(time.time() - started, 1)}


def audit_db_from_environ(environ: Mapping[str, str]) -> str:
    """The store the service writes, as its settings name it; one line naming both variables if unset."""
    try:
        found = location_from_environ((SETTING,), environ)
    except AuditConfigError as error:
        raise InputError(str(error)) from None
    if found is None:
        raise InputError(f"no audit store: pass --audit-db or set {SETTING} or {SETTING}_FILE")
    return found[0]


def parse_now(text: str | None) -> float:
    """--now as unix time: an ISO 8601 time (no zone: UTC), or the current time when not given."""
    if text is None:
        return time.time()
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InputError(
            f"--now {text!r} is not an ISO 8601 time; allowed: e.g. 2025-12-31T06:30:00+00:00"
        ) from None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="attrition monitor", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--package", type=Path, required=True, help="the serving model package (with reference.json)"
    )
    parser.add_argument(
        "--audit-db",
        help="the service's audit store: a path, sqlite:///PATH or postgresql://... (default: "
        "ATTRITION_AUDIT_DB or the file ATTRITION_AUDIT_DB_FILE names, so a password stays out of argv)",
    )
    parser.add_argument("--outcomes", type=Path, required=True, help="CSV employee_id,attrition,observed_at")
    parser.add_argument("--out", type=Path, required=True, help="monitoring.json to write")
    parser.add_argument("--prom", type=Path, required=True, help="Prometheus text file to write")
    parser.add_argument(
        "--since", help="labelled window for decay and fairness (default params monitor.labelled_since)"
    )
    parser.add_argument(
        "--on-decay", help="command to run when decay is confirmed, e.g. 'make retrain VERSION=8'"
    )
    parser.add_argument(
        "--now",
        help="judge as of this ISO 8601 time instead of the current one (a scheduler's logical date: "
        "a re-run of a past date reads the same rows); predictions after it are left out",
    )
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    args = parser.parse_args(argv)
    try:
        now = parse_now(args.now)
        params = load_params(args.params)
        since = args.since or params.monitor.labelled_since
        try:
            duration_seconds(since)
        except ValueError as error:
            raise InputError(f"--since: {error}") from None
        audit_db = args.audit_db or audit_db_from_environ(os.environ)
        contents = read_package(args.package)  # manifest first: nothing unpickled, nothing unverified
        reference = reference_of(contents)
        model_version = contents.model_version
        bands = contents.metadata.params.get("evaluate", {}).get("age_bands")  # the bands it was judged by
        results, counts, months = monitor(
            reference,
            model_version,
            audit_db,
            args.outcomes,
            params=params,
            age_edges=bands or list(params.evaluate.age_bands),
            since=since,
            now=now,
        )
    except (ParamsError, PackageError, ProfileError, InputError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    verdicts = summary(results)
    on_decay = None
    if args.on_decay and verdicts["decay"] == "alert":
        on_decay = run_on_decay(args.on_decay, params.monitor.on_decay_timeout_s)
    finished = time.time()
    document = {
        "generated_at": datetime.fromtimestamp(finished, UTC).isoformat(timespec="seconds"),
        "as_of": datetime.fromtimestamp(now, UTC).isoformat(timespec="seconds"),
        "package": {"path": str(args.package), "model_version": model_version},
        "baseline_source": reference.baseline_source,
        "labelled_since": since,
        "counts": counts,
        "summary": verdicts,
        "checks": [result.as_dict() for result in results],
        "performance_by_month": [month.as_dict() for month in months],
        "on_decay": on_decay,
    }
    atomic_write_text(args.out, json.dumps(document, indent=2, sort_keys=False) + "\n")
    registry = build_registry(results, model_version=model_version, finished_at=finished, months=months)
    write_textfile(args.prom, registry)
    for result in results:
        if result.verdict != "ok" or result.check != "drift":
            print(
                f"{result.check:8} {result.subject:20} {result.window:>5} {result.verdict:17} {result.reason}"
            )
    alerting = [f"{r.check}:{r.subject}@{r.window}" for r in results if r.verdict == "alert"]
    for line in month_table(months):
        print(f"month    {line}")
    print(
        f"monitor: {model_version} drift={verdicts['drift']} decay={verdicts['decay']} "
        f"fairness={verdicts['fairness']} calibration={verdicts['calibration']} "
        f"estimate={verdicts['estimate']}"
        f" ({counts['joined']} labelled of {counts['employees_predicted']} employees)"
        + (f"; alerts: {', '.join(alerting)}" if alerting else "")
    )
    if on_decay is not None:
        print(f"monitor: --on-decay exited {on_decay['exit_code']}")
        if on_decay["exit_code"] != 0:
            return 3
    return 1 if alerting else 0


if __name__ == "__main__":
    raise SystemExit(main())
