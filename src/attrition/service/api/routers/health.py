"""Liveness, readiness and metrics: open to everyone (no token), as probes and scrapers expect."""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from attrition.service.api.deps import Runtime
from attrition.service.schemas import Health, Readiness

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Health, summary="Liveness: the process answers")
async def healthz() -> Health:
    """Always 200 while the event loop runs, model or not."""
    return Health()


@router.get(
    "/readyz",
    response_model=Readiness,
    responses={503: {"model": Readiness, "description": "No verified model is loaded"}},
    summary="Readiness: 200 only when a verified model is loaded",
)
async def readyz(runtime: Runtime) -> Response:
    """503 while serving batch-score fallback only, with the one-line reason."""
    state = runtime.current
    if state is None:
        body = Readiness(status="not ready", reason=runtime.load_error, batch_scores=len(runtime.scores.rows))
        return JSONResponse(body.model_dump(), status_code=503)
    body = Readiness(
        status="ready",
        model_version=state.model_version,
        scorer=state.scorer.reason,
        batch_scores=len(runtime.scores.rows),
    )
    return JSONResponse(body.model_dump())


@router.get(
    "/metrics",
    summary="Prometheus metrics (text exposition format)",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST.split(";")[0]: {}}, "description": "Prometheus text"}},
)
async def metrics(runtime: Runtime) -> Response:
    """Everything in the app's own registry."""
    return Response(generate_latest(runtime.metrics.registry), media_type=CONTENT_TYPE_LATEST)
