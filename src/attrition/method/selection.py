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
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone

from attrition.canonical_json import canonical_float
from attrition.method.logloss import log_loss

ModelFactory = Callable[[Sequence[str]], Any]  # kept columns -> unfitted estimator
Splits = Sequence[tuple[np.ndarray, np.ndarray]]


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
    make_model: ModelFactory, columns: Sequence[str], X: pd.DataFrame, y: np.ndarray, splits: Splits
) -> np.ndarray:
    """Log loss of the model on each held-out fold, fitting on the rest; one value per split."""
    losses = []
    for fit_rows, test_rows in splits:
        model = clone(make_model(columns)).fit(X.iloc[fit_rows], y[fit_rows])
        proba = model.predict_proba(X.iloc[test_rows])[:, 1]
        losses.append(log_loss(y[test_rows], proba))
    return np.asarray(losses)


def drop_column_importances(
    make_model: ModelFactory,
    columns: Sequence[str],
    X: pd.DataFrame,
    y: np.ndarray,
    splits: Splits,
    known: dict[tuple[str, ...], np.ndarray] | None = None,
) -> list[DropColumnImportance]:
    """Paired per-fold loss differences (without the column minus with it), one entry per column.

    ``known`` caches fold losses by column set: the set a round drops to is the next round's full
    set, so elimination need not refit it (the fits are deterministic, so the numbers are the same).
    The mean and its standard error are canonical (attrition.canonical_json): the record stores them
    and the elimination decides on them, identically on every CPU.
    """
    cache = {} if known is None else known

    def losses(kept: Sequence[str]) -> np.ndarray:
        key = tuple(kept)
        if key not in cache:
            cache[key] = fold_log_losses(make_model, kept, X, y, splits)
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
    while len(kept) > min_columns:
        importances = drop_column_importances(make_model, kept, X, y, splits, known)
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
