"""The scoring-or-fallback decision on in-memory collaborators: live, batch, or NoAnswerError."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from concurrent.futures import Future
from pathlib import Path

import pytest

from attrition.scorer import Row
from attrition.service.core.audit import AuditRecord
from attrition.service.core.batch_scores import BatchScoreRow, BatchScores
from attrition.service.core.metrics import ServiceMetrics
from attrition.service.core.model_state import ModelState
from attrition.service.core.scoring import (
    NoAnswerError,
    UnknownRoleError,
    check_roles,
    score_employees,
)
from attrition.service.schemas import EmployeeFeatures
from tests.support.service import SAMPLE_EMPLOYEE


class ListAudit:
    """An audit sink that keeps records in a list."""

    def __init__(self) -> None:
        self.records: list[AuditRecord] = []

    def start(self) -> None:
        pass

    def record(self, record: AuditRecord) -> None:
        self.records.append(record)

    def request_purge(self, older_than_s: float) -> Future[int]:
        done: Future[int] = Future()
        done.set_result(0)
        return done

    def close(self) -> None:
        pass


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


async def _score(state: ModelState | None, *employees: EmployeeFeatures) -> tuple[list[object], ListAudit]:
    audit = ListAudit()
    predictions = await score_employees(
        state=state,
        scores=SCORES,
        load_error=None if state else "package missing",
        audit=audit,
        metrics=ServiceMetrics(),
        caller="alice",
        employees=employees,
        endpoint="/predict",
    )
    return list(predictions), audit


def test_live_scores_are_audited_with_the_caller() -> None:
    predictions, audit = asyncio.run(_score(_state(), _employee(age=40), _employee(age=20)))
    assert [p.attrition_probability for p in predictions] == [0.4, 0.2]  # type: ignore[attr-defined]
    assert [p.decision for p in predictions] == [True, False]  # type: ignore[attr-defined]
    assert [r.caller for r in audit.records] == ["alice", "alice"]


def test_a_failing_scorer_falls_back_to_batch_scores() -> None:
    predictions, _ = asyncio.run(_score(_state(fail=True), _employee(employee_id="E1")))
    assert predictions[0].source == "batch"  # type: ignore[attr-defined]
    # The batch row came from another package, so no threshold is claimed for it.
    assert predictions[0].decision_threshold is None  # type: ignore[attr-defined]


def test_no_answer_for_one_employee_records_nothing() -> None:
    audit = ListAudit()
    with pytest.raises(NoAnswerError, match=r"employees\[1\]: model unavailable \(package missing\)"):
        asyncio.run(
            score_employees(
                state=None,
                scores=SCORES,
                load_error="package missing",
                audit=audit,
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
