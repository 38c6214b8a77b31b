"""The compiled scorer must give the pipeline's probabilities (to 1e-9) or step aside."""

from __future__ import annotations

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

from attrition.scorer import (
    CompiledScorer,
    PipelineScorer,
    UnsupportedModelError,
    build_scorer,
    compile_pipeline,
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


def _pipeline(family: str, numeric: object, clf: object) -> Pipeline:
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
            ("numeric", numeric, NUMERIC),
            ("job_role", OneHotEncoder(handle_unknown="ignore", sparse_output=False), ["job_role"]),
        ]
    )
    return Pipeline([("preprocess", pre), ("classifier", clf)]).fit(frame[FEATURES], y)


@pytest.fixture(scope="module", params=["logreg", "hgb"])
def fitted(request: pytest.FixtureRequest) -> Pipeline:
    if request.param == "logreg":
        return _pipeline("logreg", StandardScaler(), LogisticRegression(max_iter=500))
    return _pipeline("hgb", "passthrough", HistGradientBoostingClassifier(max_iter=60, random_state=0))


def _rows_with_boundaries(pipeline: Pipeline, rng: np.random.Generator) -> list[dict]:
    rows = _frame(rng, 2000).to_dict("records")
    # Extremes and an unknown role (one-hot encodes it as all zeros).
    rows += [
        {"age": 16, "job_role": "Analyst", "monthly_income": 0.01, "years_at_company": 0},
        {"age": 100, "job_role": "Support", "monthly_income": 1e6, "years_at_company": 84},
        {"age": 40, "job_role": "Astronaut", "monthly_income": 5000.0, "years_at_company": 3},
    ]
    clf = pipeline.named_steps["classifier"]
    if isinstance(clf, HistGradientBoostingClassifier):
        # Values exactly on split thresholds exercise the `<=` edge of every numeric split.
        for tree in clf._predictors[:20]:
            nodes = tree[0].nodes
            for node in nodes[~nodes["is_leaf"].astype(bool)]:
                feature = int(node["feature_idx"])
                if feature < len(NUMERIC):
                    for value in np.nextafter(node["num_threshold"], [-np.inf, 0, np.inf]):
                        row = dict(rows[len(rows) % 50])
                        row[NUMERIC[feature]] = float(value)
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
