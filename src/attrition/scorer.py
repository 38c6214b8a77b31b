"""Score one employee without pandas or scikit-learn's per-call validation.

`pipeline.predict_proba(pd.DataFrame([row]))` spends about a millisecond building a frame and
re-checking it, which caps a single-process service at a few hundred requests per second. The
fitted Pipeline is only a few numbers (scaler means, one-hot categories, coefficients or tree
nodes), so :func:`compile_pipeline` copies them into plain Python lists once and evaluates the same
arithmetic per request. Anything it does not recognise raises :class:`UnsupportedModelError` and
:func:`build_scorer` falls back to the real pipeline, so an unusual model is slow, never wrong.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

Row = Mapping[str, Any]
# One step of the feature vector: (input column, kind, payload).
#   "scale":  payload = (mean, scale)          -> (x - mean) / scale
#   "pass":   payload = None                   -> float(x)
#   "onehot": payload = {category: position}   -> 1.0 at position, 0.0 elsewhere
FeatureStep = tuple[str, str, Any]


class UnsupportedModelError(Exception):
    """The pipeline uses a step or option the compiler does not reproduce exactly."""


class Scorer(Protocol):
    """Anything that turns feature rows into attrition probabilities."""

    compiled: bool
    reason: str

    def predict_one(self, row: Row) -> float: ...

    def predict_many(self, rows: Sequence[Row]) -> list[float]: ...


def _sigmoid(raw: float) -> float:
    """Logistic function that cannot overflow for large negative inputs."""
    if raw >= 0:
        return 1.0 / (1.0 + math.exp(-raw))
    exp = math.exp(raw)
    return exp / (1.0 + exp)


@dataclass(frozen=True)
class _Tree:
    """One fitted HistGradientBoosting tree as parallel Python lists (fast to index)."""

    feature: list[int]
    threshold: list[float]
    left: list[int]
    right: list[int]
    value: list[float]
    is_leaf: list[bool]
    missing_left: list[bool]

    def leaf_value(self, x: list[float]) -> float:
        """Walk from the root exactly like sklearn's `_predict_one_from_raw_data`."""
        feature, threshold, is_leaf = self.feature, self.threshold, self.is_leaf
        node = 0
        while not is_leaf[node]:
            value = x[feature[node]]
            if value != value:  # NaN goes where training sent missing values
                node = self.left[node] if self.missing_left[node] else self.right[node]
            elif value <= threshold[node]:
                node = self.left[node]
            else:
                node = self.right[node]
        return self.value[node]


class CompiledScorer:
    """Plain-Python evaluation of a fitted preprocess + classifier Pipeline."""

    compiled = True
    reason = "compiled"

    def __init__(
        self,
        steps: list[FeatureStep],
        width: int,
        raw_score: Callable[[list[float]], float],
        family: str,
    ) -> None:
        self._steps = steps
        self._width = width
        self._raw_score = raw_score
        self.family = family

    def features(self, row: Row) -> list[float]:
        """The preprocessed feature vector, in the ColumnTransformer's output order."""
        x: list[float] = []
        for column, kind, payload in self._steps:
            value = row[column]
            if kind == "scale":
                mean, scale = payload
                x.append((float(value) - mean) / scale)
            elif kind == "pass":
                x.append(float(value))
            else:
                onehot = [0.0] * len(payload)
                position = payload.get(value)
                if position is not None:
                    onehot[position] = 1.0
                x.extend(onehot)
        return x

    def predict_one(self, row: Row) -> float:
        """Probability of attrition for one row (a mapping with every input column)."""
        return _sigmoid(self._raw_score(self.features(row)))

    def predict_many(self, rows: Sequence[Row]) -> list[float]:
        """Probabilities for several rows, one at a time (rows are few per request)."""
        return [self.predict_one(row) for row in rows]


class PipelineScorer:
    """The slow, always-correct path: a DataFrame through the real Pipeline."""

    compiled = False

    def __init__(self, pipeline: Any, columns: Sequence[str], reason: str) -> None:
        self._pipeline = pipeline
        self._columns = list(columns)
        self.reason = reason

    def predict_many(self, rows: Sequence[Row]) -> list[float]:
        """Score rows in one predict_proba call (pandas is imported only on this path)."""
        import pandas as pd

        frame = pd.DataFrame([{c: row[c] for c in self._columns} for row in rows])
        return [float(p) for p in self._pipeline.predict_proba(frame)[:, 1]]

    def predict_one(self, row: Row) -> float:
        """Score one row through the pipeline."""
        return self.predict_many([row])[0]


def _compile_preprocess(preprocess: Any) -> tuple[list[FeatureStep], int]:
    """Turn a fitted ColumnTransformer into feature steps, or raise UnsupportedModelError."""
    from sklearn.compose import ColumnTransformer
    from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

    if not isinstance(preprocess, ColumnTransformer):
        raise UnsupportedModelError(f"preprocess step is {type(preprocess).__name__}")
    if getattr(preprocess, "sparse_output_", False):
        raise UnsupportedModelError("ColumnTransformer produces sparse output")
    steps: list[FeatureStep] = []
    width = 0
    for name, transformer, columns in preprocess.transformers_:
        if isinstance(columns, str):
            columns = [columns]
        columns = list(columns)
        if transformer == "drop" or not columns:
            continue
        if not all(isinstance(c, str) for c in columns):
            raise UnsupportedModelError(f"transformer {name!r} selects columns by position")
        # A fitted "passthrough" is stored as an identity FunctionTransformer.
        identity = isinstance(transformer, FunctionTransformer) and transformer.func is None
        if transformer == "passthrough" or identity:
            steps.extend((c, "pass", None) for c in columns)
            width += len(columns)
        elif isinstance(transformer, StandardScaler):
            n = len(columns)
            means = transformer.mean_ if transformer.with_mean else np.zeros(n)
            scales = transformer.scale_ if transformer.with_std else np.ones(n)
            if means is None or scales is None:
                raise UnsupportedModelError(f"scaler {name!r} has no fitted statistics")
            steps.extend(
                (c, "scale", (float(m), float(s))) for c, m, s in zip(columns, means, scales, strict=True)
            )
            width += n
        elif isinstance(transformer, OneHotEncoder):
            if transformer.drop_idx_ is not None or getattr(transformer, "_infrequent_enabled", False):
                raise UnsupportedModelError(f"encoder {name!r} drops or groups categories")
            if transformer.handle_unknown != "ignore":
                raise UnsupportedModelError(f"encoder {name!r} raises on unknown categories")
            if transformer.sparse_output:
                raise UnsupportedModelError(f"encoder {name!r} is sparse")
            for column, categories in zip(columns, transformer.categories_, strict=True):
                lookup = {
                    category.item() if hasattr(category, "item") else category: i
                    for i, category in enumerate(categories)
                }
                if len(lookup) != len(categories):
                    raise UnsupportedModelError(f"encoder {name!r} has duplicate categories")
                steps.append((column, "onehot", lookup))
                width += len(categories)
        else:
            raise UnsupportedModelError(f"transformer {name!r} is {type(transformer).__name__}")
    return steps, width


def _compile_logreg(clf: Any, width: int) -> Callable[[list[float]], float]:
    """Decision function of a binary LogisticRegression as a closure over Python floats."""
    coef = np.asarray(clf.coef_, dtype=np.float64)
    if coef.shape != (1, width) or len(clf.classes_) != 2:
        raise UnsupportedModelError(f"logistic regression coef shape {coef.shape} for {width} features")
    weights = [float(w) for w in coef[0]]
    intercept = float(np.asarray(clf.intercept_, dtype=np.float64)[0])

    def raw_score(x: list[float]) -> float:
        total = 0.0
        for w, v in zip(weights, x, strict=True):
            total += w * v
        return total + intercept

    return raw_score


def _compile_hgb(clf: Any, width: int) -> Callable[[list[float]], float]:
    """Baseline plus every tree's leaf, summed in iteration order like `_raw_predict`."""
    if clf.n_trees_per_iteration_ != 1 or len(clf.classes_) != 2:
        raise UnsupportedModelError("gradient boosting is not a binary classifier")
    categorical = getattr(clf, "is_categorical_", None)
    if categorical is not None and bool(np.any(categorical)):
        raise UnsupportedModelError("gradient boosting uses native categorical splits")
    if getattr(clf, "_preprocessor", None) is not None:
        raise UnsupportedModelError("gradient boosting has its own column preprocessor")
    if getattr(clf, "n_features_in_", width) != width:
        raise UnsupportedModelError(f"classifier expects {clf.n_features_in_} features, got {width}")
    baseline = float(np.asarray(clf._baseline_prediction, dtype=np.float64).ravel()[0])
    trees: list[_Tree] = []
    for iteration in clf._predictors:
        nodes = iteration[0].nodes
        if bool(np.any(nodes["is_categorical"])):
            raise UnsupportedModelError("tree has a categorical split")
        trees.append(
            _Tree(
                feature=[int(v) for v in nodes["feature_idx"]],
                threshold=[float(v) for v in nodes["num_threshold"]],
                left=[int(v) for v in nodes["left"]],
                right=[int(v) for v in nodes["right"]],
                value=[float(v) for v in nodes["value"]],
                is_leaf=[bool(v) for v in nodes["is_leaf"]],
                missing_left=[bool(v) for v in nodes["missing_go_to_left"]],
            )
        )

    def raw_score(x: list[float]) -> float:
        total = baseline
        for tree in trees:
            total += tree.leaf_value(x)
        return total

    return raw_score


def compile_pipeline(pipeline: Any) -> CompiledScorer:
    """Compile a fitted [("preprocess", ColumnTransformer), ("classifier", clf)] Pipeline."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    if not isinstance(pipeline, Pipeline) or len(pipeline.steps) != 2:
        raise UnsupportedModelError("model is not a two-step preprocess + classifier Pipeline")
    preprocess, clf = pipeline.steps[0][1], pipeline.steps[1][1]
    steps, width = _compile_preprocess(preprocess)
    if list(getattr(clf, "classes_", [])) != [0, 1]:
        raise UnsupportedModelError("classifier classes are not [0, 1]")
    if isinstance(clf, LogisticRegression):
        return CompiledScorer(steps, width, _compile_logreg(clf, width), "logreg")
    if isinstance(clf, HistGradientBoostingClassifier):
        return CompiledScorer(steps, width, _compile_hgb(clf, width), "hgb")
    raise UnsupportedModelError(f"classifier {type(clf).__name__} is not compiled")


def build_scorer(
    pipeline: Any,
    columns: Sequence[str],
    check_rows: Sequence[Row] = (),
    tolerance: float = 1e-9,
) -> CompiledScorer | PipelineScorer:
    """Compiled scorer when it reproduces the pipeline on `check_rows`, else the pipeline itself.

    The check runs once per load, so a compiler bug shows up as a slower service, not as wrong
    probabilities.
    """
    try:
        compiled = compile_pipeline(pipeline)
    except UnsupportedModelError as error:
        return PipelineScorer(pipeline, columns, f"not compiled: {error}")
    if check_rows:
        expected = PipelineScorer(pipeline, columns, "check").predict_many(check_rows)
        for row, want in zip(check_rows, expected, strict=True):
            got = compiled.predict_one(row)
            if not abs(got - want) <= tolerance:
                return PipelineScorer(
                    pipeline, columns, f"not compiled: differs from pipeline ({got} vs {want})"
                )
    return compiled
