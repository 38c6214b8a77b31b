"""The assembled app: batch-score fallback when no verified model loads, audit and scheduled purges."""

from __future__ import annotations

import csv
import json
import shutil
import time
from pathlib import Path

import pytest

from attrition.audit.records import PredictionRow
from attrition.audit.writer import AuditStore
from tests.support.service import (
    SAMPLE_EMPLOYEE,
    bearer,
    make_token,
    serve_in_thread,
    settings_for,
    stored_rows,
    tamper,
)


def _scores(path: Path) -> dict[str, dict[str, str]]:
    with path.open() as handle:
        return {row["employee_id"]: row for row in csv.DictReader(handle)}


def test_tampered_package_serves_batch_scores_only(
    package_copy: Path,
    scores_csv: Path,
    tmp_path: Path,
    admin_token: str,
    model_package: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    tamper(package_copy)
    scores = _scores(scores_csv)
    predict = bearer(make_token())
    with (
        serve_in_thread(settings_for(tmp_path, package_copy, scores_csv)) as server,
        server.client() as client,
    ):
        ready = client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["status"] == "not ready"
        assert ready.json()["reason"].startswith("no verified model is loaded")
        assert "model.joblib was changed" in caplog.text  # the detail is in the log, not the open body
        assert client.get("/healthz").status_code == 200

        known = client.post("/predict", json={**SAMPLE_EMPLOYEE, "employee_id": "E00007"}, headers=predict)
        assert known.status_code == 200, known.text
        body = known.json()
        assert body["source"] == "batch"
        assert body["attrition_probability"] == round(float(scores["E00007"]["attrition_probability"]), 4)
        assert body["model_version"] == scores["E00007"]["model_version"]
        # Roles are unknown without a package, so even an unusual role gets the batch answer.
        other = client.post(
            "/predict",
            json={**SAMPLE_EMPLOYEE, "job_role": "Pilot", "employee_id": "E00008"},
            headers=predict,
        )
        assert other.json()["source"] == "batch"

        anonymous = client.post("/predict", json=SAMPLE_EMPLOYEE, headers=predict)
        assert anonymous.status_code == 503
        assert "send an employee_id" in anonymous.json()["detail"]
        unknown = client.post("/predict", json={**SAMPLE_EMPLOYEE, "employee_id": "E99999"}, headers=predict)
        assert unknown.status_code == 503
        assert "no batch score for employee_id E99999" in unknown.json()["detail"]

        batch = client.post(
            "/predict/batch",
            headers=predict,
            json={
                "employees": [
                    {**SAMPLE_EMPLOYEE, "employee_id": "E00001"},
                    {**SAMPLE_EMPLOYEE, "employee_id": "E00002"},
                ]
            },
        )
        assert [p["source"] for p in batch.json()["predictions"]] == ["batch", "batch"]
        half = client.post(
            "/predict/batch",
            headers=predict,
            json={"employees": [{**SAMPLE_EMPLOYEE, "employee_id": "E00001"}, SAMPLE_EMPLOYEE]},
        )
        assert half.status_code == 503
        assert half.json()["detail"].startswith("employees[1]:")

        metrics = client.get("/metrics").text
        assert 'attrition_fallbacks_total{reason="model_unavailable"} 4.0' in metrics
        assert "attrition_model_loaded 0.0" in metrics

        # Repair the package on disk and reload: the service becomes ready without a restart.
        shutil.rmtree(package_copy)
        shutil.copytree(model_package, package_copy)
        reload = client.post("/admin/reload", headers=bearer(admin_token))
        assert reload.status_code == 200, reload.text
        assert reload.json()["reloaded"] is True
        assert reload.json()["previous_version"] is None
        assert client.get("/readyz").status_code == 200
        live = client.post("/predict", json={**SAMPLE_EMPLOYEE, "employee_id": "E00007"}, headers=predict)
        assert live.json()["source"] == "model"


def test_service_audits_predictions_and_purges_on_schedule(
    model_package: Path, scores_csv: Path, tmp_path: Path
) -> None:
    settings = settings_for(tmp_path, model_package, scores_csv, audit_purge_interval_s=0.2)
    old = AuditStore(settings.audit_db)
    old.open()
    old.record_blocking(
        [
            PredictionRow.for_prediction(
                caller="old",
                endpoint="/predict",
                model_version=None,
                source="model",
                opt_out=False,
                employee_id="E0",
                inputs=None,
                probability=None,
                decision=None,
                ts=0.0,
            )
        ]
    )
    old.close()
    token = bearer(make_token(sub="carol"))
    answered: list[str] = []
    with serve_in_thread(settings) as server, server.client(headers=token) as client:
        for reply in (
            client.post("/predict", json={**SAMPLE_EMPLOYEE, "employee_id": "E00001"}),
            client.post("/predict", json={**SAMPLE_EMPLOYEE, "employee_id": "E00002", "opt_out": True}),
        ):
            assert reply.status_code == 200
            answered.append(reply.json()["prediction_id"])
        batch = client.post("/predict/batch", json={"employees": [SAMPLE_EMPLOYEE, SAMPLE_EMPLOYEE]})
        assert batch.status_code == 200
        answered += [p["prediction_id"] for p in batch.json()["predictions"]]
        score = client.get("/scores/E00003")
        assert score.status_code == 200
        answered.append(score.json()["prediction_id"])
        assert client.post("/predict", json={**SAMPLE_EMPLOYEE, "age": 3}).status_code == 422
        # Committed before answered: the rows are there now, while the server still runs.
        stored = stored_rows(settings.audit_db, "SELECT prediction_id FROM predictions")
        assert set(answered) <= {r["prediction_id"] for r in stored}
        deadline = time.monotonic() + 10
        while "attrition_audit_records_purged_total 1.0" not in client.get("/metrics").text:
            assert time.monotonic() < deadline
            time.sleep(0.1)
        metrics = client.get("/metrics").text
        assert "attrition_audit_records_written_total 5.0" in metrics
    rows = stored_rows(settings.audit_db, "SELECT * FROM predictions ORDER BY id")
    assert [r["prediction_id"] for r in rows] == answered
    assert [r["caller"] for r in rows] == ["carol"] * 5  # the 1970 record was purged
    assert [r["endpoint"] for r in rows] == [
        "/predict",
        "/predict",
        "/predict/batch",
        "/predict/batch",
        "/scores",
    ]
    normal, opted = rows[0], rows[1]
    assert json.loads(normal["inputs"]) == SAMPLE_EMPLOYEE and normal["employee_id"] == "E00001"
    assert normal["source"] == "model" and normal["model_version"]
    assert 0 <= normal["probability"] <= 1 and normal["decision"] in (0, 1)
    assert opted["opt_out"] == 1 and opted["inputs"] is None and opted["employee_id"] is None
    assert opted["probability"] is not None
    assert abs(normal["ts"] - time.time()) < 60
