"""The reference profile: build_reference freezes what read_reference returns, behind the manifest."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from attrition.modelpkg.artifact import MANIFEST, manifest_text
from attrition.modelpkg.reference import (
    REFERENCE_FILE,
    ProfileError,
    baselines_from_labelled,
    build_reference,
    parse_reference,
    read_reference,
)
from tests.support.monitoring import package_with_reference


def _train(rows: int = 300) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "age": rng.integers(22, 60, rows),
            "job_role": rng.choice(["Sales", "HR", "Finance"], rows),
            "monthly_income": rng.normal(6500, 1500, rows).round(2),
            "years_at_company": rng.integers(0, 20, rows),
            "attrition": rng.integers(0, 2, rows),
        }
    )


def test_round_trip_keeps_profiles_and_baselines() -> None:
    train = _train()
    probabilities = np.random.default_rng(1).uniform(0, 1, len(train))
    baselines = baselines_from_labelled(
        train["attrition"].to_numpy(), probabilities, 0.5, source="t", n=200, seed=1
    )
    document = json.loads(json.dumps(build_reference(train, probabilities, baselines)))
    reference = parse_reference(document)
    assert reference.columns["years_at_company"].kind == "counts"  # 20 distinct values: one bin each
    assert reference.columns["monthly_income"].kind == "values"
    assert reference.columns["monthly_income"].rows == 300
    assert dict(reference.columns["job_role"].counts) == train["job_role"].value_counts().to_dict()
    assert reference.baselines["recall"].support == int(train["attrition"].sum())
    assert reference.decision_threshold == 0.5


def test_mismatched_probabilities_are_refused() -> None:
    with pytest.raises(ProfileError, match="300 training rows but 2 probabilities"):
        build_reference(_train(), np.array([0.1, 0.2]), {})


def test_malformed_documents_are_one_line() -> None:
    with pytest.raises(ProfileError, match="format 9"):
        parse_reference({"format": 9})
    with pytest.raises(ProfileError, match="malformed"):
        parse_reference({"format": 1, "columns": {}})


def test_package_reference_is_read_only_behind_the_manifest(
    model_package: Path, dataset_csv: Path, tmp_path: Path
) -> None:
    package = package_with_reference(model_package, dataset_csv, tmp_path / "pkg")
    reference = read_reference(package)
    assert reference.baselines["precision"].support > 1000  # 20,000 fresh labelled rows
    document = json.loads((package / REFERENCE_FILE).read_text())
    document["baselines"]["precision"]["value"] = 0.99
    (package / REFERENCE_FILE).write_text(json.dumps(document))
    with pytest.raises(ProfileError, match=r"reference\.json was changed"):
        read_reference(package)


def test_a_package_without_a_reference_says_what_is_missing(model_package: Path, tmp_path: Path) -> None:
    package = Path(shutil.copytree(model_package, tmp_path / "pkg"))
    (package / "reference.json").unlink()  # a package from before the package stage wrote one
    (package / MANIFEST).write_text(manifest_text(package))
    with pytest.raises(ProfileError, match=r"no reference\.json"):
        read_reference(package)


def test_the_package_stage_freezes_a_reference_with_evaluation_baselines(model_package: Path) -> None:
    reference = read_reference(model_package)
    document = json.loads((model_package / "reference.json").read_text())
    assert document["training_rows"] == 640
    assert document["baselines"]["rows"] > 10_000 and "evalset" in document["baselines"]["source"]
    assert set(document["columns"]) >= {"age", "job_role", "monthly_income", "years_at_company"}
    assert reference is not None
