"""Reading the service's audit store (either backend, through attrition.audit.reader) and the outcomes
file, and joining them."""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd
import pytest

from attrition.audit.records import PredictionRow
from attrition.monitor.predictions import InputError, join_outcomes, read_outcomes, read_predictions
from tests.support.monitoring import write_store
from tests.support.postgres import PostgresServer


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def audit_db(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty store URL on each backend in turn (what ATTRITION_AUDIT_DB holds)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'audit.sqlite'}"
    server: PostgresServer = request.getfixturevalue("postgres")
    return server.migrated_database()


def _row(employee_id: str, ts: float, *, opt_out: bool = False, probability: float = 0.4) -> PredictionRow:
    features: dict[str, object] = {
        "age": 40,
        "job_role": "Sales",
        "monthly_income": 5000.5,
        "years_at_company": 3,
    }
    return PredictionRow.for_prediction(
        caller="t",
        endpoint="/predict",
        model_version="v3-x",
        source="model",
        opt_out=opt_out,
        employee_id=employee_id,
        inputs=features,
        probability=probability,
        decision=probability >= 0.3,
        ts=ts,
    )


def test_reads_rows_since_a_time_with_inputs_expanded(audit_db: str) -> None:
    now = time.time()
    write_store(
        audit_db, [_row("E1", now - 10 * 86400), _row("E2", now - 60), _row("E3", now - 30, opt_out=True)]
    )
    frame = read_predictions(audit_db, now - 86400)
    assert frame.loc[0, "employee_id"] == "E2" and pd.isna(frame.loc[1, "employee_id"])
    assert frame.loc[0, "monthly_income"] == 5000.5 and frame.loc[0, "job_role"] == "Sales"
    assert pd.isna(frame.loc[1, "age"]) and frame.loc[1, "probability"] == 0.4  # opt-out keeps only its score
    assert frame["decision"].tolist() == [True, True]
    assert frame["opt_out"].tolist() == [False, True]


def test_the_monitor_cannot_write_to_the_store(audit_db: str) -> None:
    import sqlalchemy as sa

    from attrition.audit.database import parse_audit_db
    from attrition.monitor.predictions import _read_only_engine

    write_store(audit_db, [_row("E1", time.time())])
    engine = _read_only_engine(parse_audit_db(audit_db))
    try:
        with pytest.raises(sa.exc.DBAPIError, match=r"read-only|readonly"), engine.begin() as connection:
            connection.execute(sa.text("DELETE FROM predictions"))
    finally:
        engine.dispose()
    assert len(read_predictions(audit_db, 0)) == 1


def test_a_missing_store_is_one_line_and_never_created(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such audit store"):
        read_predictions(str(tmp_path / "absent.sqlite"), 0)
    assert not (tmp_path / "absent.sqlite").exists()


def test_a_malformed_url_is_one_line_naming_the_flag() -> None:
    with pytest.raises(InputError, match=r"^--audit-db: scheme 'mysql' is not supported; allowed"):
        read_predictions("mysql://localhost/audit", 0)


def test_a_file_that_is_not_a_store_is_one_line(tmp_path: Path) -> None:
    junk = tmp_path / "junk.sqlite"
    junk.write_text("not sqlite")
    with pytest.raises(InputError, match="not a readable audit store"):
        read_predictions(str(junk), 0)


def _outcomes(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "outcomes.csv"
    path.write_text(text)
    return path


def test_outcomes_are_validated(tmp_path: Path) -> None:
    good = read_outcomes(
        _outcomes(tmp_path, "employee_id,attrition,observed_at\nE1,1,2026-11-01T00:00:00+00:00\n")
    )
    assert good["attrition"].tolist() == [1]
    for text, message in [
        ("employee_id,attrition\nE1,1\n", "missing column"),
        ("employee_id,attrition,observed_at\nE1,2,2026-11-01\n", "must be 0 or 1"),
        ("employee_id,attrition,observed_at\nE1,1,yesterday\n", "ISO 8601"),
    ]:
        with pytest.raises(InputError, match=message):
            read_outcomes(_outcomes(tmp_path, text))


def test_join_uses_each_employees_latest_prediction_and_outcome() -> None:
    predictions = pd.DataFrame(
        {
            "employee_id": ["E1", "E1", "E2", None],
            "ts": [1.0, 2.0, 1.0, 1.0],
            "decision": [False, True, True, True],
        }
    )
    outcomes = pd.DataFrame(
        {
            "employee_id": ["E1", "E3", "E1"],
            "attrition": [0, 1, 1],
            "observed_at": pd.to_datetime(["2026-01-01", "2026-01-01", "2026-02-01"], utc=True),
        }
    )
    joined, counts = join_outcomes(predictions, outcomes)
    assert joined[["employee_id", "decision", "attrition"]].values.tolist() == [["E1", True, 1]]
    assert counts["predictions_without_outcome"] == 1 and counts["outcomes_without_prediction"] == 1
