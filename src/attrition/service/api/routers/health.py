"""Liveness, readiness and metrics: open to everyone (no token), as probes and scrapers expect.

Being open, readiness says what is wrong in fixed words only: the model loader's and the audit
store's own messages (package paths, database host and port) are in the service log.
"""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from attrition.service.api.deps import Runtime
from attrition.service.api.errors import public_audit_reason
from attrition.service.core.runtime import ServiceRuntime
from attrition.service.schemas import AuditReadiness, Health, OnlineFeaturesReadiness, Readiness

router = APIRouter(tags=["health"])
NO_MODEL = "no verified model is loaded (serving batch scores only; the reason is in the service log)"
NO_ONLINE_FEATURES = (
    "no online feature store is loaded (an employee_id alone cannot be scored; the reason is in the "
    "service log)"
)


def online_readiness(runtime: ServiceRuntime) -> OnlineFeaturesReadiness | None:
    """The online store's part of readiness; None when ATTRITION_ONLINE_FEATURES is not set.

    A failed reload keeps the previous store serving: still ready, but `ok` false and the reason
    (fixed wording) shown, so a stale store does not go unnoticed.
    """
    if runtime.settings.online_features is None:
        return None
    store, error = runtime.online, runtime.online_error
    reason = None
    if error is not None:
        kept = "" if store is None else "; the previously loaded store keeps serving"
        reason = f"the online feature file could not be loaded: {error}{kept}"
    return OnlineFeaturesReadiness(
        ok=store is not None and error is None,
        table_version=None if store is None else store.table_version,
        as_of=None if store is None else store.as_of,
        latest_extract=None if store is None else store.latest_extract,
        employees=0 if store is None else len(store),
        reason=reason,
    )


@router.get("/healthz", response_model=Health, summary="Liveness: the process answers")
async def healthz() -> Health:
    """Always 200 while the event loop runs, model or not."""
    return Health()


@router.get(
    "/readyz",
    response_model=Readiness,
    responses={
        503: {
            "model": Readiness,
            "description": "No verified model is loaded, the audit store has failed past its bound, "
            "or the configured online feature store was never loaded",
        }
    },
    summary="Readiness: 200 only when a verified model is loaded and the audit store commits",
)
async def readyz(runtime: Runtime) -> Response:
    """503 with the one-line reason while serving batch-score fallback only or failing closed, or
    while a configured online feature store has not been loaded (by-id requests cannot be scored).

    Failing closed: past ATTRITION_AUDIT_OUTAGE_BOUND_S of audit failures predictions are refused
    (503), so the load balancer should stop sending traffic here until the store is back.
    """
    health = runtime.audit.health()
    audit_reason = None if health.ok else public_audit_reason(health.reason)
    audit = AuditReadiness(
        ok=health.ok, backend=health.backend, pending_rows=health.pending_rows, reason=audit_reason
    )
    state = runtime.current
    online = online_readiness(runtime)
    no_online = NO_ONLINE_FEATURES if online is not None and online.table_version is None else None
    identity = runtime.verifier.key_problem()  # the OpenID provider's keys can no longer be trusted
    found = (None if state else NO_MODEL, audit_reason, no_online, identity)
    reasons = [reason for reason in found if reason]
    scorer = None
    if state is not None:
        scorer = state.scorer.reason if state.scorer.reason.startswith("compiled") else "pipeline"
    body = Readiness(
        status="not ready" if reasons or state is None else "ready",  # an identity problem too
        model_version=state.model_version if state else None,
        scorer=scorer,
        reason="; ".join(reasons) or None,
        batch_scores=len(runtime.scores.rows),
        audit=audit,
        online_features=online,
    )
    return JSONResponse(body.model_dump(mode="json"), status_code=200 if body.status == "ready" else 503)


@router.get(
    "/metrics",
    summary="Prometheus metrics (text exposition format)",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST.split(";")[0]: {}}, "description": "Prometheus text"}},
)
async def metrics(runtime: Runtime) -> Response:
    """Everything in the app's own registry."""
    return Response(generate_latest(runtime.metrics.registry), media_type=CONTENT_TYPE_LATEST)
