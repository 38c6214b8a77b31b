"""Where the monitor's rows come from: the service's audit store and the HR outcomes file.

Reading the store is isolated in `read_predictions`, which goes through attrition.audit.reader, so
either backend of ATTRITION_AUDIT_DB (a SQLite file or a shared PostgreSQL) gives the same frame.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from attrition.audit import reader
from attrition.audit.database import (
    SETTING,
    AuditDatabase,
    create_audit_engine,
    one_line,
    parse_audit_db,
)
from attrition.audit.errors import AuditConfigError
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


def _read_only_engine(database: AuditDatabase) -> Engine:
    """An engine that cannot write: SQLite opened with mode=ro (never created), PostgreSQL sessions
    in read-only transactions. The monitor only ever reads the service's store."""
    path = database.sqlite_path
    if path is None:
        return create_audit_engine(
            AuditDatabase(database.url.update_query_dict({"options": "-c default_transaction_read_only=on"}))
        )
    if not path.is_file():
        raise InputError(f"--audit-db {path}: no such audit store; point it at the service's {SETTING}")
    return sa.create_engine(f"sqlite:///file:{path.resolve()}?mode=ro&uri=true")


def read_predictions(url: str, since: float) -> pd.DataFrame:
    """Audited predictions made at or after unix time `since`, one row each, inputs expanded to columns.

    `url` is any ATTRITION_AUDIT_DB value (SQLite path, sqlite:///path, postgresql://...). Opt-out
    rows keep their score but have no inputs or employee id.
    """
    try:
        database = parse_audit_db(url)
    except AuditConfigError as error:
        raise InputError(f"--audit-db: {str(error).removeprefix(SETTING).lstrip(': ')}") from None
    engine = _read_only_engine(database)
    try:
        rows = reader.read_predictions(engine, since=since)
    except sa.exc.DBAPIError as error:
        raise InputError(
            f"--audit-db {database.display()}: not a readable audit store "
            f"({one_line(error.orig or error)}); is it at the current schema (`attrition audit migrate`)?"
        ) from None
    finally:
        engine.dispose()
    records: list[dict[str, Any]] = []
    for row in rows:
        features = row["inputs"] or {}
        records.append(
            {
                "ts": row["ts"],
                "model_version": row["model_version"],
                "source": row["source"],
                "opt_out": row["opt_out"],
                "employee_id": row["employee_id"],
                **{name: features.get(name) for name in FEATURES},
                "probability": row["probability"],
                "decision": row["decision"],
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
