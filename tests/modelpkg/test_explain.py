"""Exact Shapley contributions from model.json agree with the definition computed with scikit-learn.

The reference is predict_proba on every hybrid row (x_S, b_notS) over the same background, averaged per
coalition, then the Shapley formula (attrition.modelpkg.explanation_build.reference_contributions,
itself checked here against a coalition-by-coalition brute force). Tree models go through the tables,
logistic regression (and trees with too many bins) through direct scoring; both to 1e-9. When the
`shap` package is installed, its TreeExplainer (interventional, probability output) agrees too (shap
0.51 installs beside the pins, but is not one of them: run this module under a venv that has it).
"""

from __future__ import annotations

import itertools
import json
import math
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from attrition.method.calibration import RecalibratedClassifier
from attrition.modelpkg import explain
from attrition.modelpkg.artifact import EXPLANATION_FILE, MODEL_DATA_FILE, load_model
from attrition.modelpkg.explain import ExplanationError, background_rows, build_explainer
from attrition.modelpkg.explanation_build import reference_contributions
from attrition.modelpkg.scorer import export_model_data, scorer_from_data

FEATURES = ["age", "job_role", "monthly_income", "years_at_company"]
ROLES = ["Engineering", "Finance", "HR", "Marketing", "Sales"]
TOLERANCE = 1e-9


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


def _fit(numeric: object, numeric_columns: list[str], clf: object) -> Pipeline:
    rng = np.random.default_rng(5)
    frame = _frame(rng, 600)
    logit = (
        -0.04 * (frame["years_at_company"] - 5)
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
def recalibrated() -> Pipeline:
    """The champion's shape: age dropped, 60 depth-2 trees, a log-odds map after them."""
    trees = HistGradientBoostingClassifier(max_iter=60, max_depth=2, random_state=0)
    clf = RecalibratedClassifier(trees, [-2.0, -0.5, 0.0, 1.5], [-3.5, -1.0, -0.2, 0.4], "isotonic")
    return _fit("passthrough", ["monthly_income", "years_at_company"], clf)


@pytest.fixture(scope="module")
def logreg() -> Pipeline:
    return _fit(StandardScaler(), ["age", "monthly_income", "years_at_company"], LogisticRegression())


def _rows(n: int, seed: int) -> list[dict]:
    rows = _frame(np.random.default_rng(seed), n).to_dict("records")
    rows += [
        {"age": 16, "job_role": "Sales", "monthly_income": 0.01, "years_at_company": 0},
        {"age": 80, "job_role": "HR", "monthly_income": 1e6, "years_at_company": 64},
        {"age": 40, "job_role": "Astronaut", "monthly_income": 5000.0, "years_at_company": 3},  # unknown
    ]
    return [{k: (v.item() if hasattr(v, "item") else v) for k, v in row.items()} for row in rows]


def _worst(pipeline: Pipeline, rows: list[dict], background: list[dict]) -> float:
    explainer = build_explainer(export_model_data(pipeline), background)
    worst = 0.0
    for row in rows:
        got = explainer.explain(row)
        baseline, want = reference_contributions(pipeline, explainer.columns, background, row)
        worst = max(worst, abs(got.baseline - baseline), *(abs(v - want[c]) for c, v in got.contributions))
    return worst


def test_the_reference_is_the_shapley_definition(recalibrated: Pipeline) -> None:
    """reference_contributions against one predict_proba per coalition and the subset formula."""
    background = _rows(40, 1)[:40]
    row = _rows(1, 2)[0]
    columns = ["monthly_income", "years_at_company", "job_role"]

    def v(coalition: tuple[str, ...]) -> float:
        hybrids = [{**b, **{c: row[c] for c in coalition}, "age": row["age"]} for b in background]
        return float(recalibrated.predict_proba(pd.DataFrame(hybrids)[FEATURES])[:, 1].mean())

    _, got = reference_contributions(recalibrated, columns, background, row)
    n = len(columns)
    for column in columns:
        others = [c for c in columns if c != column]
        want = sum(
            math.factorial(k) * math.factorial(n - k - 1) / math.factorial(n) * (v((*s, column)) - v(s))
            for k in range(n)
            for s in itertools.combinations(others, k)
        )
        assert abs(got[column] - want) <= 1e-12


def test_tree_contributions_match_the_reference(recalibrated: Pipeline) -> None:
    background = _rows(150, 3)
    explainer = build_explainer(export_model_data(recalibrated), background)
    assert explainer.strategy == "tables"
    assert explainer.columns == ["monthly_income", "years_at_company", "job_role"]  # age is no player
    assert _worst(recalibrated, _rows(60, 4), background) <= TOLERANCE


def test_values_on_split_thresholds_fall_in_the_right_bin(recalibrated: Pipeline) -> None:
    """`<=` at every threshold: values on, just below and just above each split of both numbers."""
    data = export_model_data(recalibrated)
    base = _rows(1, 6)[0]
    splits = sorted(
        {
            (feature, threshold)
            for tree in data["hgb"]["trees"]
            for feature, threshold, leaf in zip(
                tree["feature"], tree["threshold"], tree["is_leaf"], strict=True
            )
            if not leaf and feature < 2
        }
    )
    rows = [
        {**base, ["monthly_income", "years_at_company"][feature]: float(value)}
        for feature, threshold in splits[::3]  # every third split: a bounded, spread-out set
        for value in np.nextafter(threshold, [-np.inf, 0, np.inf])
    ]
    assert _worst(recalibrated, rows, _rows(20, 7)) <= TOLERANCE


def test_logistic_contributions_match_the_reference_by_direct_scoring(logreg: Pipeline) -> None:
    background = _rows(60, 8)
    assert build_explainer(export_model_data(logreg), background).strategy == "direct"
    assert _worst(logreg, _rows(15, 9), background) <= TOLERANCE


def test_trees_beyond_the_table_bound_are_scored_directly_with_the_same_result(
    recalibrated: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    background, rows = _rows(50, 10), _rows(10, 11)
    data = export_model_data(recalibrated)
    tabled = [build_explainer(data, background).explain(row) for row in rows]
    monkeypatch.setattr(explain, "MAX_TABLE_CELLS", 1)
    direct = build_explainer(data, background)
    assert direct.strategy == "direct"
    for row, want in zip(rows, tabled, strict=True):
        got = direct.explain(row)
        assert (
            max(abs(a[1] - b[1]) for a, b in zip(got.contributions, want.contributions, strict=True)) < 1e-12
        )


def test_contributions_add_up_to_the_probability(recalibrated: Pipeline) -> None:
    data = export_model_data(recalibrated)
    explainer = build_explainer(data, _rows(80, 12))
    scorer = scorer_from_data(data)
    for row in _rows(30, 13):
        got = explainer.explain(row)
        assert got.probability == scorer.predict_one(row)  # the grid holds the scorer's very floats
        assert abs(got.baseline + math.fsum(v for _, v in got.contributions) - got.probability) <= 1e-12


def test_one_answer_costs_microseconds_on_the_champions_shape(recalibrated: Pipeline) -> None:
    explainer = build_explainer(export_model_data(recalibrated), _rows(200, 14))
    rows = _rows(50, 15)
    start = time.perf_counter()
    for row in rows * 4:
        explainer.explain(row)
    per_row = (time.perf_counter() - start) / 200
    assert per_row < 500e-6, f"{per_row * 1e6:.0f} µs per explanation"  # ~25 µs here; a bound for CI


def test_a_background_missing_an_input_is_refused(recalibrated: Pipeline) -> None:
    data = export_model_data(recalibrated)
    with pytest.raises(ExplanationError, match="background"):
        build_explainer(data, [{"monthly_income": 3000.0, "job_role": "Sales"}])
    with pytest.raises(ExplanationError, match="empty"):
        build_explainer(data, [])


def test_real_package_contributions_match_its_joblib_model(model_package: Path, dataset_csv: Path) -> None:
    """The acceptance check: the packaged explainer against the packaged scikit-learn model, 1e-9."""
    model = load_model(model_package / "model.joblib")
    data = json.loads((model_package / MODEL_DATA_FILE).read_text())
    background = background_rows(json.loads((model_package / EXPLANATION_FILE).read_text()))
    rows = pd.read_csv(dataset_csv).sample(25, random_state=0)[FEATURES].to_dict("records")
    explainer = build_explainer(data, background)
    assert explainer.strategy == "tables"
    worst = 0.0
    for row in rows:
        got = explainer.explain(row)
        _, want = reference_contributions(model, explainer.columns, background, row)
        worst = max(worst, *(abs(v - want[c]) for c, v in got.contributions))
    assert worst <= TOLERANCE


def test_a_low_paid_new_sales_hire_is_flagged_for_pay_or_tenure(model_package: Path) -> None:
    """Behaviour: the top reason of a new, low-paid salesperson is income or tenure, raising the score."""
    data = json.loads((model_package / MODEL_DATA_FILE).read_text())
    background = background_rows(json.loads((model_package / EXPLANATION_FILE).read_text()))
    row = {"age": 24, "job_role": "Sales", "monthly_income": 2600.0, "years_at_company": 0}
    got = sorted(build_explainer(data, background).explain(row).contributions, key=lambda item: -abs(item[1]))
    assert got[0][0] in {"monthly_income", "years_at_company"} and got[0][1] > 0


_WITHOUT_SCIENCE = """
import json, sys
sys.modules.update({name: None for name in ("numpy", "pandas", "scipy", "sklearn")})
from attrition.modelpkg.explain import build_explainer
data = json.load(open(sys.argv[1]))
background, rows = json.load(open(sys.argv[2]))
explainer = build_explainer(data, background)
print(json.dumps([explainer.explain(row).as_dict() for row in rows]))
"""


def test_explaining_needs_no_scientific_stack(recalibrated: Pipeline, tmp_path: Path) -> None:
    background, rows = _rows(40, 16), _rows(5, 17)
    (tmp_path / "model.json").write_text(json.dumps(export_model_data(recalibrated)))
    (tmp_path / "rows.json").write_text(json.dumps([background, rows]))
    done = subprocess.run(
        [sys.executable, "-c", _WITHOUT_SCIENCE, str(tmp_path / "model.json"), str(tmp_path / "rows.json")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    columns = ["monthly_income", "years_at_company", "job_role"]
    for row, got in zip(rows, json.loads(done.stdout), strict=True):
        _, want = reference_contributions(recalibrated, columns, background, row)
        assert max(abs(got[c] - want[c]) for c in columns) <= TOLERANCE


def test_shap_tree_explainer_agrees_in_log_odds_on_numeric_inputs() -> None:
    """shap's TreeExplainer (interventional) on a model of numbers only: its players are the transformed
    columns, so one-hot roles would be several players there and one here. Compared in log-odds: shap's
    exact game there. Its "probability" output rescales each reference row's log-odds values to the
    probability difference, which is not the Shapley value of the probability (off by up to ~0.01 on
    this model), so the probability itself is checked against the definition above, not against shap.
    """
    shap = pytest.importorskip("shap")
    rng = np.random.default_rng(21)
    frame = _frame(rng, 500)
    y = (rng.random(500) < 1 / (1 + np.exp(0.05 * (frame["years_at_company"] - 4)))).astype(int)
    columns = ["age", "monthly_income", "years_at_company"]
    trees = HistGradientBoostingClassifier(max_iter=40, max_depth=2, random_state=0)
    pipeline = Pipeline(
        [("preprocess", ColumnTransformer([("numeric", "passthrough", columns)])), ("classifier", trees)]
    ).fit(frame[FEATURES], y)
    background = _rows(97, 22)  # 100 rows: shap summarises a larger background by sampling 100 of it
    rows = _rows(40, 23)
    data = export_model_data(pipeline)
    scorer = scorer_from_data(data)
    scorer.probability = scorer._raw_score  # type: ignore[method-assign]  # the same game in log-odds
    explainer = explain.Explainer(scorer, background, explain._tree_thresholds(data))
    reference = shap.TreeExplainer(
        trees,
        data=pd.DataFrame(background)[columns].to_numpy(dtype=float),
        feature_perturbation="interventional",
        model_output="raw",
    )
    values = reference.shap_values(pd.DataFrame(rows)[columns].to_numpy(dtype=float))
    for row, want in zip(rows, np.asarray(values), strict=True):
        got = explainer.explain(row).as_dict()
        # shap's own arithmetic: up to ~1.3e-8 seen over 200 rows (ours equals the definition to 1e-16)
        assert max(abs(got[c] - float(w)) for c, w in zip(columns, want, strict=True)) <= 1e-7
