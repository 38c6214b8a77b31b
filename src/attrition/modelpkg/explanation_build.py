"""explanation.json, written: the background sample, the plain-words percentiles, and reference samples.

Package time only (pandas, NumPy, the scikit-learn pipeline); the serving side is
attrition.modelpkg.explanation. The evaluate stage calls :func:`reliance`, so the hold-out's mean
contributions (evaluation.json, the model card) are measured against the very background the package
stores.

The reference is the definition computed the slow way: for every coalition S, the scikit-learn
pipeline's predict_proba on the hybrid rows (x_S, b_notS) of every background row b, averaged, then
the Shapley formula. The package records it for its sample profiles, and the package check (and the
service's load) replays them with the data-only explainer to PREDICTION_TOLERANCE.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from attrition.canonical_json import canonical_float
from attrition.columns import FEATURES
from attrition.modelpkg.artifact import PREDICTION_TOLERANCE, PackageError, Sample
from attrition.modelpkg.explain import build_explainer
from attrition.modelpkg.explanation import (
    EXPLANATION_FORMAT,
    EXPLANATION_VERSION,
    MEASURED_IN,
    PlainWords,
    explanation_mismatch,
)
from attrition.params import ExplainParams

GROUP_BY = "job_role"
LEVELS = [10, 20, 30, 40, 50, 60, 70, 80, 90]  # per cent: where an employee stands among colleagues
CUT_DIGITS = 3  # significant digits of a stored percentile: where a colleague stands, never their value


def model_columns(model_data: Mapping[str, Any]) -> list[str]:
    """The inputs model.json's model reads, in its order (a dropped column such as age is not one)."""
    seen: list[str] = []
    for step in model_data["features"]:
        if step["column"] not in seen:
            seen.append(step["column"])
    return seen


def _plain(value: Any) -> Any:
    """A CSV cell as JSON: ints stay ints, floats canonical (CPU-independent), the rest as text."""
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return canonical_float(float(value))
    return str(value)


def background_sample(
    train_rows: pd.DataFrame, columns: Sequence[str], params: ExplainParams
) -> list[dict[str, Any]]:
    """A seeded sample of the training rows (in their order), holding only the model's inputs."""
    size = min(params.background_rows, len(train_rows))
    if size == 0:
        raise PackageError("no training rows to take the explanation background from")
    picked = np.sort(np.random.default_rng(params.seed).choice(len(train_rows), size=size, replace=False))
    frame = train_rows.iloc[picked]
    return [{column: _plain(row[column]) for column in columns} for _, row in frame.iterrows()]


def _cuts(values: pd.Series) -> list[float]:
    quantiles = np.quantile(values.to_numpy(dtype=np.float64), [level / 100 for level in LEVELS])
    return [canonical_float(float(q), CUT_DIGITS) for q in quantiles]


def plain_words_section(
    train_rows: pd.DataFrame, columns: Sequence[str], params: ExplainParams
) -> dict[str, Any]:
    """Percentile cut points of each numeric model input, overall and per job role with enough rows."""
    numeric = [c for c in columns if c != GROUP_BY and pd.api.types.is_numeric_dtype(train_rows[c])]
    section: dict[str, Any] = {}
    for column in numeric:
        groups = {
            str(group): _cuts(rows[column])
            for group, rows in sorted(train_rows.groupby(GROUP_BY), key=lambda item: str(item[0]))
            if len(rows) >= params.min_group_rows
        }
        section[column] = {"all": _cuts(train_rows[column]), "groups": groups}
    return {
        "group_by": GROUP_BY,
        "levels": LEVELS,
        "min_group_rows": params.min_group_rows,
        "top_reasons": params.top_reasons,
        "min_contribution": params.min_contribution,
        "columns": section,
    }


def reference_contributions(
    pipeline: Any, columns: Sequence[str], background: Sequence[Mapping[str, Any]], row: Mapping[str, Any]
) -> tuple[float, dict[str, float]]:
    """(baseline, contributions) by the definition: predict_proba on every hybrid row, then Shapley.

    One predict_proba call over 2**n x |background| rows; inputs the model does not read keep the
    row's own value.
    """
    n = len(columns)
    hybrids = []
    for mask in range(1 << n):
        for b in background:
            hybrid = {c: row[c] for c in FEATURES}
            hybrid.update({c: (row[c] if mask >> j & 1 else b[c]) for j, c in enumerate(columns)})
            hybrids.append(hybrid)
    probabilities = pipeline.predict_proba(pd.DataFrame(hybrids, columns=FEATURES))[:, 1]
    values = probabilities.reshape(1 << n, len(background)).mean(axis=1)
    contributions: dict[str, float] = {}
    for i, column in enumerate(columns):
        total = 0.0
        for mask in range(1 << n):
            if not mask >> i & 1:
                size = mask.bit_count()
                weight = math.factorial(size) * math.factorial(n - size - 1) / math.factorial(n)
                total += weight * float(values[mask | 1 << i] - values[mask])
        contributions[column] = total
    return float(values[0]), contributions


def explanation_document(
    pipeline: Any,
    model_data: Mapping[str, Any],
    train_rows: pd.DataFrame,
    samples: Sequence[Sample],
    params: ExplainParams,
) -> dict[str, Any]:
    """explanation.json for a package, checked: the data-only explainer must reproduce the reference."""
    columns = model_columns(model_data)
    background = background_sample(train_rows, columns, params)
    recorded = []
    for sample in samples:
        baseline, contributions = reference_contributions(pipeline, columns, background, sample.profile)
        recorded.append(
            {
                "profile": sample.profile,
                "baseline": canonical_float(baseline),
                "contributions": {c: canonical_float(v) for c, v in contributions.items()},
            }
        )
    document = {
        "format": EXPLANATION_FORMAT,
        "format_version": EXPLANATION_VERSION,
        "measured_in": MEASURED_IN,
        "method": "exact interventional Shapley values of the probability over the background rows",
        "background": {
            "source": "training split",
            "seed": params.seed,
            "columns": columns,
            "rows": [[row[c] for c in columns] for row in background],
        },
        "plain_words": plain_words_section(train_rows, columns, params),
        "samples": recorded,
    }
    PlainWords(document["plain_words"])  # the reader accepts what this writer wrote
    problem = explanation_mismatch(build_explainer(model_data, background), document, PREDICTION_TOLERANCE)
    if problem:
        raise PackageError(f"explanation: {problem}")
    return document


def reliance(
    model_data: Mapping[str, Any], train_rows: pd.DataFrame, rows: pd.DataFrame, params: ExplainParams
) -> dict[str, Any]:
    """Each input's mean |contribution| on `rows` (the hold-out): what the model relies on."""
    columns = model_columns(model_data)
    explainer = build_explainer(model_data, background_sample(train_rows, columns, params))
    records = rows.to_dict("records")
    return {
        "measured_in": MEASURED_IN,
        "rows": len(records),
        "background_rows": explainer.background_rows,
        "baseline": explainer.baseline,
        "mean_abs_contribution": explainer.mean_abs_contributions(records),
    }
