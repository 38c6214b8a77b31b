"""Threshold policy, pipeline shape, column selection and calibration in the fit, determinism, behaviour."""

from __future__ import annotations

import json
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
from scipy.special import expit, logit

from attrition.canonical_json import canonical_float, decimal_places_array
from attrition.dataset import FEATURES, holdout_split
from attrition.method.calibration import IDENTITY, LogOddsMap, RecalibratedClassifier, model_calibration
from attrition.method.fitting import (
    LOG_ODDS_PLACES,
    build_pipeline,
    choose_threshold,
    fit_model,
    transfer_threshold,
)
from attrition.method.selection import model_columns
from attrition.method.synthetic import generate_frame
from attrition.params import ThresholdPolicy, parse_params
from attrition.pipeline.train import model_bytes

Y = np.array([0, 0, 0, 0, 1, 0, 1, 1, 0, 1])
S = np.array([0.1, 0.2, 0.3, 0.35, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9])


def test_max_precision_at_recall_picks_the_most_precise_threshold_meeting_recall() -> None:
    # recall >= 0.75 allows t in {0.1 .. 0.6}; precision peaks at t=0.6 (3/5 = 0.6)
    assert choose_threshold(Y, S, ThresholdPolicy(min_recall=0.75, recall_margin_se=0)) == pytest.approx(0.6)
    # recall 1.0 needs t <= 0.4, where precision is 4/6
    assert choose_threshold(Y, S, ThresholdPolicy(min_recall=1.0, recall_margin_se=0)) == pytest.approx(0.4)


def test_recall_margin_asks_for_standard_errors_to_spare() -> None:
    # 4 positives: t=0.6 has recall 0.75 with SE sqrt(0.75 * 0.25 / 4) = 0.217, so 0.75 - 0.217 < 0.7;
    # only recall 1.0 (SE 0) clears it, at t=0.4
    policy = ThresholdPolicy(min_recall=0.7, recall_margin_se=1.0)
    assert choose_threshold(Y, S, policy) == pytest.approx(0.4)
    # a margin nothing can meet falls back to the lowest threshold (the most recall there is)
    assert choose_threshold(Y, S, ThresholdPolicy(min_recall=1.0, recall_margin_se=5.0)) == pytest.approx(0.4)


def test_max_f1_policy() -> None:
    # t=0.4: P=4/6, R=1 -> F1=0.8, the best on this input
    assert choose_threshold(Y, S, ThresholdPolicy(policy="max_f1")) == pytest.approx(0.4)


def test_ties_go_to_the_higher_threshold() -> None:
    y = np.array([0, 1, 1])
    s = np.array([0.1, 0.5, 0.6])
    assert choose_threshold(y, s, ThresholdPolicy(min_recall=0.5, recall_margin_se=0)) == pytest.approx(0.6)


CELLS = np.array([0.9] * 2 + [0.6] * 3 + [0.3] * 5)  # a tree model's scores: whole cells share one


def share_flagged(threshold: float, scores: np.ndarray = CELLS) -> float:
    return float(np.mean(scores >= threshold))


def test_transfer_threshold_flags_the_share_between_two_score_levels() -> None:
    # 40% must be flagged: 0.9 flags 20%, 0.6 flags 50%; the threshold sits midway (log-odds) below 0.6
    threshold = transfer_threshold(CELLS, 0.4)
    assert threshold == pytest.approx(expit((logit(0.6) + logit(0.3)) / 2))
    assert share_flagged(threshold) == 0.5
    # an exact share is met at its own level, never one level further down
    assert share_flagged(transfer_threshold(CELLS, 0.2)) == 0.2
    assert share_flagged(transfer_threshold(CELLS, 0.5)) == 0.5
    # a share only every row reaches: below the lowest score
    assert transfer_threshold(CELLS, 0.95) == pytest.approx(0.15)


def test_transfer_threshold_survives_scores_that_move_by_a_rounding_error() -> None:
    """A threshold carried as a bare number can sit on a cell's score; this one never does."""
    threshold = transfer_threshold(CELLS, 0.5)
    for nudge in (-1e-9, 0.0, 1e-9):
        assert share_flagged(threshold, CELLS + nudge) == 0.5


def test_a_log_odds_two_blas_cores_straddled_at_ten_digits_agrees_on_the_log_odds_grid() -> None:
    """The pair that moved the store's logistic regression between an AVX2 and an AVX-512 host: one
    out-of-fold log-odds under OpenBLAS's Haswell and SkylakeX kernels (3.3e-14 apart)."""
    haswell, skylake = -2.221032075500026, -2.2210320754999926
    assert canonical_float(haswell) != canonical_float(skylake)
    on_grid = decimal_places_array([haswell, skylake], LOG_ODDS_PLACES).tolist()
    assert on_grid == [-2.22103, -2.22103]


@pytest.mark.parametrize("family", ["logreg", "hgb"])
def test_pipeline_takes_a_dataframe_and_one_hot_encodes_roles(family: str) -> None:
    frame = generate_frame(1, 300)
    pipeline = build_pipeline(family, {}, seed=0).fit(frame[FEATURES], frame["attrition"])
    proba = pipeline.predict_proba(frame[FEATURES].head(3))
    assert proba.shape == (3, 2) and np.allclose(proba.sum(axis=1), 1)
    encoder = pipeline.named_steps["preprocess"].named_transformers_["job_role"]
    assert sorted(encoder.categories_[0]) == sorted(frame["job_role"].unique())


def test_pipeline_reads_only_the_kept_columns_and_applies_the_map_last() -> None:
    frame = generate_frame(1, 300)
    knots = LogOddsMap((-1.0, 1.0), (-0.5, 0.5), "platt")
    columns = ["job_role", "years_at_company"]
    pipeline = build_pipeline("hgb", {"max_iter": 5}, 0, columns, knots)
    pipeline.fit(frame[FEATURES], frame["attrition"])
    assert model_columns(pipeline) == ["job_role", "years_at_company"]
    assert isinstance(pipeline.named_steps["classifier"], RecalibratedClassifier)
    assert model_calibration(pipeline) == knots
    changed_age = frame[FEATURES].assign(age=99)
    assert np.array_equal(pipeline.predict_proba(changed_age), pipeline.predict_proba(frame[FEATURES]))
    plain = build_pipeline("hgb", {"max_iter": 5}, 0, columns, IDENTITY)
    assert model_calibration(plain.fit(frame[FEATURES], frame["attrition"])) == IDENTITY


@pytest.mark.dvc  # full fits of the train stage: not for `make unit`
def test_fit_drops_a_pure_noise_column_and_calibrates() -> None:
    frame = generate_frame(4, 800)
    train, _ = holdout_split(frame, test_size=0.2, seed=42)
    noisy = train.assign(monthly_income=np.random.default_rng(0).normal(5000, 1500, len(train)))
    params = parse_params({"version": 4, "train": {"selection": {"repeats": 1}}}).train
    result = fit_model(noisy, params)
    assert result.selection is not None and "monthly_income" in result.selection.dropped
    assert "monthly_income" not in result.columns == model_columns(result.model)
    assert result.calibration.method == "isotonic" == model_calibration(result.model).method
    record = result.method()
    assert record["selection"]["rounds"][0][0]["column"] == FEATURES[0]
    assert record["calibration"]["x"] == list(result.calibration.x)


def test_without_selection_and_calibration_the_model_is_the_plain_pipeline() -> None:
    frame = generate_frame(2, 800)
    train, _ = holdout_split(frame, test_size=0.2, seed=42)
    params = parse_params(
        {"version": 2, "train": {"selection": {"method": "none"}, "calibration": {"method": "none"}}}
    ).train
    result = fit_model(train, params)
    assert result.selection is None and result.columns == FEATURES
    assert result.calibration == IDENTITY
    assert not isinstance(result.model.named_steps["classifier"], RecalibratedClassifier)


@pytest.mark.dvc
@pytest.mark.parametrize("family", ["logreg", "hgb"])
def test_fit_is_deterministic_byte_for_byte(family: str) -> None:
    frame = generate_frame(2, 800)
    train, _ = holdout_split(frame, test_size=0.2, seed=42)
    params = parse_params({"version": 2, "train": {"model": family}}).train
    first, second = fit_model(train, params), fit_model(train, params)
    assert model_bytes(first.model) == model_bytes(second.model)
    assert first.threshold == second.threshold
    grid = params.grid()
    assert all(first.hyperparameters[key] in values for key, values in grid.items())
    assert 0.0 < first.threshold < 1.0
    assert first.cv_threshold_metrics["recall"] >= params.threshold.min_recall
    # the shipped threshold flags at least the share of training rows the policy's pick flagged
    scores = first.model.predict_proba(train[FEATURES])[:, 1]
    assert np.mean(scores >= first.threshold) >= first.flag_rate
    assert not np.isclose(scores, first.threshold, rtol=0, atol=1e-12).any()


@pytest.mark.dvc
def test_cv_searches_a_subsample_of_large_training_sets() -> None:
    frame = generate_frame(1, 3000)
    params = parse_params({"version": 1, "train": {"model": "logreg", "cv": {"max_rows": 500}}}).train
    result = fit_model(frame, params)
    assert result.cv_rows == 500
    assert result.model.n_features_in_ == 4


@pytest.mark.dvc
def test_column_selection_judges_a_subsample_past_its_own_max_rows() -> None:
    frame = generate_frame(1, 1500)
    train = {"model": "logreg", "selection": {"repeats": 1, "max_rows": 400}}
    result = fit_model(frame, parse_params({"version": 1, "train": train}).train)
    assert result.cv_rows == 1500 and result.selection is not None
    assert result.selection.rows == 400 == result.method()["selection"]["rows"]
    train["selection"]["max_rows"] = 5000  # type: ignore[index]
    whole = fit_model(frame, parse_params({"version": 1, "train": train}).train)
    assert whole.selection is not None and whole.selection.rows == 1500


def test_training_record_is_lineage(pipeline_dir: Path) -> None:
    record = json.loads((pipeline_dir / "models" / "train.json").read_text())
    assert record["model_family"] == "hgb"
    assert record["cv"]["scores"]["roc_auc"]["std"] > 0
    assert record["threshold"]["policy"] == "max_precision_at_recall"
    # content only: the code that ran, never when or where (that is the run record's)
    assert "attrition/pipeline/train.py" in record["code"]["modules"] and len(record["code"]["digest"]) == 64
    assert not {"training_wall_seconds", "trained_at", "python"} & set(record)


def test_low_paid_new_sales_hire_scores_above_well_paid_veteran(pipeline_dir: Path) -> None:
    model = joblib.load(pipeline_dir / "models" / "model.joblib")
    people = pd.DataFrame(
        [
            {"age": 24, "job_role": "Sales", "monthly_income": 2500.0, "years_at_company": 0},
            {"age": 50, "job_role": "Engineering", "monthly_income": 12000.0, "years_at_company": 15},
        ]
    )
    new_hire, veteran = model.predict_proba(people)[:, 1]
    assert new_hire > veteran + 0.3


def test_each_risk_factor_raises_the_score(pipeline_dir: Path) -> None:
    model = joblib.load(pipeline_dir / "models" / "model.joblib")
    base = {"age": 40, "job_role": "Engineering", "monthly_income": 9000.0, "years_at_company": 10}
    variants = [base, {**base, "monthly_income": 2500.0}, {**base, "years_at_company": 1}]
    variants.append({**base, "job_role": "Sales"})
    scores = model.predict_proba(pd.DataFrame(variants))[:, 1]
    assert (scores[1:] > scores[0]).all()
