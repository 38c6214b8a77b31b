"""Feature-store speed on this machine: a day's refresh, a training set, and an online lookup.

The company is `attrition hris simulate`'s (default 5,000 employees over 36 month-end extracts from
2023-01-01). The store holds the first 35 extracts; then:

- refresh one day: read and check the 36th extract's CSV and apply it (a fresh copy of the store per
  repeat, so every repeat really appends), and the same day again (the idempotent no-op);
- training set: `training_set` as of the last extract, horizon 12 months, monthly snapshots, and its
  CSV bytes;
- online lookup: `materialize` + `online_file_bytes` (the gzip-compressed JSON file, its size
  reported), `OnlineStore.load`, then `OnlineStore.get` on random active ids, each call timed alone
  (p50 / p99 / max).

--scale runs the same steps at 1,000,000 employees, each step in its own process so that its time
and peak memory (ru_maxrss) are its own; the build (simulate 36 months + 35 refreshes) is reported
too. Everything runs in a temporary folder; every loop is bounded by --repeats / --lookups.

    .venv/bin/python bench/bench_features.py [--employees 5000] [--repeats 5] [--lookups 200000]
    .venv/bin/python bench/bench_features.py --scale [--scale-employees 1000000]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from attrition.features.extract import extract_from_frame, read_extract
from attrition.features.materialize import materialize
from attrition.features.online import OnlineStore, online_file_bytes
from attrition.features.store import refresh
from attrition.features.training import training_csv_bytes, training_set
from attrition.hris.simulate import SimulationConfig, extract_csv_bytes, extract_filename, simulate

MONTHS = 36
START = date(2023, 1, 1)
SEED = 7
HORIZON = 12
TARGETS = {"refresh": 1.0, "training": 5.0, "lookup_p99_ms": 2.0}


def peak_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024


def build(work: Path, employees: int) -> dict[str, float]:
    """Simulate the company, apply all but the last extract, keep the last as CSV."""
    store, simulate_s, refresh_s = str(work / "store"), 0.0, 0.0
    extracts = simulate(SimulationConfig(employees, MONTHS, START, SEED))
    for month in range(MONTHS):
        started = time.perf_counter()
        extract = next(extracts)
        simulate_s += time.perf_counter() - started
        if month == MONTHS - 1:
            (work / extract_filename(extract.extract_date)).write_bytes(extract_csv_bytes(extract.frame))
            break
        started = time.perf_counter()
        refresh(store, extract_from_frame(extract.frame, extract.extract_date, "bench"))
        refresh_s += time.perf_counter() - started
    return {"simulate_s": simulate_s, "refreshes_s": refresh_s, "peak_gib": peak_gib()}


def last_extract(work: Path) -> tuple[Path, date]:
    path = max(work.glob("hris_*.csv"))
    return path, date.fromisoformat(path.stem.removeprefix("hris_"))


def refresh_day(work: Path, repeats: int) -> dict[str, float]:
    """Apply the last day to fresh copies of the 35-month store; then the same day again."""
    path, as_of = last_extract(work)
    applied, changed = [], 0
    for repeat in range(repeats):
        copy = work / f"store-{repeat}"
        shutil.copytree(work / "store", copy)
        started = time.perf_counter()
        result = refresh(str(copy), read_extract(path, as_of))
        applied.append(time.perf_counter() - started)
        changed = result.changed_rows
    again = []
    for _ in range(repeats):
        started = time.perf_counter()
        assert refresh(str(work / "store-0"), read_extract(path, as_of)).status == "unchanged"
        again.append(time.perf_counter() - started)
    for repeat in range(1, repeats):
        shutil.rmtree(work / f"store-{repeat}")
    return {
        "refresh_s": statistics.median(applied),
        "refresh_max_s": max(applied),
        "again_s": statistics.median(again),
        "rows": float(read_extract(path, as_of).frame.shape[0]),
        "changed": float(changed),
        "peak_gib": peak_gib(),
    }


def training(work: Path, repeats: int) -> dict[str, float]:
    _, as_of = last_extract(work)
    store = str(work / "store-0")
    frame_s, csv_s, rows = [], [], 0
    for _ in range(repeats):
        started = time.perf_counter()
        result = training_set(store, as_of, HORIZON)
        frame_s.append(time.perf_counter() - started)
        started = time.perf_counter()
        training_csv_bytes(result.frame)
        csv_s.append(time.perf_counter() - started)
        rows = len(result.frame)
    return {
        "training_s": statistics.median(frame_s),
        "csv_s": statistics.median(csv_s),
        "rows": float(rows),
        "peak_gib": peak_gib(),
    }


def lookups(work: Path, count: int) -> dict[str, float]:
    _, as_of = last_extract(work)
    started = time.perf_counter()
    path = work / "online.json.gz"
    path.write_bytes(online_file_bytes(materialize(str(work / "store-0"), as_of)))
    materialize_s = time.perf_counter() - started
    started = time.perf_counter()
    online = OnlineStore.load(path)
    load_s = time.perf_counter() - started
    ids = random.Random(SEED).choices(online.active_ids(), k=count)
    clock, latencies = time.perf_counter_ns, []
    for employee_id in ids:
        started_ns = clock()
        online.get(employee_id)
        latencies.append(clock() - started_ns)
    latencies.sort()
    return {
        "materialize_s": materialize_s,
        "load_s": load_s,
        "file_mb": path.stat().st_size / 1e6,
        "active": float(len(online)),
        "p50_ms": latencies[len(latencies) // 2] / 1e6,
        "p99_ms": latencies[int(0.99 * (len(latencies) - 1))] / 1e6,
        "max_ms": latencies[-1] / 1e6,
        "peak_gib": peak_gib(),
    }


def run_step(step: str, work: Path, employees: int, repeats: int, count: int) -> dict[str, float]:
    if step == "build":
        return build(work, employees)
    if step == "refresh":
        return refresh_day(work, repeats)
    if step == "training":
        return training(work, repeats)
    return lookups(work, count)


def in_process(step: str, work: Path, args: argparse.Namespace, employees: int) -> dict[str, float]:
    """One step in a fresh interpreter, so its peak memory is its own."""
    command = [sys.executable, __file__, "--step", step, "--work", str(work), "--employees", str(employees)]
    command += ["--repeats", str(args.repeats), "--lookups", str(args.lookups)]
    completed = subprocess.run(command, capture_output=True, text=True, check=False, timeout=7200)
    if completed.returncode != 0:
        raise SystemExit(f"step {step} failed:\n{completed.stderr}")
    return dict(json.loads(completed.stdout.splitlines()[-1]))


def verdict(value: float, target: float) -> str:
    return "yes" if value < target else "NO"


def report(employees: int, results: dict[str, dict[str, float]], scale: bool) -> None:
    b, r, t, o = (results[name] for name in ("build", "refresh", "training", "lookup"))
    memory = (lambda step: f"{results[step]['peak_gib']:.2f}") if scale else (lambda step: "-")
    print(f"{employees:,} employees x {MONTHS} month-end extracts; {os.cpu_count()} cores")
    print("| step | measured | target | met | peak RSS GiB |")
    print("|---|---:|---:|---|---:|")
    print(f"| simulate {MONTHS} months (in memory) | {b['simulate_s']:.2f} s | - | - | {memory('build')} |")
    print(f"| apply the first {MONTHS - 1} extracts | {b['refreshes_s']:.2f} s | - | - | {memory('build')} |")
    print(
        f"| refresh one day ({r['changed']:,.0f} of {r['rows']:,.0f} rows changed; read + check + append) "
        f"| {r['refresh_s']:.3f} s (max {r['refresh_max_s']:.3f}) | < {TARGETS['refresh']:g} s "
        f"| {verdict(r['refresh_s'], TARGETS['refresh'])} | {memory('refresh')} |"
    )
    print(f"| same day again (no-op, no new version) | {r['again_s']:.3f} s | - | - | {memory('refresh')} |")
    print(
        f"| training set as of the last extract, {HORIZON}mo horizon ({t['rows']:,.0f} rows) "
        f"| {t['training_s']:.3f} s | < {TARGETS['training']:g} s "
        f"| {verdict(t['training_s'], TARGETS['training'])} | {memory('training')} |"
    )
    print(f"| its CSV bytes | {t['csv_s']:.3f} s | - | - | {memory('training')} |")
    print(
        f"| materialize online file ({o['file_mb']:.1f} MB gzipped JSON) | {o['materialize_s']:.3f} s "
        f"| - | - | {memory('lookup')} |"
    )
    print(
        f"| OnlineStore.load ({o['active']:,.0f} active) | {o['load_s']:.3f} s | - | - | {memory('lookup')} |"
    )
    print(
        f"| OnlineStore.get p50 / p99 / max | {o['p50_ms']:.4f} / {o['p99_ms']:.4f} / {o['max_ms']:.3f} ms "
        f"| p99 < {TARGETS['lookup_p99_ms']:g} ms | {verdict(o['p99_ms'], TARGETS['lookup_p99_ms'])} "
        f"| {memory('lookup')} |"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--employees", type=int, default=5000)
    parser.add_argument("--repeats", type=int, default=5, help="per timed step (refresh, training set)")
    parser.add_argument("--lookups", type=int, default=200_000)
    parser.add_argument("--scale", action="store_true", help="also run at --scale-employees")
    parser.add_argument("--scale-employees", type=int, default=1_000_000)
    parser.add_argument("--step", choices=["build", "refresh", "training", "lookup"], help=argparse.SUPPRESS)
    parser.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.employees < 1 or args.repeats < 1 or args.lookups < 100:
        print("error: --employees and --repeats must be positive, --lookups at least 100", file=sys.stderr)
        return 2
    if args.step:  # a child of --scale
        print(json.dumps(run_step(args.step, args.work, args.employees, args.repeats, args.lookups)))
        return 0
    steps = ("build", "refresh", "training", "lookup")
    with tempfile.TemporaryDirectory(prefix="attrition-bench-features-") as scratch:
        work = Path(scratch)
        results = {step: run_step(step, work, args.employees, args.repeats, args.lookups) for step in steps}
    report(args.employees, results, scale=False)
    if args.scale:
        with tempfile.TemporaryDirectory(prefix="attrition-bench-features-scale-") as scratch:
            work = Path(scratch)
            repeats = argparse.Namespace(repeats=1, lookups=args.lookups)
            results = {step: in_process(step, work, repeats, args.scale_employees) for step in steps}
        print()
        report(args.scale_employees, results, scale=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
