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
from attrition.service.schemas import AuditReadiness, Health, Readiness

router = APIRouter(tags=["health"])
NO_MODEL = "no verified model is loaded (serving batch scores only; the reason is in the service log)"


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
            "description": "No verified model is loaded, or the audit store has failed past its bound",
        }
    },
    summary="Readiness: 200 only when a verified model is loaded and the audit store commits",
)
async def readyz(runtime: Runtime) -> Response:
    """503 with the one-line reason while serving batch-score fallback only or failing closed.

    Failing closed: past ATTRITION_AUDIT_OUTAGE_BOUND_S of audit failures predictions are refused
    (503), so the load balancer should stop sending traffic here until the store is back.
    """
    health = runtime.audit.health()
    audit_reason = None if health.ok else public_audit_reason(health.reason)
    audit = AuditReadiness(
        ok=health.ok, backend=health.backend, pending_rows=health.pending_rows, reason=audit_reason
    )
    state = runtime.current
    reasons = [reason for reason in (None if state else NO_MODEL, audit_reason) if reason]
    scorer = None
    if state is not None:
        scorer = state.scorer.reason if state.scorer.reason.startswith("compiled") else "pipeline"
    body = Readiness(
        status="not ready" if reasons or state is None else "ready",
        model_version=state.model_version if state else None,
        scorer=scorer,
        reason="; ".join(reasons) or None,
        batch_scores=len(runtime.scores.rows),
        audit=audit,
    )
    return JSONResponse(body.model_dump(), status_code=200 if body.status == "ready" else 503)


@router.get(
    "/metrics",
    summary="Prometheus metrics (text exposition format)",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST.split(";")[0]: {}}, "description": "Prometheus text"}},
)
async def metrics(runtime: Runtime) -> Response:
    """Everything in the app's own registry."""
    return Response(generate_latest(runtime.metrics.registry), media_type=CONTENT_TYPE_LATEST)
