"""The scoring-or-fallback decision for one request: live model, nightly batch score, or no answer.

Every employee in a request is scored against the one ModelState the request started with, with the
features resolved before (sent, or read from the online feature store: core/online_features.py). The
audit rows are built only once every employee has an answer (a request that ends in 503 half-way
leaves no trace), and the answer leaves only after `await audit.record(rows)` has returned, that is
after the rows are committed: a crash can lose only rows whose answer never left. Prediction metrics
count committed answers only.

A live answer carries why (its inputs' exact contributions and top reasons in words, from the package's
explainer), and its audit row keeps the same, so what the manager was told can be shown later. A batch
(fallback) answer carries none: the nightly score stands for a model the service could not load.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

from attrition.audit.records import PredictionRow, new_id
from attrition.modelpkg.explanation import Why
from attrition.service.core.batch_scores import BatchScores
from attrition.service.core.metrics import ServiceMetrics
from attrition.service.core.model_state import ModelState
from attrition.service.core.online_features import ResolvedFeatures, resolve_features
from attrition.service.core.runtime import AuditSink, ServiceRuntime
from attrition.service.schemas import (
    EmployeeFeatures,
    Prediction,
    PredictionExplanation,
    Reason,
    ScoredFeatures,
)

log = logging.getLogger("attrition.service.scoring")


class UnknownRoleError(ValueError):
    """An employee's job_role is not one the loaded model knows (the API answers 422).

    `field` is job_role for a role sent, employee_id for one read from the online feature store.
    """

    def __init__(
        self, index: int | None, job_role: str, roles: Sequence[str], field: str = "job_role"
    ) -> None:
        if field == "job_role":
            message = f"Input should be one of the model's job roles: {', '.join(roles)}"
        else:
            message = (
                f"the online feature store's job_role {job_role!r} for this employee is not one of the "
                f"model's job roles ({', '.join(roles)}); send all four features instead"
            )
        super().__init__(message)
        self.index = index  # position in a batch request; None for a single employee
        self.job_role = job_role
        self.field = field


class NoAnswerError(Exception):
    """No model and no batch score for an employee (the API answers 503 with this detail)."""


def check_roles(
    state: ModelState,
    employees: Sequence[EmployeeFeatures],
    batch: bool,
    resolved: Sequence[ResolvedFeatures] | None = None,
) -> None:
    """Roles are only known once a package is loaded, so this check follows pydantic's (and, for
    roles read from the online feature store, the lookup)."""
    for index, employee in enumerate(employees):
        where = index if batch else None
        if employee.job_role is not None:
            if employee.job_role not in state.role_set:
                raise UnknownRoleError(where, employee.job_role, state.job_roles)
            continue
        values = None if resolved is None else resolved[index].values
        if values is not None and values["job_role"] not in state.role_set:
            raise UnknownRoleError(where, str(values["job_role"]), state.job_roles, field="employee_id")


def feature_origin(resolved: ResolvedFeatures) -> dict[str, Any]:
    """The answer's fields saying where its features came from (and, when looked up, what they were)."""
    looked_up = resolved.source == "online_store" and resolved.values is not None
    return {
        "feature_source": resolved.source,
        "features": ScoredFeatures.model_validate(resolved.values) if looked_up else None,
        "feature_table_version": resolved.table_version,
        "features_as_of": resolved.as_of,
    }


def batch_answer(
    scores: BatchScores,
    current: ModelState | None,
    load_error: str | None,
    employee: EmployeeFeatures,
    reason: str,
    index: int | None,
    resolved: ResolvedFeatures | None = None,
) -> tuple[Prediction, float]:
    """Nightly batch score for a known employee_id, else NoAnswerError saying what would have helped."""
    row = scores.get(employee.employee_id)
    if row is None:
        where = "" if index is None else f"employees[{index}]: "
        # Public: the loader's own message (a path, a database address) stays in the log.
        why = "no verified model is loaded" if load_error or current is None else reason.replace("_", " ")
        if employee.employee_id is None:
            raise NoAnswerError(
                f"{where}model unavailable ({why}); send an employee_id to get the nightly batch score"
            )
        raise NoAnswerError(
            f"{where}model unavailable ({why}) and no batch score for employee_id {employee.employee_id}"
        )
    resolved = resolved or ResolvedFeatures(employee.features(), "request")
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
        prediction_id=new_id(),
        warnings=resolved.warnings(),
        **feature_origin(resolved),
    )
    return prediction, row.probability


async def live_probabilities(state: ModelState, rows: list[dict[str, object]]) -> list[float] | None:
    """The model's probabilities for feature rows, or None when the scorer fails (batch scores answer)."""
    try:
        if state.scorer.compiled:
            return state.scorer.predict_many(rows)
        # The pandas path takes milliseconds: keep it off the event loop.
        return await asyncio.to_thread(state.scorer.predict_many, rows)
    except Exception:  # a scorer bug must not become a 5xx while batch scores exist
        return None


def explain(state: ModelState, features: dict[str, object]) -> Why | None:
    """Why this live score, or None without an explainer or when explaining fails (the score stands)."""
    if state.explainer is None:
        return None
    try:
        return state.explainer.why(features)
    except Exception as error:  # an explainer bug must not cost the employee their score
        log.warning("no explanation for this answer: %s", type(error).__name__)  # no inputs in logs
        return None


def explanation_body(why: Why | None) -> PredictionExplanation | None:
    """The answer's `explanation` (unrounded, so it adds up to the unrounded probability)."""
    if why is None:
        return None
    return PredictionExplanation(
        baseline=why.explanation.baseline,
        contributions=why.explanation.as_dict(),
        reasons=[Reason(input=r.input, contribution=r.contribution, text=r.text) for r in why.reasons],
    )


async def score_employees(
    *,
    state: ModelState | None,
    scores: BatchScores,
    load_error: str | None,
    audit: AuditSink,
    metrics: ServiceMetrics,
    caller: str,
    employees: Sequence[EmployeeFeatures],
    endpoint: str,
    resolved: Sequence[ResolvedFeatures] | None = None,
) -> list[Prediction]:
    """Score every employee against one model state, commit their audit rows, then return.

    `resolved` holds each employee's features (online_features.resolve_features); without it every
    employee must have sent its own. Raises NoAnswerError (nothing recorded) when some employee has
    neither a live nor a batch score, and AuditUnavailableError (answer 503) when the rows cannot be
    committed.
    """
    if resolved is None:
        resolved = [ResolvedFeatures(employee.features(), "request") for employee in employees]
    features = [item.values for item in resolved]  # scored and audited alike
    probabilities = None
    if state is not None:
        inputs = [values for values in features if values is not None]
        if len(inputs) != len(features):
            raise ValueError("a model scores every employee: look up the by-id ones first")
        probabilities = await live_probabilities(state, inputs)
    predictions: list[Prediction] = []
    scored: list[float] = []
    whys: list[Why | None] = []
    fallback_reason = None
    for index, (employee, origin) in enumerate(zip(employees, resolved, strict=True)):
        if state is not None and probabilities is not None:
            probability = probabilities[index]
            why = explain(state, features[index] or {})
            prediction = Prediction(
                attrition_probability=round(probability, 4),
                decision=probability >= state.decision_threshold,
                decision_threshold=state.decision_threshold,
                model_version=state.model_version,
                source="model",
                employee_id=employee.employee_id,
                prediction_id=new_id(),
                warnings=origin.warnings(),
                explanation=explanation_body(why),
                **feature_origin(origin),
            )
        else:
            why = None
            fallback_reason = "model_unavailable" if state is None else "scoring_error"
            where = None if len(employees) == 1 else index
            prediction, probability = batch_answer(
                scores, state, load_error, employee, fallback_reason, where, origin
            )
        predictions.append(prediction)
        scored.append(probability)
        whys.append(why)
    rows = [
        PredictionRow.for_prediction(
            caller=caller,
            endpoint=endpoint,
            model_version=prediction.model_version,
            source=prediction.source,
            opt_out=employee.opt_out,
            employee_id=employee.employee_id,
            inputs=origin.values,
            probability=probability,
            decision=prediction.decision,
            prediction_id=prediction.prediction_id,
            feature_table_version=origin.table_version,
            features_as_of=origin.as_of,
            reasons=None if why is None else why.record(),
        )
        for employee, origin, prediction, probability, why in zip(
            employees, resolved, predictions, scored, whys, strict=True
        )
    ]
    await audit.record(rows)  # committed before anything is counted or answered
    for prediction in predictions:
        metrics.count_predictions(prediction.model_version, prediction.source)
    if fallback_reason is not None:
        metrics.fallbacks.labels(fallback_reason).inc(len(predictions))
    return predictions


async def score_request(
    runtime: ServiceRuntime, caller: str, employees: list[EmployeeFeatures], *, endpoint: str, batch: bool
) -> list[Prediction]:
    """One request's employees: features looked up for ids sent alone, roles checked against the model
    this request started with, then scored and audited. Without a model the batch scores answer by id:
    nothing to look up. The routers and the /predict fast path both score through here."""
    state = runtime.current  # read once: a reload mid-request does not affect this request
    resolved = resolve_features(
        employees,
        runtime.online,  # read once too: a whole batch is looked up in one store version
        configured=runtime.settings.online_features is not None,
        metrics=runtime.metrics,
        batch=batch,
        look_up=state is not None,
    )
    if state is not None:
        check_roles(state, employees, batch=batch, resolved=resolved)
    return await score_employees(
        state=state,
        scores=runtime.scores,
        load_error=runtime.load_error,
        audit=runtime.audit,
        metrics=runtime.metrics,
        caller=caller,
        employees=employees,
        endpoint=endpoint,
        resolved=resolved,
    )


async def record_lookup(
    audit: AuditSink,
    *,
    caller: str,
    employee_id: str,
    model_version: str,
    probability: float,
    decision: bool,
) -> str:
    """Audit a batch-score look-up (who read whose score, no inputs); its committed prediction_id."""
    row = PredictionRow.for_prediction(
        caller=caller,
        endpoint="/scores",
        model_version=model_version,
        source="batch",
        opt_out=False,
        employee_id=employee_id,
        inputs=None,
        probability=probability,
        decision=decision,
    )
    await audit.record([row])
    return row.prediction_id
