"""`attrition versions 1 2 3 4 5`: one DVC experiment per dataset version, and one lineage table.

The exercise trains a model on each dataset version and tracks what came out. Each version is queued
as an independent experiment from the committed baseline (`dvc exp run --queue -S version=V`), so
one never inherits another's overrides and the workspace is left as it was; DVC's queue runs them,
and `dvc exp show` lists the same experiments afterwards. The table reads DVC's own records: the
dataset md5 from the experiment's outputs, metrics from metrics.json, and the model version from the
package's metadata in DVC's cache.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from attrition.lifecycle.lineage import PACKAGE_OUT

NAME_PREFIX = "dataset-v"
POLL_S = 3.0


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


def _dvc(args: list[str], cwd: Path) -> str:
    completed = subprocess.run(["dvc", *args], cwd=cwd, capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        lines = (completed.stderr or completed.stdout).strip().splitlines() or ["no output"]
        raise VersionsError(f"dvc {' '.join(args)}: {lines[-1].removeprefix('ERROR: ')}")
    return completed.stdout


def _git_head(repo: Path) -> str:
    completed = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True, check=False
    )
    if completed.returncode != 0:
        raise VersionsError(f"{repo}: not a git repository with a commit (git rev-parse HEAD failed)")
    return completed.stdout.strip()


def queue_versions(versions: list[int], repo: Path) -> None:
    """Queue one experiment per version; a re-run replaces the experiment of the same name."""
    for version in versions:
        _dvc(
            ["exp", "run", "--queue", "-f", "-S", f"version={version}", "-n", experiment_name(version)], repo
        )


def wait_for_queue(repo: Path, *, jobs: int, timeout_s: float) -> None:
    """Start the queue's workers and wait (bounded) until nothing is queued or running."""
    _dvc(["queue", "start", "-j", str(jobs)], repo)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        status = _dvc(["queue", "status"], repo)
        if not any(word in status for word in ("Queued", "Running")):
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
    parser.add_argument("--repo", type=Path, default=Path(), help="the project's repository")
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
    try:
        # Experiments hang off the commit they were queued on; read that one, so a commit made
        # while they ran does not hide them.
        baseline = args.rev or _git_head(args.repo)
        if not args.table_only:
            queue_versions(versions, args.repo)
            wait_for_queue(args.repo, jobs=args.jobs, timeout_s=args.timeout)
        shown = json.loads(_dvc(["exp", "show", "--json", "--rev", baseline], args.repo))
        rows = with_model_versions(rows_from_exp_show(shown, versions), args.repo)
    except VersionsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(format_table(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
