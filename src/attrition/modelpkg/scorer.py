"""Score one employee without pandas or scikit-learn, from the model's numbers alone.

`pipeline.predict_proba(pd.DataFrame([row]))` spends about a millisecond building a frame and
re-checking it, which caps a single-process service at a few hundred requests per second. The
fitted Pipeline is only a few numbers (scaler means, one-hot categories, coefficients or tree
nodes): :func:`export_model_data` copies them into a JSON-serialisable dict (the package's
model.json) and :func:`scorer_from_data` evaluates the same arithmetic in plain Python, so the
serving image needs neither scikit-learn, SciPy, pandas nor numpy, and never unpickles.
Anything the export does not recognise raises :class:`UnsupportedModelError` and
:func:`build_scorer` falls back to the real pipeline, so an unusual model is slow, never wrong.

One file on purpose (~480 lines): the writer (export) and the reader (scorer) of one data format
stay side by side, so a step added to one is added to the other in the same diff, and the round-trip
test reads both in one place. Everything that needs scikit-learn or numpy is imported inside the
export functions, so the serving image, which has neither, can import the reader.
"""

from __future__ import annotations

import bisect
import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

Row = Mapping[str, Any]
# One step of the feature vector: (input column, kind, payload).
#   "scale":  payload = (mean, scale)          -> (x - mean) / scale
#   "pass":   payload = None                   -> float(x)
#   "onehot": payload = {category: position}   -> 1.0 at position, 0.0 elsewhere
FeatureStep = tuple[str, str, Any]


MODEL_DATA_FORMAT = "attrition.compiled-model"
# Version 2 adds an optional "recalibration" section (a strictly increasing log-odds map after the
# classifier, attrition.method.calibration). A model without one is still written as version 1, byte for byte
# as before; a version-1 reader refuses version 2 instead of silently skipping the map.
MODEL_DATA_VERSION = 2
READABLE_VERSIONS = (1, 2)


class UnsupportedModelError(Exception):
    """The pipeline uses a step or option the compiler does not reproduce exactly."""


class ModelDataError(ValueError):
    """Model data (model.json) that is malformed or inconsistent (one-line message)."""


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
    """Plain-Python evaluation of a preprocess + classifier model described by its numbers.

    Built by :func:`scorer_from_data` from the JSON-serialisable dict that
    :func:`export_model_data` extracts; needs no scikit-learn, SciPy, pandas or numpy.
    """

    compiled = True

    def __init__(
        self,
        steps: list[FeatureStep],
        raw_score: Callable[[list[float]], float],
        family: str,
        reason: str = "compiled",
    ) -> None:
        self.steps = steps  # read by attrition.modelpkg.explain to split the vector by input column
        self._raw_score = raw_score
        self.family = family
        self.reason = reason

    def features(self, row: Row) -> list[float]:
        """The preprocessed feature vector, in the ColumnTransformer's output order."""
        x: list[float] = []
        for column, kind, payload in self.steps:
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
        return self.probability(self.features(row))

    def probability(self, x: list[float]) -> float:
        """Probability for a feature vector (the explainer scores mixed vectors of two rows)."""
        return _sigmoid(self._raw_score(x))

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


def _number(value: float) -> float | str:
    """A float for JSON: finite ones as they are (exact round trip), others as 'inf'/'-inf'/'nan'."""
    value = float(value)
    return value if math.isfinite(value) else repr(value)


def _export_preprocess(preprocess: Any) -> list[dict[str, Any]]:
    """A fitted ColumnTransformer as feature steps, or UnsupportedModelError."""
    import numpy as np
    from sklearn.compose import ColumnTransformer
    from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

    if not isinstance(preprocess, ColumnTransformer):
        raise UnsupportedModelError(f"preprocess step is {type(preprocess).__name__}")
    if getattr(preprocess, "sparse_output_", False):
        raise UnsupportedModelError("ColumnTransformer produces sparse output")
    steps: list[dict[str, Any]] = []
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
            steps.extend({"column": c, "kind": "pass"} for c in columns)
        elif isinstance(transformer, StandardScaler):
            n = len(columns)
            means = transformer.mean_ if transformer.with_mean else np.zeros(n)
            scales = transformer.scale_ if transformer.with_std else np.ones(n)
            if means is None or scales is None:
                raise UnsupportedModelError(f"scaler {name!r} has no fitted statistics")
            steps.extend(
                {"column": c, "kind": "scale", "mean": _number(m), "scale": _number(s)}
                for c, m, s in zip(columns, means, scales, strict=True)
            )
        elif isinstance(transformer, OneHotEncoder):
            if transformer.drop_idx_ is not None or getattr(transformer, "_infrequent_enabled", False):
                raise UnsupportedModelError(f"encoder {name!r} drops or groups categories")
            if transformer.handle_unknown != "ignore":
                raise UnsupportedModelError(f"encoder {name!r} raises on unknown categories")
            if transformer.sparse_output:
                raise UnsupportedModelError(f"encoder {name!r} is sparse")
            for column, categories in zip(columns, transformer.categories_, strict=True):
                values = [c.item() if hasattr(c, "item") else c for c in categories]
                if not all(isinstance(v, str | int) and not isinstance(v, bool) for v in values):
                    raise UnsupportedModelError(f"encoder {name!r} has non-string categories")
                if len(set(values)) != len(values):
                    raise UnsupportedModelError(f"encoder {name!r} has duplicate categories")
                steps.append({"column": column, "kind": "onehot", "categories": values})
        else:
            raise UnsupportedModelError(f"transformer {name!r} is {type(transformer).__name__}")
    return steps


def _export_logreg(clf: Any, width: int) -> dict[str, Any]:
    """Weights and intercept of a binary LogisticRegression."""
    import numpy as np

    coef = np.asarray(clf.coef_, dtype=np.float64)
    if coef.shape != (1, width) or len(clf.classes_) != 2:
        raise UnsupportedModelError(f"logistic regression coef shape {coef.shape} for {width} features")
    intercept = float(np.asarray(clf.intercept_, dtype=np.float64)[0])
    return {"weights": [_number(w) for w in coef[0]], "intercept": _number(intercept)}


def _export_hgb(clf: Any, width: int) -> dict[str, Any]:
    """Baseline and every tree's node arrays of a binary HistGradientBoostingClassifier."""
    import numpy as np

    if clf.n_trees_per_iteration_ != 1 or len(clf.classes_) != 2:
        raise UnsupportedModelError("gradient boosting is not a binary classifier")
    categorical = getattr(clf, "is_categorical_", None)
    if categorical is not None and bool(np.any(categorical)):
        raise UnsupportedModelError("gradient boosting uses native categorical splits")
    if getattr(clf, "_preprocessor", None) is not None:
        raise UnsupportedModelError("gradient boosting has its own column preprocessor")
    if getattr(clf, "n_features_in_", width) != width:
        raise UnsupportedModelError(f"classifier expects {clf.n_features_in_} features, got {width}")
    trees: list[dict[str, list[Any]]] = []
    for iteration in clf._predictors:
        nodes = iteration[0].nodes
        if bool(np.any(nodes["is_categorical"])):
            raise UnsupportedModelError("tree has a categorical split")
        leaf = [bool(v) for v in nodes["is_leaf"]]
        trees.append(
            {
                "feature": [int(v) for v in nodes["feature_idx"]],
                # A leaf's threshold is never read; 0.0 keeps the file free of NaN.
                "threshold": [
                    0.0 if is_leaf else _number(v)
                    for v, is_leaf in zip(nodes["num_threshold"], leaf, strict=True)
                ],
                "left": [int(v) for v in nodes["left"]],
                "right": [int(v) for v in nodes["right"]],
                "value": [_number(v) for v in nodes["value"]],
                "is_leaf": leaf,
                "missing_left": [bool(v) for v in nodes["missing_go_to_left"]],
            }
        )
    baseline = float(np.asarray(clf._baseline_prediction, dtype=np.float64).ravel()[0])
    return {"baseline": _number(baseline), "trees": trees}


def export_model_data(pipeline: Any) -> dict[str, Any]:
    """The numbers of a fitted [preprocess ColumnTransformer, classifier] Pipeline, as JSON data.

    `json.dumps` of the result round-trips every float exactly, and :func:`scorer_from_data`
    evaluates it to the pipeline's predict_proba within 1e-9. Raises UnsupportedModelError (one
    line naming the step) for a model this format cannot represent.
    """
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    from attrition.method.calibration import RecalibratedClassifier

    if not isinstance(pipeline, Pipeline) or len(pipeline.steps) != 2:
        raise UnsupportedModelError("model is not a two-step preprocess + classifier Pipeline")
    preprocess, clf = pipeline.steps[0][1], pipeline.steps[1][1]
    features = _export_preprocess(preprocess)
    width = sum(len(step["categories"]) if step["kind"] == "onehot" else 1 for step in features)
    if list(getattr(clf, "classes_", [])) != [0, 1]:
        raise UnsupportedModelError("classifier classes are not [0, 1]")
    data: dict[str, Any] = {"format": MODEL_DATA_FORMAT, "format_version": 1}
    if isinstance(clf, RecalibratedClassifier):
        knots = clf.log_odds_map
        data["format_version"] = MODEL_DATA_VERSION
        data["recalibration"] = {
            "method": knots.method,
            "x": [_number(v) for v in knots.x],
            "y": [_number(v) for v in knots.y],
        }
        clf = clf.classifier_
    if isinstance(clf, LogisticRegression):
        return {**data, "family": "logreg", "features": features, "logreg": _export_logreg(clf, width)}
    if isinstance(clf, HistGradientBoostingClassifier):
        return {**data, "family": "hgb", "features": features, "hgb": _export_hgb(clf, width)}
    raise UnsupportedModelError(f"classifier {type(clf).__name__} is not compiled")


def _floats(values: Any, where: str) -> list[float]:
    if not isinstance(values, list):
        raise ModelDataError(f"{where} is not a list")
    try:
        return [float(v) for v in values]
    except (TypeError, ValueError):
        raise ModelDataError(f"{where} holds a value that is not a number") from None


def _tree_from_data(tree: Any, width: int, where: str) -> _Tree:
    """One tree, checked so evaluation always terminates inside the arrays."""
    if not isinstance(tree, dict):
        raise ModelDataError(f"{where} is not an object")
    try:
        feature = [int(v) for v in tree["feature"]]
        left = [int(v) for v in tree["left"]]
        right = [int(v) for v in tree["right"]]
        is_leaf = [bool(v) for v in tree["is_leaf"]]
        missing_left = [bool(v) for v in tree["missing_left"]]
    except (KeyError, TypeError, ValueError) as error:
        raise ModelDataError(f"{where} lacks or garbles {error}") from None
    threshold = _floats(tree.get("threshold"), f"{where}.threshold")
    value = _floats(tree.get("value"), f"{where}.value")
    n = len(feature)
    if n == 0 or any(len(a) != n for a in (threshold, left, right, value, is_leaf, missing_left)):
        raise ModelDataError(f"{where} node arrays are empty or of different lengths")
    for node in range(n):
        # Children always follow their parent (sklearn fills nodes depth-first), so every walk ends.
        if not is_leaf[node] and not (
            node < left[node] < n and node < right[node] < n and 0 <= feature[node] < width
        ):
            raise ModelDataError(f"{where} node {node} points outside the tree or the features")
    return _Tree(feature, threshold, left, right, value, is_leaf, missing_left)


def _steps_from_data(features: Any) -> tuple[list[FeatureStep], int]:
    if not isinstance(features, list) or not features:
        raise ModelDataError("features is not a non-empty list")
    steps: list[FeatureStep] = []
    width = 0
    for number, step in enumerate(features):
        where = f"features[{number}]"
        if not isinstance(step, dict) or not isinstance(step.get("column"), str):
            raise ModelDataError(f"{where} lacks a column name")
        kind, column = step.get("kind"), step["column"]
        if kind == "pass":
            steps.append((column, "pass", None))
            width += 1
        elif kind == "scale":
            mean, scale = _floats([step.get("mean"), step.get("scale")], where)
            if scale == 0 or not math.isfinite(scale) or not math.isfinite(mean):
                raise ModelDataError(f"{where} has a zero or non-finite scale or mean")
            steps.append((column, "scale", (mean, scale)))
            width += 1
        elif kind == "onehot":
            categories = step.get("categories")
            if not isinstance(categories, list) or len(set(map(repr, categories))) != len(categories):
                raise ModelDataError(f"{where} categories are not a list of distinct values")
            steps.append((column, "onehot", {category: i for i, category in enumerate(categories)}))
            width += len(categories)
        else:
            raise ModelDataError(f"{where} kind {kind!r} is not pass, scale or onehot")
    return steps, width


def _recalibration_from_data(section: Any) -> Callable[[float], float]:
    """The strictly increasing log-odds map: interpolation between knots, end segments' lines outside.

    The per-row, pure-Python twin of attrition.method.calibration.LogOddsMap.log_odds (NumPy), which the
    serving image cannot import; tests check the two agree to 1e-9.
    """
    if not isinstance(section, dict):
        raise ModelDataError("recalibration is not an object")
    x = _floats(section.get("x"), "recalibration.x")
    y = _floats(section.get("y"), "recalibration.y")
    finite = all(math.isfinite(v) for v in (*x, *y))
    increasing = all(b > a for a, b in itertools.pairwise(x)) and all(b > a for a, b in itertools.pairwise(y))
    if len(x) != len(y) or len(x) < 2 or not finite or not increasing:
        raise ModelDataError("recalibration knots are not two or more finite, strictly increasing pairs")

    def log_odds(raw: float) -> float:
        if raw <= x[0]:
            return y[0] + (y[1] - y[0]) / (x[1] - x[0]) * (raw - x[0])
        if raw >= x[-1]:
            return y[-1] + (y[-1] - y[-2]) / (x[-1] - x[-2]) * (raw - x[-1])
        right = bisect.bisect_right(x, raw)
        left = right - 1
        return y[left] + (y[right] - y[left]) / (x[right] - x[left]) * (raw - x[left])

    return log_odds


def scorer_from_data(data: Mapping[str, Any], reason: str = "compiled") -> CompiledScorer:
    """A CompiledScorer from :func:`export_model_data`'s dict; pure Python, no scikit-learn.

    Raises ModelDataError (one line naming the bad field) for data it cannot evaluate safely.
    """
    if not isinstance(data, Mapping):
        raise ModelDataError(f"model data is a JSON {type(data).__name__}, not an object")
    version = data.get("format_version")
    if data.get("format") != MODEL_DATA_FORMAT or version not in READABLE_VERSIONS:
        raise ModelDataError(
            f"format {data.get('format')!r} version {version!r} is not "
            f"{MODEL_DATA_FORMAT!r} version {' or '.join(map(str, READABLE_VERSIONS))}"
        )
    if "recalibration" in data and version == 1:
        raise ModelDataError("recalibration needs format version 2")
    steps, width = _steps_from_data(data.get("features"))
    family, raw_score = _raw_score_from_data(data, width)
    if "recalibration" in data:
        uncalibrated, recalibrate = raw_score, _recalibration_from_data(data["recalibration"])

        def recalibrated(x: list[float]) -> float:
            return recalibrate(uncalibrated(x))

        raw_score = recalibrated
    return CompiledScorer(steps, raw_score, family, reason)


def _raw_score_from_data(data: Mapping[str, Any], width: int) -> tuple[str, Callable[[list[float]], float]]:
    """The classifier's family and its raw log-odds as a function of the feature vector."""
    family = data.get("family")
    params = data.get(str(family))
    if not isinstance(params, dict):
        raise ModelDataError(f"family {family!r} has no {family!r} section")
    if family == "logreg":
        weights = _floats(params.get("weights"), "logreg.weights")
        (intercept,) = _floats([params.get("intercept")], "logreg.intercept")
        if len(weights) != width:
            raise ModelDataError(f"logreg has {len(weights)} weights for {width} features")

        def logreg_score(x: list[float]) -> float:
            total = 0.0
            for w, v in zip(weights, x, strict=True):
                total += w * v
            return total + intercept

        return "logreg", logreg_score
    if family == "hgb":
        (baseline,) = _floats([params.get("baseline")], "hgb.baseline")
        raw_trees = params.get("trees")
        if not isinstance(raw_trees, list):
            raise ModelDataError("hgb.trees is not a list")
        trees = [_tree_from_data(tree, width, f"hgb.trees[{i}]") for i, tree in enumerate(raw_trees)]

        def hgb_score(x: list[float]) -> float:
            total = baseline
            for tree in trees:
                total += tree.leaf_value(x)
            return total

        return "hgb", hgb_score
    raise ModelDataError(f"family {family!r} is not logreg or hgb")


def compile_pipeline(pipeline: Any) -> CompiledScorer:
    """Compile a fitted [("preprocess", ColumnTransformer), ("classifier", clf)] Pipeline."""
    return scorer_from_data(export_model_data(pipeline))


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
