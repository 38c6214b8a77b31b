"""Loading a package: model.json first (hash, then samples), never a pickle; joblib only with sklearn."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import joblib
import pandas as pd
import pytest

from attrition.dataset import FEATURES
from attrition.modelpkg.artifact import PackageError
from attrition.service.core.model_state import MODEL_DATA_FILE, ModelLoadError, load_model_state
from tests.support.service import SAMPLE_EMPLOYEE, drop_model_json, model_json, rewrite_manifest, tamper


def test_model_json_is_loaded_and_scores_like_the_pipeline(package_copy: Path) -> None:
    state = load_model_state(package_copy)
    assert state.scorer.reason == "compiled (model.json)"
    pipeline = joblib.load(package_copy / "model.joblib")
    want = pipeline.predict_proba(pd.DataFrame([SAMPLE_EMPLOYEE])[FEATURES])[0, 1]
    assert abs(state.scorer.predict_one(SAMPLE_EMPLOYEE) - want) <= 1e-9
    metadata = json.loads((package_copy / "metadata.json").read_text())
    assert state.model_version == metadata["model_version"]
    assert list(state.job_roles) == metadata["features"]["job_roles"]


def test_model_json_packages_are_never_unpickled(package_copy: Path) -> None:
    (package_copy / "model.joblib").write_bytes(b"not a pickle: loading this would raise")
    rewrite_manifest(package_copy)
    assert load_model_state(package_copy).scorer.compiled


def test_a_changed_model_json_fails_the_manifest(package_copy: Path) -> None:
    tamper(package_copy, MODEL_DATA_FILE)
    with pytest.raises(PackageError, match=r"model\.json was changed"):
        load_model_state(package_copy)


def test_model_json_that_disagrees_with_the_samples_is_refused(package_copy: Path) -> None:
    data = model_json(package_copy)
    section = data[data["family"]]
    if "intercept" in section:
        section["intercept"] += 1e-6
    else:
        section["baseline"] += 1e-6
    (package_copy / MODEL_DATA_FILE).write_text(json.dumps(data))
    rewrite_manifest(package_copy)
    with pytest.raises(ModelLoadError, match=r"predicts .* for sample profile 1, recorded"):
        load_model_state(package_copy)


def test_no_model_json_without_scikit_learn_is_not_servable(package_copy: Path) -> None:
    drop_model_json(package_copy)
    with pytest.raises(ModelLoadError, match=r"no model\.json, and model\.joblib needs scikit-learn"):
        load_model_state(package_copy, allow_pickle=False)
    assert load_model_state(package_copy, allow_pickle=True).scorer.reason == "compiled"


_WITHOUT_SKLEARN = """
import sys
from pathlib import Path
for name in ("sklearn", "scipy", "pandas", "numpy", "joblib"):
    sys.modules[name] = None  # as in the serving image: importing any of them fails
import attrition.service.app  # the whole service imports without them
from attrition.service.core.model_state import load_model_state
state = load_model_state(Path(sys.argv[1]))
print(state.scorer.reason, state.scorer.predict_one(
    {"age": 34, "job_role": "Sales", "monthly_income": 3200.5, "years_at_company": 2}))
"""


def test_an_install_without_the_scientific_stack_serves_model_json(package_copy: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", _WITHOUT_SKLEARN, str(package_copy)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("compiled (model.json) ")
    (package_copy / MODEL_DATA_FILE).unlink()
    rewrite_manifest(package_copy)
    refused = subprocess.run(
        [sys.executable, "-c", _WITHOUT_SKLEARN, str(package_copy)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert refused.returncode != 0
    assert "needs scikit-learn" in refused.stderr


def test_explanations_that_do_not_reproduce_the_recorded_reference_are_refused(package_copy: Path) -> None:
    """explanation.json's samples hold scikit-learn's contributions: a rehashed edit is a load error."""
    path = package_copy / "explanation.json"
    document = json.loads(path.read_text())
    document["samples"][2]["contributions"]["job_role"] -= 1e-6
    path.write_text(json.dumps(document))
    rewrite_manifest(package_copy)
    with pytest.raises(ModelLoadError, match=r"explanation\.json: explanation sample 3"):
        load_model_state(package_copy)


def test_a_package_from_before_explanations_is_served_without_reasons(package_copy: Path) -> None:
    (package_copy / "explanation.json").unlink()
    rewrite_manifest(package_copy)
    state = load_model_state(package_copy)
    assert state.explainer is None and state.scorer.predict_one(SAMPLE_EMPLOYEE) > 0


def test_a_package_with_explanations_gives_reasons(package_copy: Path) -> None:
    state = load_model_state(package_copy)
    assert state.explainer is not None and state.explainer.explainer.strategy == "tables"
    why = state.explainer.why(SAMPLE_EMPLOYEE)
    probability = state.scorer.predict_one(SAMPLE_EMPLOYEE)
    assert abs(why.explanation.baseline + sum(why.explanation.as_dict().values()) - probability) <= 1e-12
