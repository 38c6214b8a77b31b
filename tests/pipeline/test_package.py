"""The package: lineage contents, and verification that refuses altered packages before unpickling."""

from __future__ import annotations

import hashlib
import json
import pickle
import subprocess
import sys
from pathlib import Path

import pytest

from attrition.cli import main as cli_main
from attrition.modelpkg.artifact import MANIFEST, PackageError, check_manifest, load_package, manifest_text
from attrition.modelpkg.verify import verify_package
from attrition.pipeline.package import _gap, _reliance

EXPECTED_FILES = {
    "model.joblib",
    "model.json",
    "reference.json",
    "explanation.json",
    "metadata.json",
    "input_schema.json",
    "samples.json",
    "requirements.txt",
    "README.md",
    MANIFEST,
}


def test_package_holds_every_promised_file(model_package: Path) -> None:
    assert {p.name for p in model_package.iterdir()} == EXPECTED_FILES


def test_metadata_is_a_complete_lineage_record(model_package: Path, dataset_csv: Path) -> None:
    meta = json.loads((model_package / "metadata.json").read_text())
    data = dataset_csv.read_bytes()
    assert meta["dataset"]["version"] == 3
    assert meta["dataset"]["sha256"] == hashlib.sha256(data).hexdigest()
    assert meta["dataset"]["md5"] == hashlib.md5(data).hexdigest()
    assert meta["dataset"]["rows"] == 800 and 0 < meta["dataset"]["positive_rate"] < 1
    model_sha = hashlib.sha256((model_package / "model.joblib").read_bytes()).hexdigest()
    decides = f"{model_sha} {meta['decision_threshold']!r}"
    assert meta["model_version"] == f"v3-{hashlib.sha256(decides.encode()).hexdigest()[:12]}"
    assert meta["model"]["family"] == "hgb" and meta["model"]["hyperparameters"]
    assert meta["split"]["seed"] == 42
    assert 0 < meta["decision_threshold"] < 1
    assert meta["metrics"]["holdout"]["threshold"] == meta["decision_threshold"]
    assert meta["environment"]["libraries"]["scikit-learn"] != "not installed"
    assert meta["environment"]["python"].count(".") == 1  # 3.11: the minor version, not the patch
    assert set(meta["code"]) == {"train", "package"}
    assert "attrition/pipeline/package.py" in meta["code"]["package"]["modules"]
    # nothing about the run (times, host, commit) is inside the package: rebuilding gives the same bytes
    assert "training" not in meta and "platform" not in meta["environment"]
    assert meta["features"]["job_roles"] == sorted(meta["features"]["job_roles"])


def test_requirements_pin_what_loading_needs(model_package: Path) -> None:
    text = (model_package / "requirements.txt").read_text()
    lines = [line for line in text.splitlines() if "==" in line]
    names = {line.split("==")[0] for line in lines}
    assert {"scikit-learn", "numpy", "scipy", "joblib", "pandas"} <= names


def test_schema_and_samples(model_package: Path) -> None:
    schema = json.loads((model_package / "input_schema.json").read_text())
    assert set(schema["columns"]["job_role"]["enum"]) >= {"Sales", "Engineering"}
    assert schema["columns"]["age"]["type"] == "integer"
    samples = json.loads((model_package / "samples.json").read_text())
    assert len(samples) == 6 and all(0 <= s["probability"] <= 1 for s in samples)


def test_verify_passes_on_a_fresh_package(model_package: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["verify", str(model_package)]) == 0
    assert "6 sample predictions of model.joblib and model.json match" in capsys.readouterr().out


def _verify(package: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "attrition.cli", "verify", str(package)],
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.parametrize(
    ("damage", "needle"),
    [
        (lambda p: (p / "README.md").write_text("edited"), "README.md was changed"),
        (lambda p: (p / "samples.json").unlink(), "samples.json is listed in MANIFEST.sha256 but missing"),
        (lambda p: (p / "notes.txt").write_text("hi"), "unexpected file notes.txt"),
        (lambda p: (p / MANIFEST).unlink(), "no MANIFEST.sha256"),
        (lambda p: (p / MANIFEST).write_text("nonsense\n"), "line 1"),
    ],
)
def test_verify_refuses_changed_missing_or_extra_files(package_copy: Path, damage, needle: str) -> None:  # type: ignore[no-untyped-def]
    damage(package_copy)
    completed = _verify(package_copy)
    assert completed.returncode != 0
    assert needle in completed.stderr
    assert len(completed.stderr.strip().splitlines()) == 1


class _Trap:
    """Unpickling this writes a marker file: proof that a pickle was loaded."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (Path(self.marker).write_text, ("unpickled",))


def test_a_tampered_model_is_never_unpickled(package_copy: Path, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    (package_copy / "model.joblib").write_bytes(pickle.dumps(_Trap(str(marker))))
    with pytest.raises(PackageError, match=r"model\.joblib was changed"):
        load_package(package_copy)
    assert _verify(package_copy).returncode != 0
    assert not marker.exists()


def test_a_consistently_rehashed_but_wrong_model_fails_the_prediction_check(package_copy: Path) -> None:
    samples = json.loads((package_copy / "samples.json").read_text())
    samples[0]["probability"] += 1e-6
    (package_copy / "samples.json").write_text(json.dumps(samples))
    (package_copy / MANIFEST).write_text(manifest_text(package_copy))
    check_manifest(package_copy)  # hashes are consistent again...
    completed = _verify(package_copy)
    assert completed.returncode != 0  # ...but the model disagrees with the recorded sample
    assert "sample profile 1 predicts" in completed.stderr


def test_verify_a_missing_directory() -> None:
    completed = _verify(Path("/nonexistent/package"))
    assert completed.returncode != 0 and "not a package directory" in completed.stderr


def test_a_package_that_fails_verification_never_replaces_the_last_good_one(
    pipeline_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from attrition.pipeline import package as package_stage

    out = tmp_path / "models" / "attrition-model"
    out.mkdir(parents=True)
    (out / "previous.txt").write_text("last good package")

    def refuse(staging: Path) -> str:
        raise PackageError(f"{staging}: sample profile 1 predicts 0.5, recorded 0.4")

    monkeypatch.setattr(package_stage, "verify_package", refuse)
    monkeypatch.chdir(pipeline_dir)
    code = package_stage.main(
        [
            "--data", "data/training_rows.csv", "--extract", "data/training_rows.json",
            "--model", "models/model.joblib",
            "--record", "models/train.json", "--metrics", "metrics/evaluation.json",
            "--evalset", "data/evalset_v3.csv", "--out", str(out),
        ]
    )  # fmt: skip
    assert code == 2
    assert "sample profile 1 predicts" in capsys.readouterr().err
    assert [p.name for p in out.iterdir()] == ["previous.txt"]
    assert [p.name for p in out.parent.iterdir()] == ["attrition-model"]


def _package_with(pipeline_dir: Path, out: Path, data: Path, extract: Path, params: Path) -> int:
    from attrition.pipeline import package as package_stage

    return package_stage.main(
        [
            "--params", str(params), "--data", str(data), "--extract", str(extract),
            "--model", "models/model.joblib", "--record", "models/train.json",
            "--metrics", "metrics/evaluation.json", "--evalset", "data/evalset_v3.csv",
            "--out", str(out),
        ]
    )  # fmt: skip


def test_rows_of_another_dataset_version_are_refused(
    pipeline_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The rows' record says version 3; params.yaml says 2: packaging would mislabel the model."""
    params = tmp_path / "params.yaml"
    params.write_text((pipeline_dir / "params.yaml").read_text().replace("version: 3", "version: 2"))
    out = tmp_path / "attrition-model"
    monkeypatch.chdir(pipeline_dir)
    code = _package_with(
        pipeline_dir, out, Path("data/training_rows.csv"), Path("data/training_rows.json"), params
    )
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("error: --data data/training_rows.csv: rows are dataset version 3, ")
    assert "params.yaml's version is 2" in err and len(err.strip().splitlines()) == 1
    assert not out.exists()


def test_rows_changed_after_extract_are_refused(
    pipeline_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A CSV edited (or copied from elsewhere) after extract is not the recorded rows."""
    edited = tmp_path / "training_rows.csv"
    text = (pipeline_dir / "data" / "training_rows.csv").read_text()
    edited.write_text(text + text.splitlines()[1] + "\n")
    out = tmp_path / "attrition-model"
    monkeypatch.chdir(pipeline_dir)
    code = _package_with(
        pipeline_dir, out, edited, Path("data/training_rows.json"), pipeline_dir / "params.yaml"
    )
    err = capsys.readouterr().err
    assert code == 2
    assert "is not the extracted rows'" in err and "changed after extract ran" in err
    assert len(err.strip().splitlines()) == 1
    assert not out.exists()


def test_package_files_are_readable_by_other_users(model_package: Path) -> None:
    """A non-root container serving a read-only mounted package must be able to read every file."""
    for path in [model_package, *model_package.iterdir()]:
        assert path.stat().st_mode & 0o004, f"{path.name} is not world-readable"


def test_the_model_version_changes_with_the_decision_threshold() -> None:
    from attrition.pipeline.package import model_version

    sha = "ab" * 32
    assert model_version("v3", sha, 0.2) != model_version("v3", sha, 0.25)
    assert model_version("v3", sha, 0.2) == model_version("v3", sha, 0.2)
    assert model_version("t36", sha, 0.2).startswith("t36-")


def test_model_card_states_an_undefined_gap_instead_of_failing() -> None:
    """Evaluate writes "undefined" where a band has no positives; the card must say so, not crash."""
    fairness = {
        "equal_opportunity_difference_age": "undefined",
        "equal_opportunity_difference_age_interval": {"low": "undefined", "high": "undefined", "level": 0.9},
        "equal_opportunity_difference_age_status": "insufficient_data",
        "recall_by_age_band": {"<30": {"positives": 0}, "30-44": {"positives": 3}},
    }
    assert _gap(fairness) == (
        "undefined (bias-corrected; 90% simultaneous undefined to undefined), positives per band: "
        "30-44 3, <30 0; insufficient_data"
    )
    numeric = {**fairness, "equal_opportunity_difference_age": 0.1234}
    numeric["equal_opportunity_difference_age_interval"] = {"low": 0.01, "high": 0.25, "level": 0.9}
    assert _gap(numeric).startswith("0.123 (bias-corrected; 90% simultaneous 0.010 to 0.250)")


def test_the_card_says_what_the_model_relies_on(model_package: Path) -> None:
    card = (model_package / "README.md").read_text()
    line = next(line for line in card.splitlines() if line.startswith("| What the model relies on |"))
    assert all(column in line for column in ("monthly_income", "years_at_company", "job_role"))
    assert "160 hold-out rows" in line and "age" not in line.replace("years_at_company", "")
    assert _reliance({}).startswith("not measured")


def test_recorded_contributions_the_explainer_does_not_reproduce_fail_verification(
    package_copy: Path,
) -> None:
    """explanation.json's samples hold the scikit-learn reference; a rehashed edit of one is caught."""
    path = package_copy / "explanation.json"
    document = json.loads(path.read_text())
    document["samples"][0]["contributions"]["monthly_income"] += 1e-6
    path.write_text(json.dumps(document))
    (package_copy / MANIFEST).write_text(manifest_text(package_copy))
    with pytest.raises(PackageError, match=r"explanation\.json: explanation sample 1: contributions differ"):
        verify_package(package_copy)


def test_the_background_is_a_seeded_sample_of_training_rows_holding_only_model_inputs(
    model_package: Path,
) -> None:
    document = json.loads((model_package / "explanation.json").read_text())
    background = document["background"]
    assert background["columns"] == ["monthly_income", "years_at_company", "job_role"]
    assert len(background["rows"]) == 200 and background["seed"] == 24
    words = document["plain_words"]
    assert set(words["columns"]) == {"monthly_income", "years_at_company"}
    assert set(words["columns"]["monthly_income"]["groups"]) <= set(
        json.loads((model_package / "metadata.json").read_text())["features"]["job_roles"]
    )
