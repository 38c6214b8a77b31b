"""POST /predict and /predict/batch: live scores, or nightly batch scores when no model is loaded."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from fastapi import APIRouter, HTTPException, Response
from fastapi.exceptions import RequestValidationError

from attrition.service.audit import AuditRecord
from attrition.service.auth import SCOPE_PREDICT, Caller, auth_responses, security_requirement
from attrition.service.deps import PredictAccess
from attrition.service.runtime import ModelState, ServiceRuntime
from attrition.service.schemas import (
    MAX_BATCH,
    BatchPrediction,
    BatchRequest,
    EmployeeFeatures,
    ErrorResponse,
    Prediction,
)

router = APIRouter(tags=["predict"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    **auth_responses(SCOPE_PREDICT),
    413: {"model": ErrorResponse, "description": "Body larger than the configured limit"},
    415: {"model": ErrorResponse, "description": "Body is not application/json"},
    422: {"model": ErrorResponse, "description": "Invalid input; `detail` names the field"},
    503: {"model": ErrorResponse, "description": "No model loaded and no batch score for the employee_id"},
}


def _check_roles(state: ModelState, employees: Sequence[EmployeeFeatures], batch: bool) -> None:
    """Roles are only known once a package is loaded, so this check follows pydantic's."""
    for index, employee in enumerate(employees):
        if employee.job_role not in state.role_set:
            loc: tuple[str | int, ...] = (
                ("body", "employees", index, "job_role") if batch else ("body", "job_role")
            )
            raise RequestValidationError(
                [
                    {
                        "type": "enum",
                        "loc": loc,
                        "msg": f"Input should be one of the model's job roles: {', '.join(state.job_roles)}",
                        "input": employee.job_role,
                    }
                ]
            )


def _fallback(
    runtime: ServiceRuntime, employee: EmployeeFeatures, reason: str, index: int | None
) -> tuple[Prediction, float]:
    """Nightly batch score for a known employee_id, else 503 saying what would have helped."""
    row = runtime.scores.get(employee.employee_id)
    if row is None:
        where = "" if index is None else f"employees[{index}]: "
        why = runtime.load_error or reason
        if employee.employee_id is None:
            detail = f"{where}model unavailable ({why}); send an employee_id to get the nightly batch score"
        else:
            detail = (
                f"{where}model unavailable ({why}) and no batch score for employee_id {employee.employee_id}"
            )
        raise HTTPException(status_code=503, detail=detail, headers={"Retry-After": "30"})
    current = runtime.current
    prediction = Prediction(
        attrition_probability=round(row.probability, 4),
        decision=row.decision,
        # The threshold belongs to a package; only report it when that package made the score.
        decision_threshold=(
            current.decision_threshold if current and current.model_version == row.model_version else None
        ),
        model_version=row.model_version,
        source="batch",
        employee_id=employee.employee_id,
    )
    return prediction, row.probability


async def _score(
    runtime: ServiceRuntime,
    state: ModelState | None,
    caller: Caller,
    employees: Sequence[EmployeeFeatures],
    endpoint: str,
) -> list[Prediction]:
    """Score every employee against one model state, then queue their audit records."""
    predictions: list[Prediction] = []
    probabilities: list[float] | None = None
    if state is not None:
        rows = [employee.features() for employee in employees]
        try:
            if state.scorer.compiled:
                probabilities = state.scorer.predict_many(rows)
            else:  # the pandas path takes milliseconds: keep it off the event loop
                probabilities = await asyncio.to_thread(state.scorer.predict_many, rows)
        except Exception:  # a scorer bug must not become a 5xx while batch scores exist
            probabilities = None
    scored: list[float] = []
    fallback_reason = None
    for index, employee in enumerate(employees):
        if state is not None and probabilities is not None:
            probability = probabilities[index]
            prediction = Prediction(
                attrition_probability=round(probability, 4),
                decision=probability >= state.decision_threshold,
                decision_threshold=state.decision_threshold,
                model_version=state.model_version,
                source="model",
                employee_id=employee.employee_id,
            )
        else:
            fallback_reason = "model_unavailable" if state is None else "scoring_error"
            prediction, probability = _fallback(
                runtime, employee, fallback_reason, None if len(employees) == 1 else index
            )
        predictions.append(prediction)
        scored.append(probability)
    # Side effects only once every employee has an answer: a 503 half-way records nothing.
    for employee, prediction, probability in zip(employees, predictions, scored, strict=True):
        runtime.audit.record(
            AuditRecord.for_prediction(
                caller=caller.subject,
                endpoint=endpoint,
                model_version=prediction.model_version,
                source=prediction.source,
                opt_out=employee.opt_out,
                employee_id=employee.employee_id,
                inputs=employee.features(),
                probability=probability,
                decision=prediction.decision,
            )
        )
        runtime.metrics.count_predictions(prediction.model_version, prediction.source)
    if fallback_reason is not None:
        runtime.metrics.fallbacks.labels(fallback_reason).inc(len(predictions))
    return predictions


@router.post(
    "/predict",
    response_model=Prediction,
    responses=_ERRORS,
    openapi_extra=security_requirement(SCOPE_PREDICT),
    summary="Attrition probability for one employee",
)
async def predict(employee: EmployeeFeatures, access: PredictAccess) -> Response:
    """Live score from the verified model; batch score (source=batch) if no model is loaded."""
    runtime, caller = access.runtime, access.caller
    state = runtime.current  # read once: a reload mid-request does not affect this request
    if state is not None:
        _check_roles(state, [employee], batch=False)
    prediction = (await _score(runtime, state, caller, [employee], "/predict"))[0]
    # Prediction was validated when it was built; serialising it directly skips FastAPI's second
    # validation pass against response_model (documented in the schema all the same).
    return Response(prediction.model_dump_json(), media_type="application/json")


@router.post(
    "/predict/batch",
    response_model=BatchPrediction,
    responses=_ERRORS,
    openapi_extra=security_requirement(SCOPE_PREDICT),
    summary=f"Attrition probabilities for 1 to {MAX_BATCH} employees",
)
async def predict_batch(request: BatchRequest, access: PredictAccess) -> BatchPrediction:
    """All-or-nothing: one invalid employee makes the whole request a 422 naming its index."""
    runtime, caller = access.runtime, access.caller
    state = runtime.current
    if state is not None:
        _check_roles(state, request.employees, batch=True)
    return BatchPrediction(
        predictions=await _score(runtime, state, caller, request.employees, "/predict/batch")
    )
