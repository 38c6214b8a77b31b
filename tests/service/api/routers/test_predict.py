"""POST /predict and /predict/batch against a real uvicorn server: scores, validation, fallbacks."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import joblib
import pandas as pd
import pytest

from attrition.dataset import FEATURES
from attrition.modelpkg.scorer import (
    PipelineScorer,
)
from attrition.service.core.runtime import build_runtime
from attrition.service.schemas import MAX_BATCH
from tests.support.service import (
    SAMPLE_EMPLOYEE,
    Server,
    bearer,
    make_token,
    serve_in_thread,
    settings_for,
)


@pytest.fixture(scope="module")
def pipeline(model_package: Path) -> Any:
    return joblib.load(model_package / "model.joblib")


def _expected(pipeline: Any, row: dict[str, Any]) -> float:
    frame = pd.DataFrame([row])[["age", "job_role", "monthly_income", "years_at_company"]]
    return float(pipeline.predict_proba(frame)[0, 1])


def test_predict_matches_the_pipeline(live: Server, pipeline: Any, metadata: dict[str, Any]) -> None:
    rows = [
        SAMPLE_EMPLOYEE,
        {**SAMPLE_EMPLOYEE, "age": 59, "job_role": "Engineering", "years_at_company": 19},
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
            assert len(body["prediction_id"]) == 36 and body["warnings"] == []


def test_batch_scores_each_employee_in_order(live: Server, pipeline: Any) -> None:
    rows = [{**SAMPLE_EMPLOYEE, "age": 20 + i % 50, "employee_id": f"X{i}"} for i in range(MAX_BATCH)]
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
        bad_row = client.post(
            "/predict/batch", json={"employees": [SAMPLE_EMPLOYEE, {**SAMPLE_EMPLOYEE, "age": 3}]}
        )
        assert bad_row.status_code == 422
        assert bad_row.json()["detail"].startswith("employees[1].age:")
        bad_role = client.post(
            "/predict/batch", json={"employees": [SAMPLE_EMPLOYEE, {**SAMPLE_EMPLOYEE, "job_role": "Pilot"}]}
        )
        assert bad_role.status_code == 422
        assert bad_role.json()["detail"].startswith("employees[1].job_role:")
        assert "Sales" in bad_role.json()["detail"]


BAD_BODIES: list[tuple[Any, str]] = [
    ({**SAMPLE_EMPLOYEE, "age": 15}, "age"),
    ({**SAMPLE_EMPLOYEE, "age": 81}, "age"),
    ({**SAMPLE_EMPLOYEE, "age": "34"}, "age"),
    ({**SAMPLE_EMPLOYEE, "age": 34.5}, "age"),
    ({**SAMPLE_EMPLOYEE, "age": True}, "age"),
    ({**SAMPLE_EMPLOYEE, "age": None}, "age"),
    ({k: v for k, v in SAMPLE_EMPLOYEE.items() if k != "age"}, "age"),
    ({**SAMPLE_EMPLOYEE, "monthly_income": 0}, "monthly_income"),
    ({**SAMPLE_EMPLOYEE, "monthly_income": -5}, "monthly_income"),
    ({**SAMPLE_EMPLOYEE, "monthly_income": 1e7}, "monthly_income"),
    ({**SAMPLE_EMPLOYEE, "monthly_income": "3200"}, "monthly_income"),
    ({**SAMPLE_EMPLOYEE, "years_at_company": -1}, "years_at_company"),
    ({**SAMPLE_EMPLOYEE, "years_at_company": 65}, "years_at_company"),
    ({**SAMPLE_EMPLOYEE, "job_role": "Astronaut"}, "job_role"),
    ({**SAMPLE_EMPLOYEE, "job_role": ""}, "job_role"),
    ({**SAMPLE_EMPLOYEE, "job_role": ["Sales"]}, "job_role"),
    ({**SAMPLE_EMPLOYEE, "job_role": "S" * 1000}, "job_role"),
    ({**SAMPLE_EMPLOYEE, "employee_id": "../etc"}, "employee_id"),
    ({**SAMPLE_EMPLOYEE, "opt_out": "yes"}, "opt_out"),
    ({**SAMPLE_EMPLOYEE, "salary": 1}, "salary"),
    ({**SAMPLE_EMPLOYEE, "age": {"nested": {"deeper": [1, 2, 3]}}}, "age"),
    ([SAMPLE_EMPLOYEE], "body"),
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
    from attrition.service.core.model_state import ModelState, load_model_state

    def load_uncompiled(path: Path) -> ModelState:
        state = load_model_state(path)
        return replace(state, scorer=PipelineScorer(pipeline, FEATURES, "not compiled: test"))

    settings = settings_for(tmp_path, model_package, scores_csv)
    runtime = build_runtime(settings, model_loader=load_uncompiled)
    with serve_in_thread(settings, runtime) as server, server.client(headers=bearer(make_token())) as client:
        assert client.get("/readyz").json()["scorer"] == "pipeline"  # why not compiled: in the log only
        reply = client.post("/predict", json=SAMPLE_EMPLOYEE)
    assert reply.status_code == 200
    assert reply.json()["attrition_probability"] == round(_expected(pipeline, SAMPLE_EMPLOYEE), 4)


def test_an_unknown_employee_id_is_scored_from_the_inputs_and_echoed(live: Server, pipeline: Any) -> None:
    with live.client(headers=bearer(make_token())) as client:
        reply = client.post("/predict", json={**SAMPLE_EMPLOYEE, "employee_id": "NOT-ON-ROSTER-1"})
    assert reply.status_code == 200
    body = reply.json()
    assert body["employee_id"] == "NOT-ON-ROSTER-1"
    assert body["source"] == "model"
    assert body["attrition_probability"] == round(_expected(pipeline, SAMPLE_EMPLOYEE), 4)


def test_implausible_tenure_is_scored_with_a_warning_not_refused(live: Server, pipeline: Any) -> None:
    """Parity with the generator (issue 10): it draws tenure independently of age."""
    row = {**SAMPLE_EMPLOYEE, "age": 20, "years_at_company": 15}
    with live.client(headers=bearer(make_token())) as client:
        single = client.post("/predict", json=row)
        batch = client.post("/predict/batch", json={"employees": [SAMPLE_EMPLOYEE, row]})
    assert single.status_code == 200, single.text
    assert single.json()["warnings"] == ["years_at_company (15) exceeds age - 16 (4)"]
    assert single.json()["attrition_probability"] == round(_expected(pipeline, row), 4)
    assert [p["warnings"] for p in batch.json()["predictions"]] == [
        [],
        ["years_at_company (15) exceeds age - 16 (4)"],
    ]
    ids = [p["prediction_id"] for p in batch.json()["predictions"]]
    assert len(set(ids)) == 2 and single.json()["prediction_id"] not in ids
