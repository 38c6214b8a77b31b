"""The per-version lineage table, read from `dvc exp show --json` as DVC 3 prints it, and the progress
lines while DVC's queue runs the experiments."""

from __future__ import annotations

import io
import os
import time
from pathlib import Path
from typing import Any

import pytest

from attrition.lifecycle.versions import (
    Progress,
    QueueTask,
    VersionRow,
    VersionsError,
    _dvc,
    format_table,
    main,
    parse_queue_status,
    rows_from_exp_show,
)


def experiment(name: str, rev: str, version: int, md5: str, auc: float) -> dict[str, Any]:
    holdout = {"roc_auc": auc, "precision": 0.3, "recall": 0.75, "threshold": 0.15}
    return {
        "name": name,
        "revs": [
            {
                "rev": rev,
                "name": name,
                "data": {
                    "params": {"params.yaml": {"data": {"version": version}}},
                    "metrics": {"metrics/metrics.json": {"data": {"holdout": holdout}}},
                    "outs": {f"data/employee_attrition_v{version}.csv": {"hash": md5}},
                },
            }
        ],
    }


SHOWN = [
    {"rev": "workspace", "name": None, "data": {}},
    {
        "rev": "0bcd55c",
        "name": "main",
        "experiments": [
            experiment("dataset-v2", "b9c06d9", 2, "a463e09f", 0.81),
            experiment("dataset-v1", "a0ca843", 1, "00d4e7be", 0.78),
            experiment("other", "1234567", 1, "ffffffff", 0.5),
        ],
    },
]


def test_rows_come_in_the_asked_order_with_dvc_hashes_and_metrics() -> None:
    rows = rows_from_exp_show(SHOWN, [1, 2])
    assert [(r.version, r.rev, r.dataset_md5, r.roc_auc) for r in rows] == [
        (1, "a0ca843", "00d4e7be", 0.78),
        (2, "b9c06d9", "a463e09f", 0.81),
    ]


def test_a_version_without_a_finished_experiment_is_an_error() -> None:
    with pytest.raises(VersionsError, match=r"version\(s\) \[3\]"):
        rows_from_exp_show(SHOWN, [1, 3])


def test_table_has_one_line_per_version() -> None:
    row = VersionRow(4, "dataset-v4", "abc", "12dca570", "v4-d7b878a6e38f", 0.8068, 0.281, 0.75, 0.152)
    text = format_table([row]).splitlines()
    assert text[0].split() == [
        "version", "experiment", "dataset", "md5", "model", "version",
        "roc_auc", "precision", "recall", "threshold",
    ]  # fmt: skip
    assert text[1].split() == [
        "4",
        "dataset-v4",
        "12dca570",
        "v4-d7b878a6e38f",
        "0.8068",
        "0.281",
        "0.750",
        "0.1520",
    ]


@pytest.mark.parametrize("argv", [["abc"], ["0"], ["1", "--jobs", "0"]])
def test_bad_versions_are_one_line_and_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1


# --- progress while the queue works ---------------------------------------------------------------

QUEUE_STATUS = """\
Task     Name        Created    Status
7dc5deb  dataset-v1  12:27 PM   Success
84cf85c  dataset-v2  12:27 PM   Running
c8428fe  dataset-v3  Dec 02, 2026  Queued
0a1b2c3  other       12:01 PM   Failed

Worker status: 1 active, 0 idle
"""


def test_queue_status_rows_are_parsed() -> None:
    assert parse_queue_status(QUEUE_STATUS) == [
        QueueTask("7dc5deb", "dataset-v1", "Success"),
        QueueTask("84cf85c", "dataset-v2", "Running"),
        QueueTask("c8428fe", "dataset-v3", "Queued"),
        QueueTask("0a1b2c3", "other", "Failed"),
    ]
    assert parse_queue_status("No experiment tasks in the queue.\n\nWorker status: 0 active, 0 idle\n") == []


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_progress_says_which_experiment_is_queued_running_or_done_and_when() -> None:
    clock, stream = Clock(), io.StringIO()
    # an earlier run's finished dataset-v1 is still listed under the same name: not this run's
    progress = Progress(["dataset-v1", "dataset-v2"], {"1111111"}, stream=stream, clock=clock, heartbeat_s=30)

    def status(v1: str, v2: str) -> list[QueueTask]:
        earlier = QueueTask("1111111", "dataset-v1", "Success")
        return [earlier, QueueTask("aaaaaaa", "dataset-v1", v1), QueueTask("bbbbbbb", "dataset-v2", v2)]

    progress.queued("dataset-v1")
    clock.now += 4
    progress.queued("dataset-v2")
    progress.update(status("Queued", "Queued"))
    clock.now += 10
    progress.update(status("Running", "Queued"))
    clock.now += 20
    progress.update(status("Running", "Queued"))
    clock.now += 15  # 35 s without news: a summary line
    progress.update(status("Running", "Queued"))
    clock.now += 41
    progress.update(status("Success", "Failed"))
    assert stream.getvalue().splitlines() == [
        "versions [    0s] dataset-v1: queued (1 of 2)",
        "versions [    4s] dataset-v2: queued (2 of 2)",
        "versions [   14s] dataset-v1: running",
        "versions [   49s] dataset-v1 running for 35s; 1 queued; 0 of 2 done",
        "versions [ 1m30s] dataset-v1: done after 1m16s (1 of 2)",
        "versions [ 1m30s] dataset-v2: failed; see `dvc queue logs bbbbbbb`",
    ]


def test_starting_the_queue_does_not_wait_for_the_worker_it_leaves(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`dvc queue start` leaves a worker holding its stdout and stderr; reading them through pipes waited
    for the whole queue (the silent minutes of `make versions`)."""
    fake = tmp_path / "dvc"
    fake.write_text("#!/bin/sh\nsleep 30 &\necho \"Started '1' new experiments task queue worker.\"\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    started = time.monotonic()
    assert "Started" in _dvc(["queue", "start", "-j", "1"], tmp_path, leaves_worker=True)
    assert time.monotonic() - started < 15
