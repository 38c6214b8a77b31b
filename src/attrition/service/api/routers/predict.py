"""POST /predict and /predict/batch: live scores, or nightly batch scores when no model is loaded.

An employee is sent with all four features (scored as sent) or as an employee_id alone (scored with
the online feature store's features for that id, which the answer returns with their origin).

Under `attrition serve` the common POST /predict (valid body, authorised caller) is answered by the
fast path in front of the app (api/fast_predict.py) through the same scoring; this route answers the
rest, documents the endpoint in OpenAPI, and is the reference the tests hold the fast path to.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from attrition.service.api.deps import PredictAccess
from attrition.service.api.openapi import auth_responses, security_requirement
from attrition.service.core.scoring import score_request
from attrition.service.core.tokens import SCOPE_PREDICT
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
    404: {
        "model": ErrorResponse,
        "description": "An employee_id sent alone that the online feature store does not know",
    },
    410: {
        "model": ErrorResponse,
        "description": "An employee_id sent alone of an employee who had left by the store's as-of date",
    },
    422: {
        "model": ErrorResponse,
        "description": "Invalid input, some but not all four features, or an employee_id alone while "
        "this service has no online feature store (ATTRITION_ONLINE_FEATURES); `detail` names the field",
    },
    503: {
        "model": ErrorResponse,
        "description": "No model loaded and no batch score for the employee_id; an employee_id alone "
        "while the configured online feature store is not loaded; or the audit store cannot commit "
        "the prediction (fail closed: no answer goes out unaudited)",
    },
}


@router.post(
    "/predict",
    response_model=Prediction,
    responses=_ERRORS,
    openapi_extra=security_requirement(SCOPE_PREDICT),
    summary="Attrition probability for one employee",
)
async def predict(employee: EmployeeFeatures, access: PredictAccess) -> Response:
    """Live score from the verified model; batch score (source=batch) if no model is loaded.

    The score depends only on age, job_role, monthly_income and years_at_company. Sent with them,
    `employee_id` is echoed and audited, never looked up, so an id unknown to the roster still gets
    a 200 and its score. Sent alone, the employee's current features are read from the online
    feature store and scored; the answer returns them (`features`) with the store's table version
    and as-of date. 404 if the store does not know the id, 410 if the employee has left. While no
    model is loaded the id selects the nightly batch score either way.
    """
    predictions = await score_request(
        access.runtime, access.caller.subject, [employee], endpoint="/predict", batch=False
    )
    # Prediction was validated when it was built; serialising it directly skips FastAPI's second
    # validation pass against response_model (documented in the schema all the same).
    return Response(predictions[0].model_dump_json(), media_type="application/json")


@router.post(
    "/predict/batch",
    response_model=BatchPrediction,
    responses=_ERRORS,
    openapi_extra=security_requirement(SCOPE_PREDICT),
    summary=f"Attrition probabilities for 1 to {MAX_BATCH} employees",
)
async def predict_batch(request: BatchRequest, access: PredictAccess) -> BatchPrediction:
    """All-or-nothing: one invalid employee (or one id the online store cannot answer) fails the
    whole request, naming its index. Each item is all four features or an employee_id alone."""
    predictions = await score_request(
        access.runtime, access.caller.subject, request.employees, endpoint="/predict/batch", batch=True
    )
    return BatchPrediction(predictions=predictions)
