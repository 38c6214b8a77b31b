"""Reading the service's audit store (its real schema) and the outcomes file, and joining them."""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd
import pytest

from attrition.monitor.predictions import InputError, join_outcomes, read_outcomes, read_predictions
from attrition.service.core.audit import _INSERT, AuditRecord, connect


def _store(path: Path, records: list[AuditRecord]) -> Path:
    connection = connect(path)
    with connection:
        connection.executemany(_INSERT, [r.row() for r in records])
    connection.close()
    return path


def _record(employee_id: str, ts: float, *, opt_out: bool = False, probability: float = 0.4) -> AuditRecord:
    features = {"age": 40, "job_role": "Sales", "monthly_income": 5000.5, "years_at_company": 3}
    record = AuditRecord.for_prediction(
        caller="t",
        endpoint="/predict",
        model_version="v3-x",
        source="model",
        opt_out=opt_out,
        employee_id=employee_id,
        inputs=features,
        probability=probability,
        decision=probability >= 0.3,
    )
    return AuditRecord(**{**record.__dict__, "ts": ts})


def test_reads_rows_since_a_time_with_inputs_expanded(tmp_path: Path) -> None:
    now = time.time()
    db = _store(
        tmp_path / "audit.sqlite",
        [_record("E1", now - 10 * 86400), _record("E2", now - 60), _record("E3", now - 30, opt_out=True)],
    )
    frame = read_predictions(f"sqlite:///{db}", now - 86400)
    assert frame.loc[0, "employee_id"] == "E2" and pd.isna(frame.loc[1, "employee_id"])
    assert frame.loc[0, "monthly_income"] == 5000.5 and frame.loc[0, "job_role"] == "Sales"
    assert pd.isna(frame.loc[1, "age"]) and frame.loc[1, "probability"] == 0.4  # opt-out keeps only its score
    assert frame["decision"].tolist() == [True, True]


def test_a_missing_store_is_one_line_and_never_created(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such audit store"):
        read_predictions(str(tmp_path / "absent.sqlite"), 0)
    assert not (tmp_path / "absent.sqlite").exists()


def test_a_postgres_url_is_refused_until_the_shared_store_lands(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="unsupported URL"):
        read_predictions("postgresql://localhost/audit", 0)


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
