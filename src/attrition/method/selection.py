"""Which input columns earn their place: backward elimination by cross-validated drop-column importance.

On a few hundred rows a flexible model fits noise in a column that carries no signal (or too little
to learn), and that noise is not neutral: a model that splits on age treats age bands differently.
A column stays only if removing it makes the cross-validated log loss worse by more than
``tolerance_se`` standard errors of the per-fold differences (the one-standard-error rule applied to
one column at a time): a simpler model that is statistically as good is preferred.

The procedure sees only the training rows it is given and the labels; it knows nothing about how the
data were generated.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.compose import ColumnTransformer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from attrition.canonical_json import canonical_float
from attrition.method.logloss import log_loss

ModelFactory = Callable[[Sequence[str]], Any]  # kept columns -> unfitted estimator
Splits = Sequence[tuple[np.ndarray, np.ndarray]]
LAYOUT_PROBE_ROWS = 64  # rows the subset's own preprocess is fitted on to learn its output's layout


@dataclass(frozen=True)
class DropColumnImportance:
    """How much worse the CV log loss gets without `column` (positive: the column helps)."""

    column: str
    loss_increase: float
    standard_error: float
    folds: int


@dataclass(frozen=True)
class Selection:
    """The kept columns and every elimination round's importances, in order (the audit trail)."""

    kept: list[str]
    dropped: list[str]
    rounds: list[list[DropColumnImportance]]
    tolerance_se: float
    rows: int  # the CV rows the importances were judged on (a subsample past selection.max_rows)

    def as_dict(self) -> dict[str, Any]:
        """Plain data for the training record (the rounds' importances as dicts)."""
        return dataclasses.asdict(self)


def fold_log_losses(
    make_model: ModelFactory,
    columns: Sequence[str],
    X: pd.DataFrame,
    y: np.ndarray,
    splits: Splits,
    prepared: PreparedFolds | None = None,
) -> np.ndarray:
    """Log loss of the model on each held-out fold, fitting on the rest; one value per split.

    With ``prepared`` folds whose preprocess covers this column set, only the classifier is fitted, on
    the prepared columns that come from ``columns``: the same matrix the model's own preprocess gives.
    """
    model = make_model(columns)
    positions = None if prepared is None else prepared.positions(model, columns)
    layout = "C" if positions is None else _output_layout(model, X, splits[0][0])
    losses = []
    for number, (fit_rows, test_rows) in enumerate(splits):
        if positions is None or prepared is None:
            fitted = clone(model).fit(X.iloc[fit_rows], y[fit_rows])
            proba = fitted.predict_proba(X.iloc[test_rows])[:, 1]
        else:
            fit_matrix, test_matrix = prepared.matrices[number]
            kept = positions[number]
            fit_kept = np.asarray(np.take(fit_matrix, kept, axis=1), order=layout)
            test_kept = np.asarray(np.take(test_matrix, kept, axis=1), order=layout)
            classifier = clone(model.steps[-1][1]).fit(fit_kept, y[fit_rows])
            proba = classifier.predict_proba(test_kept)[:, 1]
        losses.append(log_loss(y[test_rows], proba))
    return np.asarray(losses)


def _output_layout(model: Any, X: pd.DataFrame, rows: np.ndarray) -> Literal["C", "F"]:
    """The memory order in which the model's own preprocess hands rows to its classifier.

    It is not always C: a ColumnTransformer whose only transformer scales a pandas block gives
    Fortran order. BLAS sums a matrix-vector product in another order for each layout, and the two
    can differ in the last bit (OpenBLAS's SkylakeX kernels on five columns, its Haswell ones on two),
    so the prepared columns are laid out as the model would lay them out. The layout follows the
    frame's blocks and the transformers, not the values: a few rows tell.
    """
    probe = np.asarray(clone(model[:-1]).fit_transform(X.iloc[rows[:LAYOUT_PROBE_ROWS]]))
    return "F" if np.isfortran(probe) else "C"


@dataclass(frozen=True)
class PreparedFolds:
    """The full column set's preprocess, fitted once per fold, with each fold's transformed rows.

    Elimination refits a model per fold and column set (208 HistGradientBoosting fits at the default
    800 rows), and refitting the one-hot encoder each time was about a third of each fit. When the
    preprocess is a ColumnTransformer of column-wise transformers, a column subset's transformed rows
    are the full set's columns that come from the subset, in the same order, so only the classifier
    is refitted (tests/method/test_selection.py: the same losses, bit for bit, as refitting the
    whole model).
    """

    transformers: list[tuple[str, Any, list[str]]]  # the full preprocess's (name, transformer, columns)
    # per fold: each transformer's output columns (a fold may lack a category), and the transformed
    # fit rows and test rows
    outputs: list[dict[str, list[int]]]
    matrices: list[tuple[np.ndarray, np.ndarray]]

    @classmethod
    def build(cls, model: Any, X: pd.DataFrame, splits: Splits) -> PreparedFolds | None:
        """Fit `model`'s preprocess on each fold's fit rows; None when it is not column-wise."""
        preprocess = _column_wise_preprocess(model)
        if preprocess is None:
            return None
        matrices, outputs = [], []
        for fit_rows, test_rows in splits:
            fitted = clone(preprocess)
            fit_matrix = fitted.fit_transform(X.iloc[fit_rows])
            matrices.append((np.asarray(fit_matrix), np.asarray(fitted.transform(X.iloc[test_rows]))))
            indices = fitted.output_indices_.items()
            outputs.append({name: list(range(part.start, part.stop)) for name, part in indices})
        return cls([(n, t, list(c)) for n, t, c in preprocess.transformers], outputs, matrices)

    def positions(self, model: Any, columns: Sequence[str]) -> list[list[int]] | None:
        """Per fold, the prepared columns `model` (built for `columns`) would see; None if it differs."""
        preprocess = _column_wise_preprocess(model)
        if preprocess is None:
            return None
        expected = [
            (name, transformer, [c for c in selected if c in columns])
            for name, transformer, selected in self.transformers
            if any(c in columns for c in selected)
        ]
        if [name for name, _, _ in expected] != [name for name, _, _ in preprocess.transformers]:
            return None
        for (_, full, kept), (_, own, own_columns) in zip(expected, preprocess.transformers, strict=True):
            if list(own_columns) != kept or not _same_transformer(own, full):
                return None
        return [self._fold_positions(expected, fold) for fold in self.outputs]

    def _fold_positions(
        self, expected: list[tuple[str, Any, list[str]]], outputs: dict[str, list[int]]
    ) -> list[int]:
        positions: list[int] = []
        for name, _, kept in expected:
            selected = next(c for n, _, c in self.transformers if n == name)
            # whole, or one output per input column (a split one-hot encoder is never column-wise)
            positions += (
                outputs[name] if kept == selected else [outputs[name][selected.index(c)] for c in kept]
            )
        return positions


def _column_wise_preprocess(model: Any) -> ColumnTransformer | None:
    """A two-step Pipeline's ColumnTransformer when every transformer works column by column."""
    if not isinstance(model, Pipeline) or len(model.steps) != 2:
        return None
    preprocess = model.steps[0][1]
    if not isinstance(preprocess, ColumnTransformer) or preprocess.remainder != "drop":
        return None
    for _, transformer, selected in preprocess.transformers:
        if not isinstance(selected, list) or not all(isinstance(c, str) for c in selected):
            return None
        # a transformer whose output for a column depends on that column alone (a one-hot encoder
        # when it reads one column): a subset's output is the full output's columns from the subset
        if transformer == "passthrough" or isinstance(transformer, StandardScaler):
            continue
        if not (isinstance(transformer, OneHotEncoder) and len(selected) == 1):
            return None
    return preprocess


def _same_transformer(one: Any, other: Any) -> bool:
    if isinstance(one, str) or isinstance(other, str):
        return bool(one == other)
    return type(one) is type(other) and one.get_params() == other.get_params()


def drop_column_importances(
    make_model: ModelFactory,
    columns: Sequence[str],
    X: pd.DataFrame,
    y: np.ndarray,
    splits: Splits,
    known: dict[tuple[str, ...], np.ndarray] | None = None,
    prepared: PreparedFolds | None = None,
) -> list[DropColumnImportance]:
    """Paired per-fold loss differences (without the column minus with it), one entry per column.

    ``known`` caches fold losses by column set: the set a round drops to is the next round's full
    set, so elimination need not refit it (the fits are deterministic, so the numbers are the same).
    The mean and its standard error are canonical (attrition.canonical_json): the record stores them
    and the elimination decides on them, identically on every CPU.
    """
    cache = {} if known is None else known
    if prepared is None:
        prepared = PreparedFolds.build(make_model(columns), X, splits)

    def losses(kept: Sequence[str]) -> np.ndarray:
        key = tuple(kept)
        if key not in cache:
            cache[key] = fold_log_losses(make_model, kept, X, y, splits, prepared)
        return cache[key]

    with_all = losses(columns)
    result = []
    for column in columns:
        rest = [c for c in columns if c != column]
        differences = losses(rest) - with_all
        error = float(differences.std(ddof=1) / np.sqrt(len(differences))) if len(differences) > 1 else 0.0
        increase = canonical_float(float(differences.mean()))
        result.append(DropColumnImportance(column, increase, canonical_float(error), len(differences)))
    return result


def select_columns(
    make_model: ModelFactory,
    columns: Sequence[str],
    X: pd.DataFrame,
    y: np.ndarray,
    splits: Splits,
    *,
    tolerance_se: float,
    min_columns: int = 1,
) -> Selection:
    """Backward elimination: repeatedly drop the weakest column while it is within tolerance of useless.

    "Weakest" is the smallest importance in standard-error units; it is dropped when its loss increase
    is at most ``tolerance_se`` standard errors. Stops when every remaining column clears the bar or
    only ``min_columns`` are left.
    """
    kept = list(columns)
    dropped: list[str] = []
    rounds: list[list[DropColumnImportance]] = []
    known: dict[tuple[str, ...], np.ndarray] = {}
    prepared = PreparedFolds.build(make_model(kept), X, splits)  # once: later rounds read subsets of it
    while len(kept) > min_columns:
        importances = drop_column_importances(make_model, kept, X, y, splits, known, prepared)
        rounds.append(importances)
        weakest = min(importances, key=lambda item: _margin(item, tolerance_se))
        if _margin(weakest, tolerance_se) > 0:
            break
        kept.remove(weakest.column)
        dropped.append(weakest.column)
    return Selection(kept, dropped, rounds, tolerance_se, rows=len(X))


def _margin(item: DropColumnImportance, tolerance_se: float) -> float:
    """How far the column's importance clears the bar; <= 0 means it may be dropped."""
    return item.loss_increase - tolerance_se * item.standard_error


def model_columns(model: Any) -> list[str]:
    """The input columns a fitted preprocess + classifier Pipeline reads (selection kept), in input order."""
    preprocess = getattr(model, "named_steps", {}).get("preprocess")
    if preprocess is None or not hasattr(preprocess, "transformers_"):
        return [str(c) for c in getattr(model, "feature_names_in_", [])]
    read: set[str] = set()
    for _, transformer, selected in preprocess.transformers_:
        if isinstance(transformer, str) and transformer == "drop":
            continue
        read |= {selected} if isinstance(selected, str) else {str(c) for c in selected}
    return [str(c) for c in preprocess.feature_names_in_ if str(c) in read]
