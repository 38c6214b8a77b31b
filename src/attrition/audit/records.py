"""What goes into the store: one prediction row, with the opt-out rule enforced where it is built.

An opt-out row keeps no inputs, no employee id, and no score that could be joined back to them. A row
scored from the online feature store also names the store's table version and as-of date (revision
0004): with them the features can be materialized again; they say nothing about the employee, so an
opt-out row keeps them too. A live answer's reasons (revision 0005: each input's contribution and the
sentences the answer gave) are kept with it, so what a manager was told can be shown later; an opt-out
row keeps none, since the sentences quote the inputs and the contributions lead back to them.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import orjson

OPT_OUT_DECIMALS = 2


def opt_out_probability(source: str, probability: float | None) -> float | None:
    """The score an opt-out row may keep: none for a batch score, two decimals for a live one.

    A stored score must not lead back to the person who opted out. A batch (fallback) answer is, to
    the last digit, a line of the nightly scores file next to its employee id, so that row keeps no
    score at all; the monitor never reads batch scores. A live score feeds the monitor's score-drift
    check, whose equal-width bins (Sturges' rule over the score range) are several hundredths wide,
    so it keeps two decimals: a value most often shared by many employees instead of pointing at
    one (the nightly file's tails can still hold a rare value alone).
    """
    if probability is None or source == "batch":
        return None
    return round(probability, OPT_OUT_DECIMALS)


def new_id() -> str:
    """A random UUID in text form: the id a caller gets back and later cites in a decision."""
    return str(uuid.uuid4())


def json_text(value: dict[str, Any]) -> str:
    """Sorted-key compact JSON for a stored column: orjson, 1 µs where json.dumps takes 12 for an answer's
    inputs and reasons (a tenth of /predict/batch's time per employee). Inputs are finite by the request
    schema (allow_inf_nan=False) and explanations are sums of finite scores, so orjson writing a NaN as
    null, where json.dumps would write a token only Python reads, never changes what is stored."""
    return orjson.dumps(value, default=_float_subclass, option=orjson.OPT_SORT_KEYS).decode("utf-8")


def _float_subclass(value: object) -> float:
    """What orjson leaves to its caller and json.dumps wrote as a float: a float subclass (NumPy's
    float64 among them, should a pickled model's explanation hand one over)."""
    if isinstance(value, float):
        return float(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def iso_utc(ts: float) -> str:
    """Unix seconds as ISO 8601 UTC with milliseconds (the human-readable `created_at`)."""
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds")


@dataclass(frozen=True)
class PredictionRow:
    """One answered prediction as it goes to the store (inputs, id and exact score dropped on opt-out)."""

    prediction_id: str
    ts: float
    caller: str
    endpoint: str
    model_version: str | None
    source: str
    opt_out: bool
    employee_id: str | None
    inputs: dict[str, object] | None
    probability: float | None
    decision: bool | None
    feature_table_version: int | None = None  # the online store's Delta version; None: features sent
    features_as_of: date | None = None  # the date the online features describe
    reasons: dict[str, Any] | None = None  # the answer's explanation (contributions, sentences)

    @classmethod
    def for_prediction(
        cls,
        *,
        caller: str,
        endpoint: str,
        model_version: str | None,
        source: str,
        opt_out: bool,
        employee_id: str | None,
        inputs: dict[str, object] | None,
        probability: float | None,
        decision: bool | None,
        ts: float | None = None,
        prediction_id: str | None = None,
        feature_table_version: int | None = None,
        features_as_of: date | None = None,
        reasons: dict[str, Any] | None = None,
    ) -> PredictionRow:
        """Build a row with a fresh prediction id; an opt-out keeps neither inputs, reasons nor employee
        id, and only a coarse live score (opt_out_probability)."""
        return cls(
            prediction_id=prediction_id or new_id(),
            ts=time.time() if ts is None else ts,
            caller=caller,
            endpoint=endpoint,
            model_version=model_version,
            source=source,
            opt_out=opt_out,
            employee_id=None if opt_out else employee_id,
            inputs=None if opt_out else inputs,
            probability=opt_out_probability(source, probability) if opt_out else probability,
            decision=decision,
            feature_table_version=feature_table_version,
            features_as_of=features_as_of,
            reasons=None if opt_out else reasons,
        )

    def values(self) -> dict[str, Any]:
        """Column values for attrition.audit.schema.predictions."""
        return {
            "prediction_id": self.prediction_id,
            "ts": self.ts,
            "created_at": iso_utc(self.ts),
            "caller": self.caller,
            "endpoint": self.endpoint,
            "model_version": self.model_version,
            "source": self.source,
            "opt_out": int(self.opt_out),
            "employee_id": None if self.opt_out else self.employee_id,
            "inputs": None if self.opt_out or self.inputs is None else json_text(self.inputs),
            "probability": opt_out_probability(self.source, self.probability)
            if self.opt_out
            else self.probability,
            "decision": None if self.decision is None else int(self.decision),
            "feature_table_version": self.feature_table_version,
            "features_as_of": None if self.features_as_of is None else self.features_as_of.isoformat(),
            "reasons": None if self.opt_out or self.reasons is None else json_text(self.reasons),
        }
