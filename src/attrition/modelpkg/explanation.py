"""The package's explanation.json, read: exact contributions plus the plain words a manager reads.

A person subject to a model-assisted decision is owed meaningful information about the logic involved
(GDPR, EEOC guidance), and the manager who records a reason for an action needs one to start from. So
every live answer carries each input's contribution (attrition.modelpkg.explain) and its top reasons in
words: "monthly income 3,200 is lower than about 80% of colleagues in Sales: +0.21".

The words compare the employee with percentiles of the training rows stored in the package (per job
role, or all employees for a role with too few rows), rounded to three significant digits and never
printed: an answer says where this employee stands ("lower than about 80%"), not what any colleague
earns. The background rows the contributions are measured against stay in the package, never in an
answer. Nothing here reads the data generator's formula: the words describe the data, the numbers the
model. Pure Python (the serving image loads it).
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from attrition.modelpkg.explain import (
    Explainer,
    Explanation,
    ExplanationError,
    background_rows,
    build_explainer,
)
from attrition.modelpkg.scorer import Row

EXPLANATION_FORMAT = "attrition.explanation"
EXPLANATION_VERSION = 1
MEASURED_IN = "probability"


@dataclass(frozen=True)
class Reason:
    """One input's contribution and the sentence that says it."""

    input: str
    contribution: float
    text: str


def _label(column: str) -> str:
    return column.replace("_", " ")


def _value_text(value: Any) -> str:
    """3200.5 -> '3,200', 2 -> '2', 4.5 -> '4.5': what a manager reads, not a float's repr."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:g}"


def _standing(value: float, cuts: list[float], levels: list[int]) -> str:
    """Where a value stands among colleagues, from percentile cut points at `levels` (per cent)."""
    below = bisect.bisect_left(cuts, value)  # cut points the value is above (cuts are sorted)
    if below * 2 >= len(cuts) and below:
        return f"is higher than about {levels[below - 1]}% of"
    return f"is lower than about {100 - levels[below]}% of"


class PlainWords:
    """The words: per-group percentiles of the numeric inputs, and how many reasons an answer keeps."""

    def __init__(self, section: Any) -> None:
        if not isinstance(section, dict):
            raise ExplanationError("plain_words is not an object")
        try:
            self.group_by = str(section["group_by"])
            self.levels = [int(level) for level in section["levels"]]
            self.top_reasons = int(section["top_reasons"])
            self.min_contribution = float(section["min_contribution"])
            self.columns: dict[str, dict[str, Any]] = dict(section["columns"])
            if not self.levels or self.levels != sorted(self.levels) or self.top_reasons < 1:
                raise ExplanationError("plain_words levels or top_reasons are out of range")
            for column, cuts in self.columns.items():
                for group in [cuts["all"], *cuts["groups"].values()]:
                    if len(group) != len(self.levels) or group != sorted(group):
                        raise ExplanationError(f"plain_words {column}: cut points are not one per level")
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise ExplanationError(f"plain_words lacks or garbles {error}") from None

    def sentence(self, column: str, value: Any, row: Row, contribution: float) -> str:
        """'monthly income 3,200 is lower than about 80% of colleagues in Sales: +0.21'."""
        cuts = self.columns.get(column)
        said = f"{_label(column)} {_value_text(value)}"
        if cuts is not None and isinstance(value, int | float) and value == value:
            group = row.get(self.group_by)
            if group in cuts["groups"]:
                said += (
                    f" {_standing(float(value), cuts['groups'][group], self.levels)} colleagues in {group}"
                )
            else:
                said += f" {_standing(float(value), cuts['all'], self.levels)} all employees"
        return f"{said}: {contribution:+.2f}"

    def reasons(self, explanation: Explanation, row: Row) -> list[Reason]:
        """The top_reasons largest contributions (at least min_contribution in size), largest first."""
        ranked = sorted(
            (item for item in explanation.contributions if abs(item[1]) >= self.min_contribution),
            key=lambda item: -abs(item[1]),
        )
        return [
            Reason(column, value, self.sentence(column, row[column], row, value))
            for column, value in ranked[: self.top_reasons]
        ]


@dataclass(frozen=True)
class Why:
    """What an answer carries: the exact contributions and the top reasons in words."""

    explanation: Explanation
    reasons: list[Reason]

    def record(self) -> dict[str, Any]:
        """The audit row's copy: what the answer said, exactly (attrition.audit.records)."""
        return {
            "measured_in": MEASURED_IN,
            "baseline": self.explanation.baseline,
            "contributions": self.explanation.as_dict(),
            "reasons": [reason.text for reason in self.reasons],
        }


class PackageExplainer:
    """A package's explainer and words together; `why(row)` is what the service calls per employee."""

    def __init__(self, explainer: Explainer, words: PlainWords) -> None:
        self.explainer = explainer
        self.words = words

    def why(self, row: Row) -> Why:
        explanation = self.explainer.explain(row)
        return Why(explanation, self.words.reasons(explanation, row))


def load_explainer(model_data: Mapping[str, Any], document: Any) -> PackageExplainer:
    """The explainer of model.json's model from explanation.json; ExplanationError (one line) if unusable."""
    if not isinstance(document, dict):
        raise ExplanationError("explanation document is not an object")
    if document.get("format") != EXPLANATION_FORMAT or document.get("format_version") != EXPLANATION_VERSION:
        raise ExplanationError(
            f"format {document.get('format')!r} version {document.get('format_version')!r} is not "
            f"{EXPLANATION_FORMAT!r} version {EXPLANATION_VERSION}"
        )
    if document.get("measured_in") != MEASURED_IN:
        raise ExplanationError(f"contributions are not measured in {MEASURED_IN}")
    explainer = build_explainer(model_data, background_rows(document))
    return PackageExplainer(explainer, PlainWords(document.get("plain_words")))


def explanation_mismatch(explainer: Explainer, document: Mapping[str, Any], tolerance: float) -> str | None:
    """Why the data-only explainer does not reproduce the recorded sample contributions, or None.

    The samples' contributions were computed at package time with the scikit-learn pipeline on hybrid
    rows (attrition.modelpkg.explanation_build), so this replays the reference, not the explainer itself.
    """
    samples = document.get("samples")
    if not isinstance(samples, list) or not samples:
        return "explanation.json records no sample contributions"
    for number, sample in enumerate(samples, 1):
        try:
            got = explainer.explain(sample["profile"])
            want = {str(k): float(v) for k, v in sample["contributions"].items()}
            baseline = float(sample["baseline"])
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            return f"explanation sample {number} is malformed ({error})"
        if set(want) != set(explainer.columns):
            return f"explanation sample {number} names inputs {sorted(want)}, the model {explainer.columns}"
        worst = max(abs(value - want[column]) for column, value in got.contributions)
        if not (worst <= tolerance and abs(got.baseline - baseline) <= tolerance):
            return (
                f"explanation sample {number}: contributions differ from the recorded reference by "
                f"{worst:.3g} (tolerance {tolerance:g})"
            )
    return None
