"""`attrition versions 1 2 3 4 5`: one DVC experiment per dataset version, and one lineage table.

The exercise trains a model on each dataset version and tracks what came out. Each version is queued
as an independent experiment from the committed baseline (`dvc exp run --queue -S version=V`), so
one never inherits another's overrides and the workspace is left as it was; DVC's queue runs them,
and `dvc exp show` lists the same experiments afterwards. The table reads DVC's own records: the
dataset md5 from the experiment's outputs, metrics from metrics.json, and the model version from the
package's metadata in DVC's cache. While the queue works, stderr gets a line per experiment queued,
running or done, with the time since the start (stdout keeps only the table).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from attrition.lifecycle.lineage import PACKAGE_OUT, project_root

NAME_PREFIX = "dataset-v"
POLL_S = 3.0
HEARTBEAT_S = 30.0  # a progress line at least this often while the queue works
QUEUE_STATES = ("Queued", "Running", "Success", "Failed", "Unknown")  # `dvc queue status`'s Status column


class VersionsError(Exception):
    """A DVC command failed or an experiment did not finish; the message is one line."""


@dataclass(frozen=True)
class VersionRow:
    version: int
    experiment: str
    rev: str
    dataset_md5: str | None
    model_version: str | None
    roc_auc: float | None
    precision: float | None
    recall: float | None
    threshold: float | None


def experiment_name(version: int) -> str:
    return f"{NAME_PREFIX}{version}"


def _dvc(args: list[str], cwd: Path, *, leaves_worker: bool = False) -> str:
    """Run dvc and return its stdout.

    `leaves_worker`: the command starts a queue worker that inherits its stdout and stderr. Through
    pipes, this call would wait until the worker exits, i.e. until the whole queue has run (the
    silent minutes of `make versions`); through files it returns when dvc itself does.
    """
    if leaves_worker:
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            returncode = subprocess.run(
                ["dvc", *args], cwd=cwd, stdout=out, stderr=err, check=False
            ).returncode
            out.seek(0)
            err.seek(0)
            stdout, stderr = out.read().decode(errors="replace"), err.read().decode(errors="replace")
    else:
        completed = subprocess.run(["dvc", *args], cwd=cwd, capture_output=True, text=True, check=False)
        returncode, stdout, stderr = completed.returncode, completed.stdout, completed.stderr
    if returncode != 0:
        lines = (stderr or stdout).strip().splitlines() or ["no output"]
        raise VersionsError(f"dvc {' '.join(args)}: {lines[-1].removeprefix('ERROR: ')}")
    return stdout


def _git_head(repo: Path) -> str:
    completed = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True, check=False
    )
    if completed.returncode != 0:
        raise VersionsError(f"{repo}: not a git repository with a commit (git rev-parse HEAD failed)")
    return completed.stdout.strip()


@dataclass(frozen=True)
class QueueTask:
    """One task row of `dvc queue status`."""

    task: str  # the first 7 hex digits of the task's stash commit, as `dvc queue logs` takes it
    name: str
    status: str


def parse_queue_status(text: str) -> list[QueueTask]:
    """The task rows of `dvc queue status` (columns Task, Name, Created, Status; Created holds spaces)."""
    tasks = []
    for line in text.splitlines():
        words = line.split()
        if len(words) >= 3 and words[0] != "Task" and words[-1] in QUEUE_STATES:
            tasks.append(QueueTask(task=words[0], name=words[1], status=words[-1]))
    return tasks


def queued_tasks(repo: Path) -> set[str]:
    """The tasks DVC's queue lists now (earlier runs' finished tasks stay listed under their names)."""
    return {task.task for task in parse_queue_status(_dvc(["queue", "status"], repo))}


def duration(seconds: float) -> str:
    whole = int(seconds)
    return f"{whole // 60}m{whole % 60:02d}s" if whole >= 60 else f"{whole}s"


@dataclass
class Progress:
    """Progress lines on stderr while the queue works (stdout keeps only the table).

    One line when an experiment of this run is queued, starts running, or ends (with how long it
    ran), and a summary line at least every `heartbeat_s` while nothing changes; each line starts
    with the time since the run began. Tasks the queue listed before this run are not this run's.
    """

    names: list[str]
    known_tasks: set[str]
    stream: TextIO | None = None  # None: sys.stderr at the time of writing
    clock: Callable[[], float] = time.monotonic
    heartbeat_s: float = HEARTBEAT_S
    states: dict[str, str] = field(default_factory=dict)
    running_since: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.start = self.last_line = self.clock()

    def say(self, text: str) -> None:
        self.last_line = self.clock()
        elapsed = duration(self.last_line - self.start)
        print(f"versions [{elapsed:>6}] {text}", file=self.stream or sys.stderr, flush=True)

    def queued(self, name: str) -> None:
        self.states[name] = "Queued"
        self.say(f"{name}: queued ({len(self.states)} of {len(self.names)})")

    def _ran(self, name: str, now: float) -> str:
        return f" after {duration(now - self.running_since[name])}" if name in self.running_since else ""

    def update(self, tasks: list[QueueTask]) -> None:
        """Report what changed since the last `dvc queue status`."""
        now = self.clock()
        mine = {t.name: t for t in tasks if t.task not in self.known_tasks and t.name in self.names}
        changed = False
        for name in self.names:
            task = mine.get(name)
            if task is None or task.status == self.states.get(name):
                continue
            changed = True
            self.states[name] = task.status
            if task.status == "Running":
                self.running_since[name] = now
                self.say(f"{name}: running")
            elif task.status == "Success":
                self.say(f"{name}: done{self._ran(name, now)} ({self.count('Success')} of {len(self.names)})")
            elif task.status == "Failed":
                self.say(f"{name}: failed{self._ran(name, now)}; see `dvc queue logs {task.task}`")
            else:
                self.say(f"{name}: {task.status.lower()}")
        if not changed and now - self.last_line >= self.heartbeat_s:
            self.say(self.summary(now))

    def count(self, status: str) -> int:
        return sum(1 for state in self.states.values() if state == status)

    def summary(self, now: float) -> str:
        running = [
            f"{name} running for {duration(now - self.running_since.get(name, now))}"
            for name in self.names
            if self.states.get(name) == "Running"
        ]
        parts = [
            *running,
            f"{self.count('Queued')} queued",
            f"{self.count('Success')} of {len(self.names)} done",
        ]
        if self.count("Failed"):
            parts.append(f"{self.count('Failed')} failed")
        return "; ".join(parts)


def queue_versions(versions: list[int], repo: Path, progress: Progress) -> None:
    """Queue one experiment per version; a re-run replaces the experiment of the same name."""
    for version in versions:
        _dvc(
            ["exp", "run", "--queue", "-f", "-S", f"version={version}", "-n", experiment_name(version)], repo
        )
        progress.queued(experiment_name(version))


def wait_for_queue(repo: Path, *, jobs: int, timeout_s: float, progress: Progress) -> None:
    """Start the queue's workers and wait (bounded) until nothing is queued or running."""
    _dvc(["queue", "start", "-j", str(jobs)], repo, leaves_worker=True)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        tasks = parse_queue_status(_dvc(["queue", "status"], repo))
        progress.update(tasks)
        if not any(task.status in ("Queued", "Running") for task in tasks):
            progress.say(f"queue empty: {progress.summary(progress.clock())}; reading the results")
            return
        time.sleep(POLL_S)
    raise VersionsError(f"experiments still running after {timeout_s:g}s; see `dvc queue status`")


def _holdout(data: dict[str, Any]) -> dict[str, Any]:
    metrics = (data.get("metrics") or {}).get("metrics/metrics.json", {}).get("data", {})
    return dict(metrics.get("holdout", {}))


def rows_from_exp_show(shown: list[dict[str, Any]], versions: list[int]) -> list[VersionRow]:
    """The table rows for `versions` from `dvc exp show --json` (the baseline's newest experiments)."""
    wanted = {experiment_name(v): v for v in versions}
    found: dict[int, VersionRow] = {}
    for baseline in shown:
        for experiment in baseline.get("experiments") or []:
            name = experiment.get("name")
            if name not in wanted or wanted[name] in found:
                continue
            revision = experiment["revs"][0]
            data = revision.get("data", {})
            version = wanted[name]
            outs = data.get("outs") or {}
            dataset = outs.get(f"data/employee_attrition_v{version}.csv", {})
            holdout = _holdout(data)
            found[version] = VersionRow(
                version=version,
                experiment=name,
                rev=revision["rev"],
                dataset_md5=dataset.get("hash"),
                model_version=None,
                roc_auc=holdout.get("roc_auc"),
                precision=holdout.get("precision"),
                recall=holdout.get("recall"),
                threshold=holdout.get("threshold"),
            )
    missing = [v for v in versions if v not in found]
    if missing:
        raise VersionsError(f"no finished experiment for version(s) {missing}; see `dvc queue logs`")
    return [found[v] for v in versions]


def with_model_versions(rows: list[VersionRow], repo: Path) -> list[VersionRow]:
    """Fill each row's model version from the package metadata the experiment stored in DVC's cache."""
    import dvc.api

    filled = []
    for row in rows:
        text = dvc.api.read(f"{PACKAGE_OUT}/metadata.json", repo=str(repo), rev=row.rev)
        metadata = json.loads(text)
        filled.append(VersionRow(**{**row.__dict__, "model_version": metadata["model_version"]}))
    return filled


def format_table(rows: list[VersionRow]) -> str:
    def number(value: float | None, digits: int) -> str:
        return "-" if value is None else f"{value:.{digits}f}"

    header = (
        "version",
        "experiment",
        "dataset md5",
        "model version",
        "roc_auc",
        "precision",
        "recall",
        "threshold",
    )
    lines = [
        (
            str(row.version),
            row.experiment,
            row.dataset_md5 or "-",
            row.model_version or "-",
            number(row.roc_auc, 4),
            number(row.precision, 3),
            number(row.recall, 3),
            number(row.threshold, 4),
        )
        for row in rows
    ]
    widths = [max(len(cell) for cell in column) for column in zip(header, *lines, strict=True)]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in (header, *lines)
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="attrition versions",
        description="Train one experiment per dataset version through DVC's queue and print their lineage.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("versions", nargs="+", help="dataset versions, e.g. 1 2 3 4 5")
    parser.add_argument("--jobs", type=int, default=1, help="queue workers running at once")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds to wait for the queue")
    parser.add_argument(
        "--repo", type=Path, help="the project's repository (default: the one holding the working directory)"
    )
    parser.add_argument("--table-only", action="store_true", help="print the table of finished experiments")
    parser.add_argument(
        "--rev", help="the baseline commit the experiments ran on (default: HEAD when queued)"
    )
    args = parser.parse_args(argv)
    try:
        versions = [int(value) for value in args.versions]
    except ValueError:
        print(
            f"error: versions {args.versions}: each must be a positive integer, e.g. 1 2 3", file=sys.stderr
        )
        return 2
    if any(version < 1 for version in versions) or not 1 <= args.jobs <= 8:
        print("error: versions must be positive integers and --jobs between 1 and 8", file=sys.stderr)
        return 2
    repo = project_root(args.repo)
    try:
        # Experiments hang off the commit they were queued on; read that one, so a commit made
        # while they ran does not hide them.
        baseline = args.rev or _git_head(repo)
        if not args.table_only:
            progress = Progress([experiment_name(v) for v in versions], queued_tasks(repo))
            queue_versions(versions, repo, progress)
            wait_for_queue(repo, jobs=args.jobs, timeout_s=args.timeout, progress=progress)
        shown = json.loads(_dvc(["exp", "show", "--json", "--rev", baseline], repo))
        rows = with_model_versions(rows_from_exp_show(shown, versions), repo)
    except VersionsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(format_table(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
