"""`attrition features` as a process: a refusal is one line and exit 2, every time.

After a threaded parquet read the process aborted at exit in about half of the runs that ended right
after it (exit 134, "terminate called without an active exception": apache/arrow#34314), so a
refusal came out as a crash; the store now reads single-threaded. Each refusal runs several times
because the abort was intermittent.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.features.builders import fill_store, simulated, write_csvs

pytestmark = pytest.mark.e2e  # processes, not the in-process unit tier

RUNS = 5


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, list[Path]]:
    root = tmp_path_factory.mktemp("cli-exit")
    extracts = simulated(300, 3)
    fill_store(str(root / "store"), extracts)
    return str(root / "store"), write_csvs(root / "hris", extracts)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            lambda store, csvs: [
                "refresh",
                "--store",
                store,
                "--hris",
                str(csvs[0]),
                "--as-of",
                csvs[0].stem[5:],
            ],
            "is older than the latest applied extract",
        ),
        (
            lambda store, csvs: [
                "training-set",
                "--store",
                store,
                "--as-of",
                "2099-12-31",
                "--horizon",
                "1mo",
                "--out",
                str(Path(store).parent / "never.csv"),
            ],
            "is after the latest extract",
        ),
    ],
    ids=["older-extract", "as-of-after-latest"],
)
def test_a_refusal_exits_2_with_one_line_every_time(store: tuple[str, list[Path]], args, message) -> None:  # type: ignore[no-untyped-def]
    uri, csvs = store
    command = [sys.executable, "-m", "attrition.cli", "features", *args(uri, csvs)]
    for _ in range(RUNS):
        done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
        assert done.returncode == 2, done.stderr
        assert done.stderr.count("\n") == 1 and message in done.stderr, done.stderr
