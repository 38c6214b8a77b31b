"""The scoring-or-fallback decision on in-memory collaborators: live, batch, or NoAnswerError; the
audit rows are committed (awaited) before the predictions are returned, and a refusal returns none."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from attrition.audit.errors import AuditUnavailableError
from attrition.modelpkg.scorer import Row
from attrition.service.core.batch_scores import BatchScoreRow, BatchScores
from attrition.service.core.metrics import ServiceMetrics
from attrition.service.core.model_state import ModelState
from attrition.service.core.online_features import ResolvedFeatures
from attrition.service.core.scoring import (
    NoAnswerError,
    UnknownRoleError,
    check_roles,
    score_employees,
)
from attrition.service.schemas import EmployeeFeatures
from tests.support.service import SAMPLE_EMPLOYEE, ListAudit


class AgeScorer:
    """A compiled-style scorer: probability = age / 100 (or a failure on demand)."""

    compiled = True
    reason = "compiled"

    def __init__(self, fail: bool = False) -> None:
        self.fail = fail

    def predict_one(self, row: Row) -> float:
        if self.fail:
            raise RuntimeError("scorer bug")
        return float(row["age"]) / 100

    def predict_many(self, rows: Sequence[Row]) -> list[float]:
        return [self.predict_one(row) for row in rows]


def _state(fail: bool = False) -> ModelState:
    roles = ("Sales", "HR")
    return ModelState("v1", 0.3, roles, frozenset(roles), AgeScorer(fail), Path("pkg"), 0.0)  # type: ignore[arg-type]


def _employee(**changes: object) -> EmployeeFeatures:
    return EmployeeFeatures.model_validate({**SAMPLE_EMPLOYEE, **changes})


SCORES = BatchScores(rows={"E1": BatchScoreRow(0.9, True, "v0")})
METRICS = ServiceMetrics()


async def _score(
    state: ModelState | None, *employees: EmployeeFeatures, audit: ListAudit | None = None
) -> tuple[list[Any], ListAudit]:
    audit = audit or ListAudit()
    predictions = await score_employees(
        state=state,
        scores=SCORES,
        load_error=None if state else "package missing",
        audit=audit,  # type: ignore[arg-type]
        metrics=METRICS,
        caller="alice",
        employees=employees,
        endpoint="/predict",
    )
    return list(predictions), audit


def test_live_scores_are_audited_with_the_caller_and_their_prediction_ids() -> None:
    predictions, audit = asyncio.run(_score(_state(), _employee(age=40), _employee(age=20)))
    assert [p.attrition_probability for p in predictions] == [0.4, 0.2]
    assert [p.decision for p in predictions] == [True, False]
    assert [r.caller for r in audit.records] == ["alice", "alice"]
    assert [r.prediction_id for r in audit.records] == [p.prediction_id for p in predictions]
    assert len({p.prediction_id for p in predictions}) == 2
    assert [r.probability for r in audit.records] == [0.4, 0.2]


def test_opt_out_rows_carry_neither_inputs_nor_employee_id() -> None:
    _, audit = asyncio.run(_score(_state(), _employee(employee_id="E7", opt_out=True)))
    (row,) = audit.records
    assert (row.opt_out, row.inputs, row.employee_id, row.probability) == (True, None, None, 0.34)


def _counted(source: str) -> float:
    value = METRICS.registry.get_sample_value(
        "attrition_predictions_total", {"model_version": "v1", "source": source}
    )
    return value or 0.0


def test_a_refused_commit_answers_nothing_and_counts_nothing() -> None:
    before = _counted("model")
    with pytest.raises(AuditUnavailableError, match="bound 10 s"):
        asyncio.run(_score(_state(), _employee(), audit=ListAudit(refuse=True)))
    assert _counted("model") == before
    asyncio.run(_score(_state(), _employee()))
    assert _counted("model") == before + 1


def test_implausible_tenure_is_scored_with_a_warning() -> None:
    predictions, audit = asyncio.run(
        _score(_state(), _employee(age=20, years_at_company=9), _employee(age=40, years_at_company=24))
    )
    assert predictions[0].warnings == ["years_at_company (9) exceeds age - 16 (4)"]
    assert predictions[1].warnings == []
    assert len(audit.records) == 2


def test_a_failing_scorer_falls_back_to_batch_scores() -> None:
    predictions, _ = asyncio.run(_score(_state(fail=True), _employee(employee_id="E1")))
    assert predictions[0].source == "batch"
    # The batch row came from another package, so no threshold is claimed for it.
    assert predictions[0].decision_threshold is None


def test_no_answer_for_one_employee_records_nothing() -> None:
    audit = ListAudit()
    # The loader's own message ("package missing") is not for the public answer: it is in the log.
    with pytest.raises(
        NoAnswerError, match=r"employees\[1\]: model unavailable \(no verified model is loaded\)"
    ):
        asyncio.run(
            score_employees(
                state=None,
                scores=SCORES,
                load_error="package missing",
                audit=audit,  # type: ignore[arg-type]
                metrics=ServiceMetrics(),
                caller="alice",
                employees=[_employee(employee_id="E1"), _employee(employee_id="E2")],
                endpoint="/predict/batch",
            )
        )
    assert audit.records == []


def test_unknown_roles_name_their_position() -> None:
    check_roles(_state(), [_employee()], batch=False)
    with pytest.raises(UnknownRoleError) as error:
        check_roles(_state(), [_employee(), _employee(job_role="Pilot")], batch=True)
    assert (error.value.index, error.value.job_role) == (1, "Pilot")
    assert "Sales, HR" in str(error.value)


STORE_FEATURES: dict[str, object] = {
    "age": 50,
    "job_role": "HR",
    "monthly_income": 4100.0,
    "years_at_company": 40,
}


def test_features_from_the_online_store_are_scored_returned_and_audited_with_their_version() -> None:
    by_id = EmployeeFeatures.model_validate({"employee_id": "E5"})
    looked_up = ResolvedFeatures(STORE_FEATURES, "online_store", 12, date(2024, 3, 31))
    audit = ListAudit()
    (prediction,) = asyncio.run(
        score_employees(
            state=_state(),
            scores=SCORES,
            load_error=None,
            audit=audit,  # type: ignore[arg-type]
            metrics=METRICS,
            caller="alice",
            employees=[by_id],
            endpoint="/predict",
            resolved=[looked_up],
        )
    )
    assert prediction.attrition_probability == 0.5  # AgeScorer: the store's age, not the request's
    assert prediction.feature_source == "online_store"
    assert prediction.features is not None and prediction.features.model_dump() == STORE_FEATURES
    assert (prediction.feature_table_version, prediction.features_as_of) == (12, date(2024, 3, 31))
    assert prediction.warnings == ["years_at_company (40) exceeds age - 16 (34)"]
    (row,) = audit.records
    assert (row.inputs, row.employee_id, row.feature_table_version) == (STORE_FEATURES, "E5", 12)
    assert row.values()["features_as_of"] == "2024-03-31"


def test_a_request_answer_says_its_features_were_the_callers() -> None:
    predictions, audit = asyncio.run(_score(_state(), _employee()))
    assert (predictions[0].feature_source, predictions[0].features, predictions[0].features_as_of) == (
        "request",
        None,
        None,
    )
    assert audit.records[0].feature_table_version is None


def test_a_role_from_the_online_store_the_model_does_not_know_names_the_employee_id() -> None:
    by_id = EmployeeFeatures.model_validate({"employee_id": "E5"})
    unknown = ResolvedFeatures({**STORE_FEATURES, "job_role": "Pilot"}, "online_store", 12, date(2024, 3, 31))
    with pytest.raises(UnknownRoleError) as error:
        check_roles(
            _state(), [_employee(), by_id], batch=True, resolved=[ResolvedFeatures(None, None), unknown]
        )
    assert (error.value.index, error.value.field, error.value.job_role) == (1, "employee_id", "Pilot")
    assert "online feature store's job_role 'Pilot'" in str(error.value)
