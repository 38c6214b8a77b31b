"""Pipeline speed on this machine: `dvc repro -f` and a no-op `dvc repro` at the default 800 rows,
and the whole pipeline at generate.n_samples=1,000,000 with its peak memory, each beside the seed
exercise as one plain script (bench/plain_seed_script.py) at the same size, timed in the same run.
`dvc repro -f` runs both ways: plain (an interpreter per stage) and as `make repro` runs it, under
`attrition warm` (each stage forked from one interpreter that imported the libraries once).

Runs in a temporary git copy of the repository, so the working tree is never touched. Machines here
are shared and noisy: read the ratios (pipeline / plain script, measured side by side) first.

    .venv/bin/python bench/bench_pipeline.py [--rows 1000000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TARGETS = {
    "repro -f (800 rows)": 10.0,
    "warm repro -f (800 rows)": 10.0,
    "no-op repro (800 rows)": 2.0,
    "1M rows end to end": 60.0,
    "warm 1M rows end to end": 60.0,
}
# The pipeline may cost at most this many times the plain script (issue: exact lineage, speed).
RATIO_TARGET = 4.0
PLAIN = Path(__file__).resolve().parent / "plain_seed_script.py"
# The same stages in one process (no DVC, one interpreter, imports once): issue 26's yardstick for
# what the stage boundaries cost. `dvc repro -f` may cost at most this many times it.
ONE_PROCESS = Path(__file__).resolve().parent / "stages_in_one_process.py"
ONE_PROCESS_TARGET = 1.5
WARM = ["attrition", "warm", "--quiet", "--"]  # as `make repro` runs DVC


def env() -> dict[str, str]:
    variables = dict(os.environ)
    variables["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{variables['PATH']}"
    return variables


def sh(args: list[str], cwd: Path) -> float:
    started = time.perf_counter()
    subprocess.run(args, cwd=cwd, env=env(), check=True, capture_output=True, text=True)
    return time.perf_counter() - started


def timed_with_peak(args: list[str], cwd: Path) -> tuple[float, float]:
    """(seconds, peak RSS in GiB of the largest process of the command's tree), from wait4's rusage:
    the command's own, unlike RUSAGE_CHILDREN, which also remembers earlier children (copy_repo's git)."""
    started = time.perf_counter()
    with tempfile.TemporaryFile() as errors:
        process = subprocess.Popen(args, cwd=cwd, env=env(), stdout=subprocess.DEVNULL, stderr=errors)
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode != 0:
            errors.seek(0)
            tail = errors.read().decode()[-2000:]
            raise SystemExit(f"{' '.join(args)} exited {process.returncode}: {tail}")
    return time.perf_counter() - started, usage.ru_maxrss / 1024 / 1024


def copy_repo(destination: Path) -> Path:
    files = subprocess.run(
        ["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True
    ).stdout.decode()
    for name in filter(None, files.split("\0")):
        if (REPO / name).is_file():
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, destination / name)
    git = ["git", "-c", "user.name=bench", "-c", "user.email=bench@localhost"]
    for args in (["git", "init", "-q"], [*git, "add", "-A"], [*git, "commit", "-qm", "bench"]):
        sh(args, destination)
    return destination


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    results: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="attrition-bench-") as tmp:
        repo = copy_repo(Path(tmp) / "repo")
        sh(["dvc", "repro"], repo)  # warm: imports compiled, outputs present
        plain_out = Path(tmp) / "plain"
        plain: dict[str, float] = {}
        repro, warm, script, one_process = [], [], [], []
        for _ in range(args.repeats):  # interleaved, so all four see the same machine load
            repro.append(sh(["dvc", "repro", "-f"], repo))
            warm.append(sh([*WARM, "dvc", "repro", "-f"], repo))
            script.append(sh([sys.executable, str(PLAIN), "--rows", "800", "--out", str(plain_out)], repo))
            one_process.append(sh([sys.executable, str(ONE_PROCESS), "--repo", str(repo)], repo))
        sh(["dvc", "repro", "-f"], repo)  # the one-process run's records name more modules: rebuild
        results["repro -f (800 rows)"] = statistics.median(repro)
        results["warm repro -f (800 rows)"] = statistics.median(warm)
        plain["warm repro -f (800 rows)"] = statistics.median(script)
        plain["repro -f (800 rows)"] = statistics.median(script)
        same_method = statistics.median(one_process)
        results["no-op repro (800 rows)"] = statistics.median(
            sh(["dvc", "repro"], repo) for _ in range(args.repeats)
        )
        params = repo / "params.yaml"
        params.write_text(params.read_text().replace("n_samples: 800", f"n_samples: {args.rows}"))
        results["1M rows end to end"], peak_gib = timed_with_peak(["dvc", "repro"], repo)
        # every stage again (-f: DVC would restore the outputs from its run cache), forked
        results["warm 1M rows end to end"], warm_peak_gib = timed_with_peak(
            [*WARM, "dvc", "repro", "-f"], repo
        )
        plain["1M rows end to end"] = sh(
            [sys.executable, str(PLAIN), "--rows", str(args.rows), "--out", str(plain_out)], repo
        )
        plain["warm 1M rows end to end"] = plain["1M rows end to end"]
        size = (repo / "data" / "employee_attrition_v3.csv").stat().st_size
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}; median of {args.repeats}")
    print("| measurement | seconds | target | ratio to target | plain script | pipeline / plain |")
    print("|---|---|---|---|---|---|")
    for name, seconds in results.items():
        side = (
            f"{plain[name]:.2f} s | {seconds / plain[name]:.1f}x (≤ {RATIO_TARGET:g}x)"
            if name in plain
            else "- | -"
        )
        print(
            f"| {name} | {seconds:.2f} | ≤ {TARGETS[name]:.0f} s | {seconds / TARGETS[name]:.2f} | {side} |"
        )
    for name in ("repro -f (800 rows)", "warm repro -f (800 rows)"):
        ratio = results[name] / same_method
        print(
            f"| {name} vs the same stages in one process | {results[name]:.2f}"
            f" | one process {same_method:.2f} s | | | {ratio:.2f}x (≤ {ONE_PROCESS_TARGET:g}x) |"
        )
    warm_over_cold = results["warm repro -f (800 rows)"] / results["repro -f (800 rows)"]
    print(f"| warm / plain `dvc repro -f` (800 rows), same run | | | | | {warm_over_cold:.2f}x |")
    for name, gib in (("", peak_gib), ("warm: ", warm_peak_gib)):
        print(
            f"| {name}peak RSS of the largest process, {args.rows:,} rows | {gib:.2f} GiB"
            f" | ≤ 2 GiB | {gib / 2:.2f} |"
        )
    print(f"{args.rows:,}-row CSV: {size / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
