"""Fitting: the declared grid searched by cross-validation, column selection, recalibration and the threshold.

Pure functions of a training frame and TrainParams; the train stage writes what they return, and the
model-quality bench calls them directly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import expit, logit
from sklearn.base import clone
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import precision_recall_curve
from sklearn.model_selection import (
    GridSearchCV,
    RepeatedStratifiedKFold,
    StratifiedGroupKFold,
    StratifiedKFold,
    cross_val_predict,
)
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from threadpoolctl import threadpool_limits

from attrition.canonical_json import canonical_array, canonical_float, decimal_places_array
from attrition.dataset import (
    CATEGORICAL_FEATURES,
    FEATURES,
    NUMERIC_FEATURES,
    TARGET,
    holdout_split,
)
from attrition.method.calibration import IDENTITY, LogOddsMap, RecalibratedClassifier, fit_map
from attrition.method.logloss import NEG_LOG_LOSS
from attrition.method.selection import Selection, Splits, select_columns
from attrition.method.split import employee_groups
from attrition.params import ThresholdPolicy, TrainParams

# Scores computed for every grid point; the first one ranks them (log loss with the C library's log,
# attrition.method.logloss, so the ranking does not depend on NumPy's CPU-dispatched kernels).
CV_SCORING: dict[str, Any] = {
    "neg_log_loss": NEG_LOG_LOSS,
    "roc_auc": "roc_auc",
    "average_precision": "average_precision",
}

# A linear model reaches its out-of-fold log-odds and its coefficients through BLAS, whose kernels
# disagree a little: on the feature store's rows (20,000 CV rows, OpenBLAS Haswell against SkylakeX) by
# up to 1.3e-13 in a log-odds (1.1e-14 on average) and 5.9e-14 in a coefficient. Rounded to ten
# significant digits, about one log-odds per build straddled a boundary, so model.joblib differed
# between the two kernels. On these grids the expected straddles per build are about 2e-5 (log-odds to
# five decimal places: probabilities move by under 2.5e-6) and 5e-6 (coefficients to seven digits).
LOG_ODDS_PLACES = 5
COEFFICIENT_DIGITS = 7


def build_pipeline(
    family: str,
    hyperparameters: dict[str, Any],
    seed: int,
    columns: list[str] | None = None,
    calibration: LogOddsMap | None = None,
) -> Pipeline:
    """One-hot job role plus numerics, then the classifier; the layout the fast scorer relies on.

    ``columns`` (default: every feature) is what column selection kept; the rest are dropped by the
    ColumnTransformer. A ``calibration`` map other than the identity wraps the classifier in a
    RecalibratedClassifier, so ``predict_proba`` is calibrated for every consumer.
    """
    kept = list(FEATURES) if columns is None else list(columns)
    if family == "logreg":
        numeric: Any = StandardScaler()
        classifier: Any = LogisticRegression(max_iter=2000, random_state=seed, **hyperparameters)
    elif family == "hgb":
        numeric = "passthrough"  # trees are invariant to monotone scaling
        # Early stopping would carve a random validation split out of large data and make the
        # number of trees depend on it; the grid declares the iterations instead.
        classifier = HistGradientBoostingClassifier(
            early_stopping=False, random_state=seed, **hyperparameters
        )
    else:
        raise ValueError(f"unknown model family {family!r}; allowed: logreg, hgb")
    transformers: list[tuple[str, Any, list[str]]] = []
    numeric_kept = [column for column in NUMERIC_FEATURES if column in kept]
    categorical_kept = [column for column in CATEGORICAL_FEATURES if column in kept]
    if numeric_kept:
        transformers.append(("numeric", numeric, numeric_kept))
    if categorical_kept:
        encoder = OneHotEncoder(handle_unknown="ignore", sparse_output=False)
        transformers.append(("job_role", encoder, categorical_kept))
    if calibration is not None and calibration != IDENTITY:
        classifier = RecalibratedClassifier(
            classifier, list(calibration.x), list(calibration.y), calibration.method
        )
    return Pipeline([("preprocess", ColumnTransformer(transformers)), ("classifier", classifier)])


def choose_threshold(y_true: np.ndarray, scores: np.ndarray, policy: ThresholdPolicy) -> float:
    """The decision threshold (decide ``score >= t``) the declared policy picks.

    ``max_precision_at_recall``: the most precise threshold whose recall still meets the target (the
    deployment plan tracks recall, so it is the constraint); ties go to the higher threshold. "Meets"
    means recall minus ``recall_margin_se`` binomial standard errors (over the positives these scores
    rest on) reaches ``min_recall``, so the promise survives the step to new data.
    ``max_f1``: the threshold with the best F1.
    """
    precision, recall, thresholds = precision_recall_curve(y_true, scores)
    precision, recall = precision[:-1], recall[:-1]  # the last point has no threshold
    if policy.policy == "max_f1":
        with np.errstate(invalid="ignore", divide="ignore"):
            f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0)
        objective = f1
        eligible = np.ones_like(f1, dtype=bool)
    else:
        objective = precision
        positives = max(int(np.sum(y_true == 1)), 1)
        standard_error = np.sqrt(recall * (1 - recall) / positives)
        eligible = recall - policy.recall_margin_se * standard_error >= policy.min_recall
    if not eligible.any():
        return float(thresholds[0])  # lowest threshold: the most recall there is
    best = objective[eligible].max()
    candidates = thresholds[eligible][objective[eligible] == best]
    return float(candidates.max())


def transfer_threshold(scores: np.ndarray, flag_rate: float) -> float:
    """The threshold on the final model's scores that flags at least ``flag_rate`` of the rows.

    The policy picks its threshold on out-of-fold scores, which come from five fold models; the model
    that ships is refitted on every training row, and its score levels are not theirs. A tree model
    gives whole cells of similar employees one score, so a probability threshold carried over as a
    number can land just above a large cell that the fold models had partly above it: measured at
    version 5 with 6,400 training rows, the cross-validated recall 0.71 became 0.50 on fresh rows.
    What carries over is the share of employees flagged. The threshold is the highest score level of
    the final model (on the training rows) that flags at least that share, lowered to the midpoint (in
    log-odds) between that level and the next one down, so a scorer that differs in the last bit of a
    float still makes the same decisions. Levels and threshold are canonical (attrition.canonical_json).
    """
    ascending = np.sort(canonical_array(scores))
    levels = np.unique(ascending)[::-1]  # distinct scores, highest first
    shares = (len(ascending) - np.searchsorted(ascending, levels, side="left")) / len(ascending)
    chosen = int(np.argmax(shares >= flag_rate - 1e-12))  # the last level always reaches 1.0
    if chosen == len(levels) - 1:
        return canonical_float(float(levels[chosen]) / 2)  # every row flagged: below the lowest score
    upper, lower = logit(np.clip(levels[chosen : chosen + 2], 1e-12, 1 - 1e-12))
    return canonical_float(float(expit((upper + lower) / 2)))


@dataclass(frozen=True)
class TrainingResult:
    model: Pipeline
    hyperparameters: dict[str, Any]
    cv: dict[str, dict[str, float]]
    cv_rows: int
    threshold: float  # on the shipped model's scores (transfer_threshold)
    cv_threshold: float  # the policy's pick on the out-of-fold scores
    flag_rate: float  # the share of training rows the policy's pick flags
    cv_threshold_metrics: dict[str, float]
    columns: list[str]  # the input columns the model uses (column selection's choice)
    selection: Selection | None  # the elimination rounds, when selection ran
    calibration: LogOddsMap  # the map after the classifier (IDENTITY when none)

    def method(self) -> dict[str, Any]:
        """Column selection and calibration as plain data, for the training record and the logs."""
        return {
            "columns": self.columns,
            "selection": None if self.selection is None else self.selection.as_dict(),
            "calibration": self.calibration.as_dict(),
        }


def _cv_subsample(train: pd.DataFrame, max_rows: int, seed: int) -> pd.DataFrame:
    """At most `max_rows` rows for the searches or column selection: stratified, or whole employees
    when rows repeat them."""
    if len(train) <= max_rows:
        return train
    groups = employee_groups(train)
    if groups is None:
        subsample, _ = holdout_split(train, test_size=1 - max_rows / len(train), seed=seed)
        return subsample
    # Whole employees in a seeded order (NumPy's PCG64: the same ids on every CPU) up to max_rows.
    rows_per_id = groups.value_counts().sort_index()
    order = np.random.default_rng(seed).permutation(rows_per_id.index.to_numpy())
    fits = rows_per_id.loc[order].cumsum().to_numpy() <= max_rows
    return train[groups.isin(order[fits])]


def search_folds(searched: pd.DataFrame, params: TrainParams) -> Any:
    """The hyperparameter search's folds: stratified k-fold, or grouped by employee when rows repeat one.

    Without repeated employees this is the stratified splitter it always was (the seed data's models
    are unchanged); with them, StratifiedGroupKFold keeps each employee's snapshots in one fold.
    """
    groups = employee_groups(searched)
    if groups is None:
        return StratifiedKFold(n_splits=params.cv.folds, shuffle=True, random_state=params.cv.seed)
    return _grouped_folds(searched, groups, params, offset=0)


def selection_folds(judged: pd.DataFrame, params: TrainParams) -> Splits:
    """Column selection's repeated folds (selection.repeats times cv.folds) on the rows it judges."""
    groups = employee_groups(judged)
    folds, seed, repeats = params.cv.folds, params.cv.seed, params.selection.repeats
    if groups is None:
        repeated = RepeatedStratifiedKFold(n_splits=folds, n_repeats=repeats, random_state=seed)
        return list(repeated.split(judged[FEATURES], judged[TARGET].to_numpy()))
    return [split for offset in range(repeats) for split in _grouped_folds(judged, groups, params, offset)]


def _grouped_folds(frame: pd.DataFrame, groups: pd.Series, params: TrainParams, offset: int) -> Splits:
    seed = params.cv.seed + offset
    splitter = StratifiedGroupKFold(n_splits=params.cv.folds, shuffle=True, random_state=seed)
    return list(splitter.split(frame[FEATURES], frame[TARGET].to_numpy(), groups))


def fit_model(train: pd.DataFrame, params: TrainParams) -> TrainingResult:
    """Grid-search the declared grid with stratified k-fold CV, refit on the split, pick a threshold.

    Runs on one OpenMP thread: HistGradientBoosting pickles the thread count it trained with
    (``_bin_mapper.n_threads``), so any other value would make model.joblib differ between machines
    with different core counts. One thread is also faster at the default 800 rows. And on one BLAS
    thread: the searches fit hundreds of small models, and OpenBLAS's second thread only spins
    (train.model=logreg on 2 cores, 800 and 200,000 rows: the same wall time, user CPU 4.8 s instead
    of 7.9-9.9 s and 4.3-5.0 s instead of 7.3-8.4 s; the same model.joblib).
    """
    with threadpool_limits(limits=1):
        return _fit_model(train, params)


def _grid_search(
    params: TrainParams, columns: list[str], X: pd.DataFrame, y: np.ndarray, folds: Any
) -> GridSearchCV:
    search = GridSearchCV(
        build_pipeline(params.model, {}, params.seed, columns),
        param_grid={f"classifier__{key}": values for key, values in params.grid().items()},
        scoring=CV_SCORING,
        refit=_rounded_best,
        cv=folds,
        n_jobs=1,  # deterministic and cheap at these sizes
    )
    return search.fit(X, y)


def _rounded_best(cv_results: dict[str, Any]) -> int:
    """The grid point with the best canonical mean CV score of the first scorer; ties go to the first.

    GridSearchCV would rank the unrounded means, whose last bits may depend on the CPU.
    """
    means = canonical_array(cv_results[f"mean_test_{next(iter(CV_SCORING))}"])
    return int(np.flatnonzero(means == np.nanmax(means))[0])


def _best(search: GridSearchCV) -> dict[str, Any]:
    return {key.removeprefix("classifier__"): value for key, value in search.best_params_.items()}


def _fit_model(train: pd.DataFrame, params: TrainParams) -> TrainingResult:
    """Grid search, column selection, grid search again on the kept columns, recalibrate, threshold.

    Every choice is made on the CV rows only. Selection judges columns with the hyperparameters the
    first search picked on every column; the second search re-tunes for the kept ones. The map and the
    threshold are fitted on out-of-fold scores of the final configuration, then the classifier is
    refitted on the whole training split with the map after it.
    """
    searched = _cv_subsample(train, params.cv.max_rows, params.cv.seed)
    folds = search_folds(searched, params)
    X_cv, y_cv = searched[FEATURES], searched[TARGET].to_numpy()
    columns = list(FEATURES)
    search = _grid_search(params, columns, X_cv, y_cv, folds)
    selection: Selection | None = None
    if params.selection.method == "drop_column":
        first_pick = _best(search)
        # Selection's repeated refits are most of training at large n; past selection.max_rows they
        # judge a subsample of the CV rows (bench/bench_selection_rows.py: what that changes).
        judged = _cv_subsample(searched, params.selection.max_rows, params.cv.seed)
        selection = select_columns(
            lambda kept: build_pipeline(params.model, first_pick, params.seed, list(kept)),
            columns,
            judged[FEATURES],
            judged[TARGET].to_numpy(),
            selection_folds(judged, params),
            tolerance_se=params.selection.tolerance_se,
        )
        if selection.dropped:
            columns = selection.kept
            search = _grid_search(params, columns, X_cv, y_cv, folds)
    best = search.best_index_
    cv = {
        name: {
            "mean": float(search.cv_results_[f"mean_test_{name}"][best]),
            "std": float(search.cv_results_[f"std_test_{name}"][best]),
        }
        for name in CV_SCORING
    }
    hyperparameters = _best(search)
    chosen = build_pipeline(params.model, hyperparameters, params.seed, columns)
    raw = cross_val_predict(clone(chosen), X_cv, y_cv, cv=folds, method="decision_function")
    if params.model == "logreg":
        # A linear model's log-odds come through BLAS (see _canonical_coefficients): its calibration
        # knots are fitted on rounded values, else model.joblib carries the kernel's last bits (found
        # on an AMD EPYC whose OpenBLAS core differs from the machine that recorded the lock).
        raw = decimal_places_array(raw, LOG_ODDS_PLACES)
    calibration = fit_map(params.calibration.method, raw, y_cv)
    cv_scores = canonical_array(calibration.probability(raw))  # the threshold is recorded and decides
    cv_threshold = choose_threshold(y_cv, cv_scores, params.threshold)
    decided = cv_scores >= cv_threshold
    true_positives = float((decided & (y_cv == 1)).sum())
    cv_threshold_metrics = {
        "precision": true_positives / max(float(decided.sum()), 1.0),
        "recall": true_positives / max(float((y_cv == 1).sum()), 1.0),
    }
    final = build_pipeline(params.model, hyperparameters, params.seed, columns, calibration)
    model = _canonical_coefficients(final.fit(train[FEATURES], train[TARGET].to_numpy()))
    flag_rate = float(decided.mean())
    threshold = transfer_threshold(model.predict_proba(train[FEATURES])[:, 1], flag_rate)
    return TrainingResult(
        model=model,
        hyperparameters=hyperparameters,
        cv=cv,
        cv_rows=len(searched),
        threshold=threshold,
        cv_threshold=cv_threshold,
        flag_rate=flag_rate,
        cv_threshold_metrics=cv_threshold_metrics,
        columns=columns,
        selection=selection,
        calibration=calibration,
    )


def _canonical_coefficients(model: Pipeline) -> Pipeline:
    """A linear classifier's fitted coefficients rounded to COEFFICIENT_DIGITS digits, in place.

    L-BFGS reaches them through BLAS, whose kernels (OPENBLAS_CORETYPE) round differently in the last
    bits, and model.joblib pickles them. Tree leaf values come from no BLAS or dispatched kernel.
    """
    classifier = model.steps[-1][1]
    fitted = getattr(classifier, "classifier_", classifier)
    if hasattr(fitted, "coef_"):
        fitted.coef_ = canonical_array(fitted.coef_, COEFFICIENT_DIGITS)
        fitted.intercept_ = canonical_array(fitted.intercept_, COEFFICIENT_DIGITS)
    return model


def input_schema(train: pd.DataFrame) -> dict[str, Any]:
    """Observed training ranges and the known roles: what a consumer may check inputs against."""
    columns: dict[str, Any] = {}
    for column in NUMERIC_FEATURES:
        integer = bool((train[column] % 1 == 0).all())
        columns[column] = {
            "type": "integer" if integer else "number",
            "min": int(train[column].min()) if integer else float(train[column].min()),
            "max": int(train[column].max()) if integer else float(train[column].max()),
        }
    columns["job_role"] = {"type": "string", "enum": sorted(train["job_role"].unique().tolist())}
    return {"columns": columns, "feature_order": FEATURES, "target": TARGET}
