"""The weekly retrain's cost on this machine (issue 26): `dvc exp run` on the feature store's
point-in-time training set, beside the same stages in one process and the seed exercise as a plain
script on the same training rows, timed in the same run.

The company is bench_features.py's (5,000 employees, 36 month-end extracts from 2023-01-01, seed 7),
applied to a Delta store in a temporary folder. The repository is copied there too; the
retrain is the weekly flow's command (deploy/airflow/dags/attrition_flows.py): `dvc exp run -S
data.source=hris -S data.store=... -S data.table_version=... -S data.as_of=<last extract>`, then
`-f` for the repeats (DVC would otherwise restore the outputs from its run cache), both plain (an
interpreter per stage) and as the flow runs it, under `attrition warm`. Read the ratios
first: the machines here are shared and noisy.

    .venv/bin/python bench/bench_retrain.py [--employees 5000] [--months 36] [--repeats 2]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from attrition.features.extract import extract_from_frame
from attrition.features.store import refresh
from attrition.hris.simulate import SimulationConfig, simulate
from bench_features import SEED, START
from bench_pipeline import (
    ONE_PROCESS,
    ONE_PROCESS_TARGET,
    PLAIN,
    RATIO_TARGET,
    WARM,
    copy_repo,
    sh,
    timed_with_peak,
)

PEAK_TARGET_GIB = 2.0


def build_store(store: Path, employees: int, months: int) -> tuple[int, date, float]:
    """Apply every simulated extract in date order: (last table version, last extract date, seconds)."""
    started = time.perf_counter()
    version, last = -1, START
    for extract in simulate(SimulationConfig(employees, months, START, SEED)):
        checked = extract_from_frame(extract.frame, extract.extract_date, "simulated")
        version = refresh(str(store), checked).table_version
        last = extract.extract_date
    return version, last, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--employees", type=int, default=5000)
    parser.add_argument("--months", type=int, default=36)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="attrition-bench-retrain-") as tmp:
        store = Path(tmp) / "store"
        version, as_of, store_seconds = build_store(store, args.employees, args.months)
        repo = copy_repo(Path(tmp) / "repo")
        pinned = [
            *("-S", "data.source=hris", "-S", f"data.store={store}"),
            *("-S", f"data.table_version={version}", "-S", f"data.as_of={as_of.isoformat()}"),
        ]
        # the first run also writes the pins into params.yaml; generate and extract run only here
        first, peak_gib = timed_with_peak(["dvc", "exp", "run", "-q", *pinned], repo)
        rows = repo / "data" / "training_rows.csv"
        row_count = sum(1 for _ in rows.open(encoding="utf-8")) - 1
        plain_out = Path(tmp) / "plain"
        retrain, warm, one_process, plain = [], [], [], []
        for _ in range(args.repeats):  # interleaved, so all four see the same machine load
            retrain.append(sh(["dvc", "exp", "run", "-q", "-f", *pinned], repo))
            warm.append(sh([*WARM, "dvc", "exp", "run", "-q", "-f", *pinned], repo))
            one_process.append(sh([sys.executable, str(ONE_PROCESS), "--repo", str(repo)], repo))
            plain.append(sh([sys.executable, str(PLAIN), "--data", str(rows), "--out", str(plain_out)], repo))
    seconds, warm_seconds, same_method, script = (
        statistics.median(v) for v in (retrain, warm, one_process, plain)
    )
    print(
        f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}; median of {args.repeats}; "
        f"store: {args.employees:,} employees x {args.months} extracts (table version {version}, built in "
        f"{store_seconds:.1f} s), as of {as_of}: {row_count:,} training rows"
    )
    print("| measurement | seconds | yardstick, same run | ratio (target) |")
    print("|---|---|---|---|")
    print(
        f"| weekly retrain (`dvc exp run -f`) | {seconds:.2f} | plain script on the same rows "
        f"{script:.2f} s | {seconds / script:.1f}x (≤ {RATIO_TARGET:g}x) |"
    )
    print(
        f"| weekly retrain vs the same stages in one process | {seconds:.2f} | one process "
        f"{same_method:.2f} s | {seconds / same_method:.2f}x (≤ {ONE_PROCESS_TARGET:g}x) |"
    )
    print(
        f"| weekly retrain as the flow runs it (`attrition warm -- dvc exp run -f`) | {warm_seconds:.2f} |"
        f" plain script {script:.2f} s | {warm_seconds / script:.1f}x (≤ {RATIO_TARGET:g}x) |\n"
        f"| warm retrain vs the same stages in one process | {warm_seconds:.2f} | one process "
        f"{same_method:.2f} s | {warm_seconds / same_method:.2f}x (≤ {ONE_PROCESS_TARGET:g}x) |\n"
        f"| warm / plain retrain, same run | | | {warm_seconds / seconds:.2f}x |"
    )
    print(
        f"| first retrain (generate and extract too) | {first:.2f} | | |\n"
        f"| peak RSS of the largest process of the first retrain | {peak_gib:.2f} GiB | | "
        f"{peak_gib / PEAK_TARGET_GIB:.2f} of {PEAK_TARGET_GIB:g} GiB |"
    )


if __name__ == "__main__":
    main()
