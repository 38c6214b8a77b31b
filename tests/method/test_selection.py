"""Backward elimination by drop-column importance on small frames with one signal and one noise column."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.dummy import DummyClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import Pipeline

from attrition.method.selection import DropColumnImportance, drop_column_importances, select_columns


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
