"""The compiled scorer and its data-only form (model.json) give the pipeline's probabilities to 1e-9.

Also with a recalibration map after the classifier (attrition.method.calibration) and with dropped columns.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from attrition.method.calibration import RecalibratedClassifier
from attrition.modelpkg.scorer import (
    CompiledScorer,
    ModelDataError,
    PipelineScorer,
    UnsupportedModelError,
    build_scorer,
    compile_pipeline,
    export_model_data,
    scorer_from_data,
)

NUMERIC = ["age", "monthly_income", "years_at_company"]
FEATURES = ["age", "job_role", "monthly_income", "years_at_company"]
ROLES = ["Analyst", "Engineer", "Manager", "Sales", "Support"]


def _frame(rng: np.random.Generator, n: int) -> pd.DataFrame:
    age = rng.integers(18, 66, n)
    return pd.DataFrame(
        {
            "age": age,
            "job_role": rng.choice(ROLES, n),
            "monthly_income": rng.uniform(1500, 20000, n).round(2),
            "years_at_company": np.minimum(rng.integers(0, 40, n), age - 16),
        }
    )


# A strictly increasing log-odds map with a kink inside the scores' range and steep/flat ends.
KNOTS_X = [-2.0, -0.5, 0.0, 1.5]
KNOTS_Y = [-3.5, -1.0, -0.2, 0.4]


def _pipeline(family: str, numeric: object, clf: object, numeric_columns: list[str] = NUMERIC) -> Pipeline:
    rng = np.random.default_rng(7 if family == "logreg" else 11)
    frame = _frame(rng, 600)
    logit = (
        -0.05 * (frame["age"] - 40)
        - 0.0002 * (frame["monthly_income"] - 8000)
        + (frame["job_role"] == "Sales") * 0.8
    )
    y = (rng.random(len(frame)) < 1 / (1 + np.exp(-logit))).astype(int)
    pre = ColumnTransformer(
        [
            ("numeric", numeric, numeric_columns),
            ("job_role", OneHotEncoder(handle_unknown="ignore", sparse_output=False), ["job_role"]),
        ]
    )
    return Pipeline([("preprocess", pre), ("classifier", clf)]).fit(frame[FEATURES], y)


@pytest.fixture(scope="module")
def logreg_pipeline() -> Pipeline:
    return _pipeline("logreg", StandardScaler(), LogisticRegression(max_iter=500))


@pytest.fixture(scope="module")
def hgb_pipeline() -> Pipeline:
    return _pipeline("hgb", "passthrough", HistGradientBoostingClassifier(max_iter=60, random_state=0))


@pytest.fixture(scope="module")
def recalibrated_pipeline() -> Pipeline:
    """The champion's shape: age dropped by column selection, a log-odds map after the trees."""
    trees = HistGradientBoostingClassifier(max_iter=60, random_state=0)
    clf = RecalibratedClassifier(trees, KNOTS_X, KNOTS_Y, "isotonic")
    return _pipeline("hgb", "passthrough", clf, ["monthly_income", "years_at_company"])


@pytest.fixture(scope="module", params=["logreg", "hgb", "recalibrated"])
def fitted(request: pytest.FixtureRequest) -> Pipeline:
    pipeline: Pipeline = request.getfixturevalue(f"{request.param}_pipeline")
    return pipeline


def _rows_with_boundaries(pipeline: Pipeline, rng: np.random.Generator) -> list[dict]:
    rows = _frame(rng, 2000).to_dict("records")
    # Extremes and an unknown role (one-hot encodes it as all zeros).
    rows += [
        {"age": 16, "job_role": "Analyst", "monthly_income": 0.01, "years_at_company": 0},
        {"age": 100, "job_role": "Support", "monthly_income": 1e6, "years_at_company": 84},
        {"age": 40, "job_role": "Astronaut", "monthly_income": 5000.0, "years_at_company": 3},
    ]
    clf = pipeline.named_steps["classifier"]
    if isinstance(clf, RecalibratedClassifier):
        clf = clf.classifier_
    if isinstance(clf, HistGradientBoostingClassifier):
        # Values exactly on split thresholds exercise the `<=` edge of every numeric split.
        for tree in clf._predictors[:20]:
            nodes = tree[0].nodes
            for node in nodes[~nodes["is_leaf"].astype(bool)]:
                feature = int(node["feature_idx"])
                numeric = [c for _, _, cols in pipeline[0].transformers_[:1] for c in cols]
                if feature < len(numeric):
                    for value in np.nextafter(node["num_threshold"], [-np.inf, 0, np.inf]):
                        row = dict(rows[len(rows) % 50])
                        row[numeric[feature]] = float(value)
                        rows.append(row)
    return rows


def test_compiled_equals_predict_proba(fitted: Pipeline) -> None:
    scorer = compile_pipeline(fitted)
    rows = _rows_with_boundaries(fitted, np.random.default_rng(3))
    expected = fitted.predict_proba(pd.DataFrame(rows)[FEATURES])[:, 1]
    got = np.array([scorer.predict_one(row) for row in rows])
    assert len(rows) > 2000
    assert np.max(np.abs(got - expected)) <= 1e-9
    assert scorer.predict_many(rows[:5]) == [scorer.predict_one(r) for r in rows[:5]]


def test_build_scorer_prefers_compiled_when_it_matches(fitted: Pipeline) -> None:
    rows = _frame(np.random.default_rng(5), 20).to_dict("records")
    scorer = build_scorer(fitted, FEATURES, rows)
    assert isinstance(scorer, CompiledScorer)
    assert scorer.compiled


def test_unsupported_classifier_falls_back_to_pipeline() -> None:
    pipeline = _pipeline("rf", "passthrough", RandomForestClassifier(n_estimators=5, random_state=0))
    with pytest.raises(UnsupportedModelError, match="RandomForestClassifier"):
        compile_pipeline(pipeline)
    scorer = build_scorer(pipeline, FEATURES)
    assert isinstance(scorer, PipelineScorer)
    assert "RandomForestClassifier" in scorer.reason
    row = {"age": 30, "job_role": "Sales", "monthly_income": 4000.0, "years_at_company": 2}
    want = pipeline.predict_proba(pd.DataFrame([row])[FEATURES])[0, 1]
    assert scorer.predict_one(row) == pytest.approx(want, abs=1e-12)


def test_mismatch_on_check_rows_falls_back(fitted: Pipeline, monkeypatch: pytest.MonkeyPatch) -> None:
    rows = _frame(np.random.default_rng(9), 5).to_dict("records")
    monkeypatch.setattr(CompiledScorer, "predict_one", lambda self, row: 2.0)
    scorer = build_scorer(fitted, FEATURES, rows)
    assert isinstance(scorer, PipelineScorer)
    assert "differs" in scorer.reason


def test_real_package_compiles_and_matches_on_its_roster(model_package: Path, dataset_csv: Path) -> None:
    pipeline = joblib.load(model_package / "model.joblib")
    roster = pd.read_csv(dataset_csv)[FEATURES]
    scorer = compile_pipeline(pipeline)
    got = np.array([scorer.predict_one(row) for row in roster.to_dict("records")])
    assert np.max(np.abs(got - pipeline.predict_proba(roster)[:, 1])) <= 1e-9


def test_exported_data_round_trips_through_json_to_predict_proba(fitted: Pipeline) -> None:
    data = json.loads(json.dumps(export_model_data(fitted), allow_nan=False))
    scorer = scorer_from_data(data)
    rows = _rows_with_boundaries(fitted, np.random.default_rng(13))
    expected = fitted.predict_proba(pd.DataFrame(rows)[FEATURES])[:, 1]
    got = np.array(scorer.predict_many(rows))
    assert len(rows) > 2000
    assert np.max(np.abs(got - expected)) <= 1e-9
    assert scorer.family == data["family"]
    recalibrated = isinstance(fitted.named_steps["classifier"], RecalibratedClassifier)
    assert data["format_version"] == (2 if recalibrated else 1)
    assert ("recalibration" in data) is recalibrated


def test_the_map_changes_probabilities_but_never_their_order(recalibrated_pipeline: Pipeline) -> None:
    rows = _frame(np.random.default_rng(19), 500)
    scorer = compile_pipeline(recalibrated_pipeline)
    calibrated = np.array(scorer.predict_many(rows.to_dict("records")))
    trees = recalibrated_pipeline.named_steps["classifier"].classifier_
    plain = trees.predict_proba(recalibrated_pipeline[0].transform(rows))[:, 1]
    assert np.max(np.abs(calibrated - plain)) > 0.05
    order = np.argsort(plain, kind="stable")
    assert np.all(np.diff(calibrated[order]) >= 0)


def test_real_package_data_matches_on_samples_and_roster(model_package: Path, dataset_csv: Path) -> None:
    pipeline = joblib.load(model_package / "model.joblib")
    scorer = scorer_from_data(json.loads(json.dumps(export_model_data(pipeline))))
    samples = json.loads((model_package / "samples.json").read_text())
    for sample in samples:
        assert abs(scorer.predict_one(sample["profile"]) - sample["probability"]) <= 1e-9
    roster = pd.read_csv(dataset_csv)[FEATURES]
    got = np.array(scorer.predict_many(roster.to_dict("records")))
    assert len(roster) >= 800
    assert np.max(np.abs(got - pipeline.predict_proba(roster)[:, 1])) <= 1e-9


_WITHOUT_SCIENCE = """
import json, sys
for name in ("sklearn", "scipy", "pandas", "numpy", "joblib"):
    sys.modules[name] = None  # any import of them now raises ImportError
from attrition.modelpkg.scorer import scorer_from_data
scorer = scorer_from_data(json.load(open(sys.argv[1])))
print(json.dumps(scorer.predict_many(json.load(open(sys.argv[2])))))
"""


def test_scorer_from_data_needs_no_scientific_stack(fitted: Pipeline, tmp_path: Path) -> None:
    rows = _frame(np.random.default_rng(17), 300).to_dict("records")
    rows = [{k: (v.item() if hasattr(v, "item") else v) for k, v in row.items()} for row in rows]
    (tmp_path / "model.json").write_text(json.dumps(export_model_data(fitted)))
    (tmp_path / "rows.json").write_text(json.dumps(rows))
    done = subprocess.run(
        [sys.executable, "-c", _WITHOUT_SCIENCE, str(tmp_path / "model.json"), str(tmp_path / "rows.json")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    expected = fitted.predict_proba(pd.DataFrame(rows)[FEATURES])[:, 1]
    assert np.max(np.abs(np.array(json.loads(done.stdout)) - expected)) <= 1e-9


def test_export_refuses_models_it_cannot_represent() -> None:
    pipeline = _pipeline("rf", "passthrough", RandomForestClassifier(n_estimators=5, random_state=0))
    with pytest.raises(UnsupportedModelError, match="classifier RandomForestClassifier is not compiled"):
        export_model_data(pipeline)


def _break_tree(data: dict) -> None:
    tree = data["hgb"]["trees"][0]
    tree["left"][0] = 0  # the root pointing at itself would loop forever


@pytest.mark.parametrize(
    ("family", "change", "message"),
    [
        ("logreg", lambda d: d.update(format="pickle"), "is not 'attrition.compiled-model'"),
        ("logreg", lambda d: d["logreg"]["weights"].pop(), "weights for"),
        ("logreg", lambda d: d["features"][0].update(scale=0.0), "zero or non-finite scale"),
        ("logreg", lambda d: d["features"][0].update(kind="log"), "kind 'log'"),
        ("logreg", lambda d: d["logreg"].update(intercept="x"), "not a number"),
        ("hgb", _break_tree, "hgb.trees[0] node 0 points outside"),
        ("hgb", lambda d: d["hgb"]["trees"][1]["value"].pop(), "different lengths"),
        ("hgb", lambda d: d.update(family="svm"), "family 'svm'"),
        ("recalibrated", lambda d: d.update(format_version=1), "recalibration needs format version 2"),
        ("recalibrated", lambda d: d["recalibration"]["y"].reverse(), "strictly increasing"),
        ("recalibrated", lambda d: d["recalibration"]["x"].pop(), "strictly increasing pairs"),
        ("recalibrated", lambda d: d["recalibration"].update(y="steep"), "recalibration.y is not a list"),
        ("recalibrated", lambda d: d.update(format_version=3), "version 1 or 2"),
    ],
)
def test_malformed_data_is_refused_naming_the_field(
    request: pytest.FixtureRequest, family: str, change: Callable[[dict], None], message: str
) -> None:
    data = export_model_data(request.getfixturevalue(f"{family}_pipeline"))
    assert data["family"] == ("hgb" if family == "recalibrated" else family)
    change(data)
    with pytest.raises(ModelDataError, match=re.escape(message)):
        scorer_from_data(data)
