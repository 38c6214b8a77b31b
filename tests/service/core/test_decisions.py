"""Recording a decision through the service's store: 422 / 404 errors pass through, a store that is
failing closed or a database error becomes AuditUnavailableError (503), never a 500."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from attrition.audit.errors import AuditInputError, AuditUnavailableError, PredictionNotFoundError
from attrition.audit.records import PredictionRow
from attrition.audit.writer import AuditStore
from attrition.service.core.decisions import record_manager_decision
from attrition.service.schemas import DecisionRecord
from tests.support.service import SAMPLE_EMPLOYEE


@pytest.fixture
def store(tmp_path: Path) -> Iterator[AuditStore]:
    opened = AuditStore(str(tmp_path / "audit.sqlite"))
    opened.open()
    yield opened
    opened.close()


def _answered(store: AuditStore) -> str:
    row = PredictionRow.for_prediction(
        caller="alice",
        endpoint="/predict",
        model_version="v1",
        source="model",
        opt_out=False,
        employee_id="E1",
        inputs=dict(SAMPLE_EMPLOYEE),
        probability=0.4,
        decision=True,
    )
    store.record_blocking([row])
    return row.prediction_id


def _decide(
    store: AuditStore, prediction_id: str, action: str = "refer_to_hr", reason: str = " why "
) -> DecisionRecord:
    return asyncio.run(
        record_manager_decision(
            store, prediction_id=prediction_id, action=action, reason=reason, decided_by="manager-1"
        )
    )


def test_a_decision_is_stored_with_its_reason_stripped(store: AuditStore) -> None:
    prediction_id = _answered(store)
    stored = _decide(store, prediction_id)
    assert (stored.prediction_id, stored.reason, stored.decided_by) == (prediction_id, "why", "manager-1")


def test_input_and_not_found_errors_pass_through(store: AuditStore) -> None:
    with pytest.raises(AuditInputError) as error:
        _decide(store, _answered(store), action="fire")
    assert error.value.field == "action"
    with pytest.raises(PredictionNotFoundError):
        _decide(store, "00000000-0000-4000-8000-000000000000")


def test_a_database_error_is_unavailable_not_a_crash(store: AuditStore) -> None:
    prediction_id = _answered(store)
    with store.engine.begin() as connection:
        connection.execute(sa.text("DROP TABLE decisions"))
    with pytest.raises(AuditUnavailableError, match="decision not stored: no such table: decisions"):
        _decide(store, prediction_id)


def test_a_store_failing_closed_refuses_at_once(store: AuditStore) -> None:
    prediction_id = _answered(store)
    store.close()
    with pytest.raises(AuditUnavailableError, match="audit store closed"):
        _decide(store, prediction_id)
