"""Reading the history back: what the monitor (drift, decay, fairness) needs, from either backend."""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from attrition.audit.schema import predictions


def read_predictions(
    engine: Engine, *, since: float | None = None, until: float | None = None, limit: int | None = None
) -> list[dict[str, Any]]:
    """Predictions with since <= ts < until, oldest first; `inputs` parsed (None for opt-outs)."""
    statement = sa.select(predictions).order_by(predictions.c.ts, predictions.c.id)
    if since is not None:
        statement = statement.where(predictions.c.ts >= since)
    if until is not None:
        statement = statement.where(predictions.c.ts < until)
    if limit is not None:
        statement = statement.limit(limit)
    with engine.connect() as connection:
        rows = [dict(row._mapping) for row in connection.execute(statement)]
    return [decode_prediction(row) for row in rows]


def decode_prediction(row: dict[str, Any]) -> dict[str, Any]:
    """A stored prediction row back as Python values: inputs and reasons from JSON, flags as booleans.

    The reasons (revision 0005) are what the answer told the manager: a subject access export shows them.
    """
    row["inputs"] = None if row["inputs"] is None else json.loads(row["inputs"])
    row["reasons"] = None if row.get("reasons") is None else json.loads(row["reasons"])
    row["opt_out"] = bool(row["opt_out"])
    row["decision"] = None if row["decision"] is None else bool(row["decision"])
    return row
