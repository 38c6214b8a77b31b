"""Where the monitor's rows come from: the service's audit store and the HR outcomes file.

Reading the store is isolated in `read_predictions` so pointing the monitor at another backend (the
PostgreSQL audit store of issue 12) changes one function. Today's schema is the SQLite `predictions`
table written by the service (src/attrition/service/audit.py).
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pandas as pd

from attrition.dataset import FEATURES

PREDICTION_COLUMNS = [
    "ts",
    "model_version",
    "source",
    "opt_out",
    "employee_id",
    *FEATURES,
    "probability",
    "decision",
]
OUTCOME_COLUMNS = ["employee_id", "attrition", "observed_at"]


class InputError(ValueError):
    """An audit store or outcomes file the monitor cannot use (one-line message)."""


def _sqlite_path(url: str) -> Path:
    if url.startswith("sqlite:///"):
        return Path(url.removeprefix("sqlite:///"))
    if "://" in url:
        raise InputError(f"--audit-db {url}: unsupported URL; use a SQLite path or sqlite:///PATH")
    return Path(url)


def read_predictions(url: str, since: float) -> pd.DataFrame:
    """Audited predictions made at or after unix time `since`, one row each, inputs expanded to columns.

    Opened read-only, so the monitor can never write to (or create) the service's store. Opt-out rows
    keep their score but have no inputs or employee id.
    """
    path = _sqlite_path(url)
    if not path.is_file():
        raise InputError(
            f"--audit-db {path}: no such audit store; point it at the service's ATTRITION_AUDIT_DB"
        )
    try:
        connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            rows = connection.execute(
                "SELECT ts, model_version, source, opt_out, employee_id, inputs, probability, decision"
                " FROM predictions WHERE ts >= ? ORDER BY ts",
                (since,),
            ).fetchall()
        finally:
            connection.close()
    except sqlite3.Error as error:
        raise InputError(f"--audit-db {path}: not a readable audit store ({error})") from None
    records: list[dict[str, Any]] = []
    for ts, version, source, opt_out, employee_id, inputs, probability, decision in rows:
        features = json.loads(inputs) if inputs else {}
        records.append(
            {
                "ts": ts,
                "model_version": version,
                "source": source,
                "opt_out": bool(opt_out),
                "employee_id": employee_id,
                **{name: features.get(name) for name in FEATURES},
                "probability": probability,
                "decision": None if decision is None else bool(decision),
            }
        )
    frame = pd.DataFrame.from_records(records, columns=PREDICTION_COLUMNS)
    for column in ("age", "monthly_income", "years_at_company", "probability", "ts"):
        frame[column] = pd.to_numeric(frame[column])
    return frame


def read_outcomes(path: Path) -> pd.DataFrame:
    """The HR system's outcomes: employee_id, attrition (0 or 1), observed_at (ISO 8601)."""
    try:
        frame = pd.read_csv(path, dtype={"employee_id": str})
    except FileNotFoundError:
        raise InputError(f"--outcomes {path}: file not found") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        raise InputError(f"--outcomes {path}: not a readable CSV ({str(error).splitlines()[0]})") from None
    missing = [c for c in OUTCOME_COLUMNS if c not in frame.columns]
    if missing:
        raise InputError(
            f"--outcomes {path}: missing column(s) {', '.join(missing)}; expected {','.join(OUTCOME_COLUMNS)}"
        )
    labels = pd.to_numeric(frame["attrition"], errors="coerce")
    if not labels.isin([0, 1]).all():
        raise InputError(f"--outcomes {path}: column attrition must be 0 or 1 in every row")
    observed = pd.to_datetime(frame["observed_at"], errors="coerce", utc=True, format="ISO8601")
    if observed.isna().any() or frame["employee_id"].isna().any():
        raise InputError(f"--outcomes {path}: every row needs an employee_id and an ISO 8601 observed_at")
    return pd.DataFrame(
        {"employee_id": frame["employee_id"], "attrition": labels.astype(int), "observed_at": observed}
    )


def join_outcomes(predictions: pd.DataFrame, outcomes: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, int]]:
    """Each employee's latest prediction with their latest outcome, plus the counts that did not join.

    An employee scored several times is judged on the latest score (the one HR acted on last);
    predictions without an outcome are not yet labelled and are left out, and so are outcomes for
    employees the window has no prediction for.
    """
    identified = predictions.dropna(subset=["employee_id"])
    latest = identified.sort_values("ts").drop_duplicates("employee_id", keep="last")
    final = outcomes.sort_values("observed_at").drop_duplicates("employee_id", keep="last")
    joined = latest.merge(final, on="employee_id", how="inner", validate="one_to_one")
    counts = {
        "predictions": len(predictions),
        "employees_predicted": len(latest),
        "outcomes": len(final),
        "joined": len(joined),
        "predictions_without_outcome": len(latest) - len(joined),
        "outcomes_without_prediction": len(final) - len(joined),
    }
    return joined, counts
