"""Liveness, readiness and metrics: open, and telling the truth about the loaded model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.support.service import (
    SAMPLE_EMPLOYEE,
    Server,
    bearer,
    make_token,
    serve_in_thread,
    settings_for,
)


def test_health_ready_and_metrics(live: Server, metadata: dict[str, Any]) -> None:
    version = metadata["model_version"]
    with live.client() as client:
        assert client.get("/healthz").json() == {"status": "alive"}
        ready = client.get("/readyz")
        assert ready.status_code == 200
        assert ready.json()["model_version"] == version
        assert ready.json()["scorer"] == "compiled (model.json)"  # served without unpickling
        assert ready.json()["audit"] == {"ok": True, "backend": "sqlite", "pending_rows": 0, "reason": None}
        client.post("/predict", json=SAMPLE_EMPLOYEE, headers=bearer(make_token()))
        client.post("/predict", json={**SAMPLE_EMPLOYEE, "age": 3}, headers=bearer(make_token()))
        text = client.get("/metrics").text
    assert 'attrition_http_requests_total{endpoint="/predict",method="POST",status="200"}' in text
    assert 'attrition_http_request_duration_seconds_bucket{endpoint="/predict",le="0.2"}' in text
    assert f'attrition_predictions_total{{model_version="{version}",source="model"}}' in text
    assert 'attrition_validation_errors_total{endpoint="/predict"}' in text
    assert "attrition_fallbacks_total" in text
    assert "attrition_model_loaded 1.0" in text
    assert "attrition_audit_records_written_total" in text


def test_missing_package_and_scores_still_start(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, tmp_path / "nope", tmp_path / "none.csv")
    with serve_in_thread(settings) as server, server.client() as client:
        ready = client.get("/readyz")
        assert ready.status_code == 503
        # The loader's message (with the path) is in the log; the open endpoint says only what is wrong.
        assert ready.json()["reason"].startswith("no verified model is loaded")
        assert str(tmp_path) not in ready.text
        reply = client.post(
            "/predict", json={**SAMPLE_EMPLOYEE, "employee_id": "E00001"}, headers=bearer(make_token())
        )
        assert reply.status_code == 503
        assert "E00001" in reply.json()["detail"]
