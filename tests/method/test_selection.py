"""Backward elimination by drop-column importance on small frames with one signal and one noise column."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.decomposition import PCA
from sklearn.dummy import DummyClassifier
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from attrition.method.selection import (
    DropColumnImportance,
    PreparedFolds,
    drop_column_importances,
    fold_log_losses,
    select_columns,
)


def signal_and_noise(n: int = 600, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"signal": rng.normal(size=n), "noise": rng.normal(size=n)})
    y = (rng.random(n) < 1 / (1 + np.exp(-2 * frame["signal"].to_numpy()))).astype(int)
    return frame, y


def logistic_on(columns: Sequence[str]) -> Pipeline | DummyClassifier:
    if not columns:
        return DummyClassifier(strategy="prior")
    return Pipeline(
        [
            ("select", ColumnTransformer([("kept", "passthrough", list(columns))])),
            ("classifier", LogisticRegression()),
        ]
    )


def splits(X: pd.DataFrame, y: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    return list(StratifiedKFold(5, shuffle=True, random_state=0).split(X, y))


def test_importance_is_large_for_the_signal_and_about_zero_for_noise() -> None:
    X, y = signal_and_noise()
    importances = {
        i.column: i for i in drop_column_importances(logistic_on, ["signal", "noise"], X, y, splits(X, y))
    }
    assert importances["signal"].loss_increase > 5 * importances["signal"].standard_error
    assert abs(importances["noise"].loss_increase) < 0.01
    assert importances["noise"].folds == 5


def test_noise_column_is_dropped_and_the_signal_kept() -> None:
    X, y = signal_and_noise()
    selection = select_columns(logistic_on, ["signal", "noise"], X, y, splits(X, y), tolerance_se=1.0)
    assert selection.kept == ["signal"] and selection.dropped == ["noise"]
    assert len(selection.rounds) == 1  # min_columns=1: the last column is never put to the test
    record = selection.as_dict()
    assert record["rounds"][0][1]["column"] == "noise" and record["tolerance_se"] == 1.0


def test_with_min_columns_zero_the_signal_must_clear_the_bar_against_the_prior() -> None:
    X, y = signal_and_noise()
    selection = select_columns(
        logistic_on, ["signal", "noise"], X, y, splits(X, y), tolerance_se=1.0, min_columns=0
    )
    assert selection.kept == ["signal"] and len(selection.rounds) == 2


def test_a_huge_tolerance_drops_down_to_min_columns() -> None:
    X, y = signal_and_noise()
    selection = select_columns(logistic_on, ["signal", "noise"], X, y, splits(X, y), tolerance_se=1e9)
    assert len(selection.kept) == 1


def test_a_negative_tolerance_keeps_columns_that_help_even_a_little() -> None:
    X, y = signal_and_noise()
    selection = select_columns(logistic_on, ["signal"], X, y, splits(X, y), tolerance_se=-1e9, min_columns=0)
    assert selection.kept == ["signal"]


@pytest.mark.parametrize(("mean", "error", "droppable"), [(0.002, 0.001, False), (0.0005, 0.001, True)])
def test_margin_rule_is_the_one_standard_error_rule(mean: float, error: float, droppable: bool) -> None:
    from attrition.method.selection import _margin

    assert (_margin(DropColumnImportance("c", mean, error, 5), 1.0) <= 0) is droppable


def test_importances_are_canonical_so_the_cpu_cannot_change_a_drop() -> None:
    """Loss increases and standard errors are rounded before they are compared (issue 19)."""
    from attrition.canonical_json import canonical_float

    X, y = signal_and_noise()
    splits = list(StratifiedKFold(n_splits=5, shuffle=True, random_state=0).split(X, y))
    for item in drop_column_importances(logistic_on, ["signal", "noise"], X, y, splits):
        assert item.loss_increase == canonical_float(item.loss_increase)
        assert item.standard_error == canonical_float(item.standard_error)


def mixed_frame(n: int = 500, seed: int = 1) -> tuple[pd.DataFrame, np.ndarray]:
    """Two numeric columns on different scales and a categorical one, all carrying some signal."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "tenure": rng.exponential(5.0, n),
            "pay": rng.normal(5000.0, 1500.0, n),
            "role": rng.choice(["Sales", "R&D", "HR"], n),
        }
    )
    logit = 0.3 * frame["tenure"] - 0.0004 * frame["pay"] + (frame["role"] == "Sales") - 0.5
    return frame, (rng.random(n) < 1 / (1 + np.exp(-logit.to_numpy()))).astype(int)


def scaled_and_encoded(classifier: object) -> Callable[[Sequence[str]], Pipeline]:
    def make(columns: Sequence[str]) -> Pipeline:
        numeric = [c for c in ("tenure", "pay") if c in columns]
        transformers: list[tuple[str, object, list[str]]] = []
        if numeric:
            transformers.append(("numeric", StandardScaler(), numeric))
        if "role" in columns:
            transformers.append(
                ("role", OneHotEncoder(handle_unknown="ignore", sparse_output=False), ["role"])
            )
        return Pipeline([("preprocess", ColumnTransformer(transformers)), ("classifier", classifier)])

    return make


@pytest.mark.parametrize(
    "classifier",
    [LogisticRegression(max_iter=1000), HistGradientBoostingClassifier(max_iter=20, random_state=0)],
    ids=["logreg", "hgb"],
)
def test_prepared_folds_give_the_refitted_models_losses_bit_for_bit(classifier: object) -> None:
    """Only the classifier is refitted on the prepared columns; every subset's losses are unchanged."""
    X, y = mixed_frame()
    X.loc[0, "role"] = "Legal"  # one fold's fit rows lack a category: its one-hot block is narrower
    make = scaled_and_encoded(classifier)
    folds = splits(X, y)
    prepared = PreparedFolds.build(make(["tenure", "pay", "role"]), X, folds)
    assert prepared is not None
    assert len({len(fold["role"]) for fold in prepared.outputs}) == 2
    for kept in (["tenure", "pay", "role"], ["pay", "role"], ["tenure", "role"], ["tenure", "pay"], ["pay"]):
        assert prepared.positions(make(kept), kept) is not None
        refitted = fold_log_losses(make, kept, X, y, folds)
        assert fold_log_losses(make, kept, X, y, folds, prepared).tobytes() == refitted.tobytes(), kept


def test_a_preprocess_that_mixes_columns_is_refitted_whole() -> None:
    """PCA's outputs depend on every column, and a one-hot encoder over two columns is not split."""
    X, y = mixed_frame()

    def mixing(columns: Sequence[str]) -> Pipeline:
        numeric = [c for c in ("tenure", "pay") if c in columns]
        return Pipeline(
            [
                ("preprocess", ColumnTransformer([("pca", PCA(1), numeric)])),
                ("classifier", LogisticRegression()),
            ]
        )

    assert PreparedFolds.build(mixing(["tenure", "pay"]), X, splits(X, y)) is None
    two = Pipeline(
        [
            ("preprocess", ColumnTransformer([("both", OneHotEncoder(), ["role", "tenure"])])),
            ("classifier", LogisticRegression()),
        ]
    )
    assert PreparedFolds.build(two, X, splits(X, y)) is None


def test_a_subset_model_built_differently_is_not_read_from_the_prepared_columns() -> None:
    X, y = mixed_frame()
    make = scaled_and_encoded(LogisticRegression())
    prepared = PreparedFolds.build(make(["tenure", "pay", "role"]), X, splits(X, y))
    assert prepared is not None
    other = make(["pay", "role"])
    other.set_params(preprocess__numeric=StandardScaler(with_mean=False))
    assert prepared.positions(other, ["pay", "role"]) is None
    assert prepared.positions(logistic_on(["pay"]), ["pay"]) is None  # another layout altogether


def test_prepared_columns_are_laid_out_as_the_models_own_preprocess_lays_them_out() -> None:
    """A scaler alone over a pandas block gives Fortran order, the encoders' stack C order; BLAS sums
    the two layouts differently on some kernels, so the prepared path copies the layout, not only values."""
    from attrition.method.selection import _output_layout

    X, y = mixed_frame()
    make = scaled_and_encoded(LogisticRegression())
    rows = splits(X, y)[0][0]
    assert _output_layout(make(["tenure", "pay"]), X, rows) == "F"
    assert _output_layout(make(["tenure", "role"]), X, rows) == "C"
