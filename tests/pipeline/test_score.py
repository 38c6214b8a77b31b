"""The score stage: roster ids in row order, the pipeline's own probabilities, atomic output."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest

from attrition.canonical_json import canonical_array
from attrition.dataset import FEATURES
from attrition.pipeline.score import main


def test_scores_every_roster_row_with_the_package(
    model_package: Path, dataset_csv: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out" / "batch_scores.csv"
    assert main(["--package", str(model_package), "--data", str(dataset_csv), "--out", str(out)]) == 0
    scores = pd.read_csv(out, dtype={"employee_id": str, "model_version": str})
    roster = pd.read_csv(dataset_csv)
    meta = json.loads((model_package / "metadata.json").read_text())
    assert list(scores.columns) == ["employee_id", "attrition_probability", "decision", "model_version"]
    assert len(scores) == len(roster)
    assert scores["employee_id"].iloc[0] == "E00001"
    assert scores["employee_id"].iloc[-1] == f"E{len(roster):05d}"
    model = joblib.load(model_package / "model.joblib")
    want = model.predict_proba(roster[FEATURES])[:, 1]
    # the canonical probability, exactly (attrition.canonical_json): the same bytes on any CPU
    assert (scores["attrition_probability"].to_numpy() == canonical_array(want)).all()
    assert np.allclose(scores["attrition_probability"], want, rtol=1e-9, atol=0)
    assert (scores["decision"] == (want >= meta["decision_threshold"]).astype(int)).all()
    assert set(scores["model_version"]) == {meta["model_version"]}
    assert not list(out.parent.glob(".*tmp"))


def test_tampered_package_is_one_line_and_writes_nothing(
    model_package: Path, dataset_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    package = Path(shutil.copytree(model_package, tmp_path / "pkg"))
    (package / "metadata.json").write_text("{}")
    out = tmp_path / "scores.csv"
    assert main(["--package", str(package), "--data", str(dataset_csv), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err and "metadata.json" in err
    assert not out.exists()


def test_missing_roster_is_one_line(
    model_package: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        main(
            [
                "--package",
                str(model_package),
                "--data",
                str(tmp_path / "nope.csv"),
                "--out",
                str(tmp_path / "s.csv"),
            ]
        )
        == 2
    )
    assert "file not found" in capsys.readouterr().err


def test_the_nightly_job_scores_every_active_employee_of_an_online_file(
    model_package: Path, tmp_path: Path
) -> None:
    """--online: the roster is the online file's active employees, under their HRIS ids, in id order."""
    from datetime import date

    from attrition.features.materialize import materialize
    from attrition.features.online import OnlineStore, online_file_bytes
    from tests.features.builders import fill_store, simulated

    store = str(tmp_path / "store")
    fill_store(store, simulated(200, 6, seed=5))
    online = tmp_path / "online.json.gz"
    online.write_bytes(online_file_bytes(materialize(store, date(2023, 6, 30))))
    out = tmp_path / "batch_scores.csv"
    assert main(["--package", str(model_package), "--online", str(online), "--out", str(out)]) == 0
    scores = pd.read_csv(out, dtype={"employee_id": str, "model_version": str})
    lookup = OnlineStore.load(online)
    assert scores["employee_id"].tolist() == lookup.active_ids()  # the departed are not scored
    features = pd.DataFrame([lookup.get(i) for i in lookup.active_ids()], columns=FEATURES)
    model = joblib.load(model_package / "model.joblib")
    want = canonical_array(model.predict_proba(features)[:, 1])
    assert (scores["attrition_probability"].to_numpy() == want).all()


def test_an_online_file_that_is_not_one_is_one_line(
    model_package: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bogus = tmp_path / "online.json.gz"
    bogus.write_text("not gzip")
    out = tmp_path / "batch_scores.csv"
    assert main(["--package", str(model_package), "--online", str(bogus), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"error: --online {bogus}: ") and len(err.splitlines()) == 1
    assert not out.exists()
