"""The per-version lineage table, read from `dvc exp show --json` as DVC 3 prints it."""

from __future__ import annotations

from typing import Any

import pytest

from attrition.lifecycle.versions import VersionRow, VersionsError, format_table, main, rows_from_exp_show


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
