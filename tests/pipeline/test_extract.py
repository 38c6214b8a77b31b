"""Stage extract: the seed rows unchanged, or a pinned point-in-time training set from the store.

The hris tests run the stages as dvc.yaml wires them on a small simulated company, so the package
they end with is labelled by the store's table version and records where its rows came from.
"""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import pytest

from attrition.features.training import training_csv_bytes, training_set
from attrition.pipeline import extract as extract_stage
from tests.conftest import stage_env
from tests.features.builders import fill_store, hris_params, simulated
from tests.support.one_process import run_in_one_process

AS_OF = "2025-06-30"  # hris_params' as-of: 30 monthly extracts from 2023-01-31


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, int]:
    """A simulated company's store: 600 employees at the start, 30 months."""
    path = str(tmp_path_factory.mktemp("store") / "store")
    return path, fill_store(path, simulated(600, 30, seed=11))


def extract(folder: Path, params: Path, seed_data: Path | None = None) -> int:
    seed = seed_data or folder / "employee_attrition_v3.csv"
    out, record = folder / "training_rows.csv", folder / "training_rows.json"
    return extract_stage.main(
        ["--params", str(params), "--seed-data", str(seed), "--out", str(out), "--record", str(record)]
    )


@pytest.mark.unit
def test_seed_rows_are_the_generated_file_byte_for_byte(pipeline_dir: Path) -> None:
    rows = pipeline_dir / "data" / "training_rows.csv"
    assert rows.read_bytes() == (pipeline_dir / "data" / "employee_attrition_v3.csv").read_bytes()
    record = json.loads((pipeline_dir / "data" / "training_rows.json").read_text())
    assert record["source"] == "seed" and record["dataset_version"] == 3
    assert record["rows"] == 800 and "feature_store" not in record


@pytest.mark.unit
def test_a_seed_file_of_another_version_is_refused(
    pipeline_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = tmp_path / "employee_attrition_v2.csv"
    shutil.copy(pipeline_dir / "data" / "employee_attrition_v3.csv", other)
    assert extract(tmp_path, pipeline_dir / "params.yaml", other) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: --seed-data ") and "is not dataset version 3" in err
    assert len(err.splitlines()) == 1 and not (tmp_path / "training_rows.csv").exists()


@pytest.mark.unit
def test_store_rows_are_the_pinned_training_set_and_rebuild_byte_for_byte(
    store: tuple[str, int], tmp_path: Path
) -> None:
    uri, latest = store
    pinned = latest - 2  # not the latest: a later refresh must not change what the params pin
    params = hris_params(tmp_path, uri, pinned, as_of="2025-04-30")
    assert extract(tmp_path, params) == 0
    first = (tmp_path / "training_rows.csv").read_bytes()
    expected = training_set(uri, date(2025, 4, 30), 12, 1, pinned)
    assert first == training_csv_bytes(expected.frame)
    record = json.loads((tmp_path / "training_rows.json").read_text())
    assert record["source"] == "hris" and record["feature_store"]["table_version"] == pinned
    assert record["feature_store"]["as_of"] == "2025-04-30" and record["rows"] == len(expected.frame)
    assert extract(tmp_path, params) == 0
    assert (tmp_path / "training_rows.csv").read_bytes() == first


@pytest.mark.unit
@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"table_version": 999}, "no table version 999"),
        ({"as_of": "2026-06-30"}, "is after the latest extract"),
        ({"store": "/nonexistent/store"}, "/nonexistent/store: no feature table, so no version"),
    ],
)
def test_a_store_that_cannot_give_the_rows_is_one_line(
    store: tuple[str, int],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    data: dict[str, object],
    message: str,
) -> None:
    uri, latest = store
    params = hris_params(tmp_path, uri, latest, **data)
    assert extract(tmp_path, params) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: data.store ") and message in err and len(err.splitlines()) == 1
    assert not (tmp_path / "training_rows.csv").exists()


@pytest.mark.dvc  # full fits of the stages on ~9,000 snapshot rows
def test_train_evaluate_evalset_and_package_run_on_the_store(store: tuple[str, int], tmp_path: Path) -> None:
    uri, latest = store
    hris_params(tmp_path, uri, latest)  # tmp_path/params.yaml, which the stages read by default
    (tmp_path / "data").mkdir()
    seed = "data/employee_attrition_v3.csv"
    rows, record = "data/training_rows.csv", "data/training_rows.json"
    common = ["--data", rows, "--model", "models/model.joblib", "--record", "models/train.json"]
    package = [
        *common, "--extract", record, "--metrics", "metrics/evaluation.json",
        "--evalset", "data/evalset.csv", "--out", "models/attrition-model",
    ]  # fmt: skip
    commands = [
        ["attrition", "generate", "--params", "params.yaml", "--out", seed],
        ["attrition", "extract", "--seed-data", seed, "--out", rows, "--record", record],
        ["attrition", "train", *common],
        ["attrition", "evaluate", *common, "--live", "metrics", "--out", "metrics/evaluation.json"],
        ["attrition", "evalset", "--data", rows, "--out", "data/evalset.csv"],
        ["attrition", "package", *package],
    ]
    # one interpreter for the six stages (tests/support/one_process.py: the same bytes, a fifth of the CPU)
    outputs = run_in_one_process(commands, tmp_path, stage_env(), what="the stages on the store").outputs
    assert "0 fresh" in outputs[4]
    assert f"package: t{latest}-" in outputs[5]

    train = json.loads((tmp_path / "models" / "train.json").read_text())
    assert train["split"]["method"] == "out_of_time"
    assert train["split"]["holdout_snapshots"] == ["2024-06-30"]
    assert train["split"]["train_last_snapshot"] == "2023-06-30"
    meta = json.loads((tmp_path / "models" / "attrition-model" / "metadata.json").read_text())
    assert meta["model_version"].startswith(f"t{latest}-")
    assert meta["dataset"]["source"] == "hris" and meta["dataset"]["generator"] == {}
    assert meta["dataset"]["feature_store"]["store"] == uri
    assert meta["dataset"]["feature_store"]["table_version"] == latest
    assert meta["dataset"]["feature_store"]["as_of"] == AS_OF
    card = (tmp_path / "models" / "attrition-model" / "README.md").read_text()
    assert f"table version {latest} as of {AS_OF}" in card
    # the gate's evidence is the out-of-time hold-out: the latest labelled snapshot only
    evaluation = (tmp_path / "data" / "evalset.csv").read_text().splitlines()
    assert evaluation[0].startswith("employee_id,snapshot_date,")
    assert {line.split(",")[1] for line in evaluation[1:]} == {"2024-06-30"}
