"""Prediction, batch, score look-up, validation and metrics against a real uvicorn server."""

from __future__ import annotations

import csv
import json
import socket
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import joblib
import pandas as pd
import pytest

from attrition.dataset import FEATURES
from attrition.service.schemas import MAX_BATCH
from tests.service.conftest import Server, bearer, make_token, serve_in_thread, settings_for

GOOD = {"age": 34, "job_role": "Sales", "monthly_income": 3200.5, "years_at_company": 2}


@pytest.fixture(scope="module")
def pipeline(model_package: Path) -> Any:
    return joblib.load(model_package / "model.joblib")


@pytest.fixture(scope="module")
def metadata(model_package: Path) -> dict[str, Any]:
    return json.loads((model_package / "metadata.json").read_text())


def _expected(pipeline: Any, row: dict[str, Any]) -> float:
    frame = pd.DataFrame([row])[["age", "job_role", "monthly_income", "years_at_company"]]
    return float(pipeline.predict_proba(frame)[0, 1])


def test_predict_matches_the_pipeline(live: Server, pipeline: Any, metadata: dict[str, Any]) -> None:
    rows = [
        GOOD,
        {**GOOD, "age": 59, "job_role": "Engineering", "years_at_company": 19},
        {"age": 16, "job_role": "HR", "monthly_income": 0.01, "years_at_company": 0},
        {"age": 80, "job_role": "Finance", "monthly_income": 1e6, "years_at_company": 64},
    ]
    with live.client(headers=bearer(make_token())) as client:
        for row in rows:
            reply = client.post("/predict", json=row)
            assert reply.status_code == 200, reply.text
            body = reply.json()
            want = _expected(pipeline, row)
            assert body["attrition_probability"] == round(want, 4)
            assert body["decision"] is (want >= metadata["decision_threshold"])
            assert body["decision_threshold"] == metadata["decision_threshold"]
            assert body["model_version"] == metadata["model_version"]
            assert body["source"] == "model"


def test_batch_scores_each_employee_in_order(live: Server, pipeline: Any) -> None:
    rows = [{**GOOD, "age": 20 + i % 50, "employee_id": f"X{i}"} for i in range(MAX_BATCH)]
    with live.client(headers=bearer(make_token())) as client:
        reply = client.post("/predict/batch", json={"employees": rows})
        assert reply.status_code == 200, reply.text
        predictions = reply.json()["predictions"]
        assert [p["employee_id"] for p in predictions] == [r["employee_id"] for r in rows]
        features = [{k: v for k, v in r.items() if k != "employee_id"} for r in rows[:5]]
        assert [p["attrition_probability"] for p in predictions[:5]] == [
            round(_expected(pipeline, r), 4) for r in features
        ]
        too_many = client.post("/predict/batch", json={"employees": rows + rows[:1]})
        assert too_many.status_code == 422
        assert too_many.json()["detail"].startswith("employees:")
        bad_row = client.post("/predict/batch", json={"employees": [GOOD, {**GOOD, "age": 3}]})
        assert bad_row.status_code == 422
        assert bad_row.json()["detail"].startswith("employees[1].age:")
        bad_role = client.post("/predict/batch", json={"employees": [GOOD, {**GOOD, "job_role": "Pilot"}]})
        assert bad_role.status_code == 422
        assert bad_role.json()["detail"].startswith("employees[1].job_role:")
        assert "Sales" in bad_role.json()["detail"]


def test_scores_endpoint_serves_the_batch_csv(live: Server, scores_csv: Path) -> None:
    with scores_csv.open() as handle:
        rows = list(csv.DictReader(handle))
    with live.client(headers=bearer(make_token())) as client:
        for row in (rows[0], rows[-1]):
            reply = client.get(f"/scores/{row['employee_id']}")
            assert reply.status_code == 200
            body = reply.json()
            assert body["attrition_probability"] == round(float(row["attrition_probability"]), 4)
            assert body["decision"] is (row["decision"] == "1")
            assert body["source"] == "batch"
        missing = client.get("/scores/E99999")
        assert missing.status_code == 404
        assert "E99999" in missing.json()["detail"]
        assert client.get("/scores/bad%20id!").status_code == 422


BAD_BODIES: list[tuple[Any, str]] = [
    ({**GOOD, "age": 15}, "age"),
    ({**GOOD, "age": 81}, "age"),
    ({**GOOD, "age": "34"}, "age"),
    ({**GOOD, "age": 34.5}, "age"),
    ({**GOOD, "age": True}, "age"),
    ({**GOOD, "age": None}, "age"),
    ({k: v for k, v in GOOD.items() if k != "age"}, "age"),
    ({**GOOD, "monthly_income": 0}, "monthly_income"),
    ({**GOOD, "monthly_income": -5}, "monthly_income"),
    ({**GOOD, "monthly_income": 1e7}, "monthly_income"),
    ({**GOOD, "monthly_income": "3200"}, "monthly_income"),
    ({**GOOD, "years_at_company": -1}, "years_at_company"),
    ({**GOOD, "age": 20, "years_at_company": 5}, "years_at_company"),
    ({**GOOD, "job_role": "Astronaut"}, "job_role"),
    ({**GOOD, "job_role": ""}, "job_role"),
    ({**GOOD, "job_role": ["Sales"]}, "job_role"),
    ({**GOOD, "job_role": "S" * 1000}, "job_role"),
    ({**GOOD, "employee_id": "../etc"}, "employee_id"),
    ({**GOOD, "opt_out": "yes"}, "opt_out"),
    ({**GOOD, "salary": 1}, "salary"),
    ({**GOOD, "age": {"nested": {"deeper": [1, 2, 3]}}}, "age"),
    ([GOOD], "body"),
    ("just a string", "body"),
    (None, "body"),
]


@pytest.mark.parametrize(("body", "field"), BAD_BODIES, ids=[f for _, f in BAD_BODIES])
def test_invalid_input_is_422_naming_the_field(live: Server, body: Any, field: str) -> None:
    with live.client(headers=bearer(make_token())) as client:
        reply = client.post(
            "/predict", content=json.dumps(body), headers={"content-type": "application/json"}
        )
    assert reply.status_code == 422, reply.text
    detail = reply.json()["detail"]
    assert detail.startswith(f"{field}:"), detail
    assert "\n" not in detail


RAW_BODIES: list[tuple[bytes, int, str]] = [
    (b"{not json", 422, "body: invalid JSON"),
    (b"[" * 20_000, 422, "body: invalid JSON (nested too deeply)"),
    (b'{"age": 1' + b"0" * 5000 + b"}", 422, "body: invalid JSON"),
    (b"\xc2x?QV\x7f", 422, "body: invalid JSON"),
    (b'{"age": NaN, "job_role": "Sales", "monthly_income": 1, "years_at_company": 1}', 422, "age:"),
    (b'{"monthly_income": Infinity}', 422, "age:"),
    (b"", 422, "body:"),
]


@pytest.mark.parametrize(("raw", "status", "prefix"), RAW_BODIES)
def test_malformed_bodies_are_4xx(live: Server, raw: bytes, status: int, prefix: str) -> None:
    with live.client(headers=bearer(make_token())) as client:
        reply = client.post("/predict", content=raw, headers={"content-type": "application/json"})
    assert reply.status_code == status, reply.text
    assert reply.json()["detail"].startswith(prefix), reply.json()


def test_body_limits_and_content_type(live: Server) -> None:
    limit = live.settings.max_body_bytes
    headers = bearer(make_token())
    with live.client(headers=headers) as client:
        big = client.post(
            "/predict", content=b" " * (limit + 1), headers={"content-type": "application/json"}
        )
        assert big.status_code == 413
        assert str(limit) in big.json()["detail"]

        def chunks() -> Any:
            for _ in range(limit // 1000 + 2):
                yield b" " * 1000

        streamed = client.post("/predict", content=chunks(), headers={"content-type": "application/json"})
        assert streamed.status_code == 413
        form = client.post("/predict", data={"age": "34"})
        assert form.status_code == 415
        assert "application/json" in form.json()["detail"]
        metrics = client.get("/metrics").text
    assert 'attrition_http_requests_total{endpoint="/predict",method="POST",status="413"} 2.0' in metrics
    assert 'attrition_http_requests_total{endpoint="/predict",method="POST",status="415"} 1.0' in metrics
    # A lying Content-Length larger than what is sent must not hang or crash the server.
    host, port = live.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n")
        assert sock.recv(100).startswith(b"HTTP/1.1 4")
    with live.client() as client:
        assert client.get("/healthz").status_code == 200


def test_openapi_docs_and_role_enum(live: Server, metadata: dict[str, Any]) -> None:
    with live.client() as client:
        schema = client.get("/openapi.json").json()
        assert client.get("/docs").status_code == 200
    employee = schema["components"]["schemas"]["EmployeeFeatures"]
    assert employee["properties"]["job_role"]["enum"] == metadata["features"]["job_roles"]
    assert employee["additionalProperties"] is False
    batch = schema["components"]["schemas"]["BatchRequest"]["properties"]["employees"]
    assert batch["maxItems"] == MAX_BATCH
    assert schema["components"]["securitySchemes"]["OAuth2BearerJWT"]["scheme"] == "bearer"
    paths = schema["paths"]
    assert paths["/predict"]["post"]["security"] == [{"OAuth2BearerJWT": ["attrition:predict"]}]
    assert paths["/scores/{employee_id}"]["get"]["security"] == [{"OAuth2BearerJWT": ["attrition:predict"]}]
    assert paths["/admin/reload"]["post"]["security"] == [{"OAuth2BearerJWT": ["attrition:admin"]}]
    assert "security" not in paths["/healthz"]["get"]
    assert {
        "/predict",
        "/predict/batch",
        "/scores/{employee_id}",
        "/healthz",
        "/readyz",
        "/metrics",
        "/admin/reload",
    } <= set(schema["paths"])


def test_health_ready_and_metrics(live: Server, metadata: dict[str, Any]) -> None:
    version = metadata["model_version"]
    with live.client() as client:
        assert client.get("/healthz").json() == {"status": "alive"}
        ready = client.get("/readyz")
        assert ready.status_code == 200
        assert ready.json()["model_version"] == version
        assert ready.json()["scorer"] == "compiled"
        client.post("/predict", json=GOOD, headers=bearer(make_token()))
        client.post("/predict", json={**GOOD, "age": 3}, headers=bearer(make_token()))
        text = client.get("/metrics").text
    assert 'attrition_http_requests_total{endpoint="/predict",method="POST",status="200"}' in text
    assert 'attrition_http_request_duration_seconds_bucket{endpoint="/predict",le="0.2"}' in text
    assert f'attrition_predictions_total{{model_version="{version}",source="model"}}' in text
    assert 'attrition_validation_errors_total{endpoint="/predict"}' in text
    assert "attrition_fallbacks_total" in text
    assert "attrition_model_loaded 1.0" in text


def test_unknown_routes_and_methods_are_4xx(live: Server) -> None:
    with live.client() as client:
        assert client.get("/nope").status_code == 404
        assert client.get("/predict").status_code == 405
        assert client.delete("/healthz").status_code == 405
        text = client.get("/metrics").text
    assert 'endpoint="unmatched"' in text
    assert "/nope" not in text


def test_no_5xx_under_a_burst_of_garbage(live: Server) -> None:
    """A bounded mix of bad requests leaves the server healthy and never answers 5xx."""
    token = make_token()
    samples: list[tuple[str, str, bytes]] = [
        ("POST", "/predict", b"\x00\xff\xfe"),
        ("POST", "/predict", b'{"age": []}'),
        ("POST", "/predict/batch", b'{"employees": {}}'),
        ("POST", "/predict/batch", b'{"employees": [' + b"{}," * 200 + b"{}]}"),
        ("GET", "/scores/" + "E" * 40, b""),
        ("POST", "/admin/reload", b"{}"),
    ]
    with httpx.Client(base_url=live.url, timeout=10) as client:
        for method, path, body in samples * 5:
            reply = client.request(
                method,
                path,
                content=body or None,
                headers={**bearer(token), "content-type": "application/json"},
            )
            assert 400 <= reply.status_code < 500, (path, reply.status_code, reply.text)
        assert client.get("/healthz").status_code == 200


def test_uncompilable_model_is_served_through_the_pipeline(
    model_package: Path, scores_csv: Path, tmp_path: Path, pipeline: Any
) -> None:
    from attrition.scorer import PipelineScorer
    from attrition.service.core.model_state import ModelState, load_model_state
    from attrition.service.core.runtime import build_runtime

    def load_uncompiled(path: Path) -> ModelState:
        state = load_model_state(path)
        return replace(state, scorer=PipelineScorer(pipeline, FEATURES, "not compiled: test"))

    settings = settings_for(tmp_path, model_package, scores_csv)
    runtime = build_runtime(settings, model_loader=load_uncompiled)
    with serve_in_thread(settings, runtime) as server, server.client(headers=bearer(make_token())) as client:
        assert client.get("/readyz").json()["scorer"] == "not compiled: test"
        reply = client.post("/predict", json=GOOD)
    assert reply.status_code == 200
    assert reply.json()["attrition_probability"] == round(_expected(pipeline, GOOD), 4)
