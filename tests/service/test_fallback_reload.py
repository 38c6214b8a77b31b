"""Fallback to batch scores when no verified model loads, and model reload without dropping requests."""

from __future__ import annotations

import asyncio
import csv
import shutil
import signal
import time
from pathlib import Path

import httpx

from tests.service.conftest import (
    bearer,
    make_token,
    rewrite_version,
    serve_in_thread,
    serve_subprocess,
    settings_for,
    tamper,
)

GOOD = {"age": 34, "job_role": "Sales", "monthly_income": 3200.5, "years_at_company": 2}


def _scores(path: Path) -> dict[str, dict[str, str]]:
    with path.open() as handle:
        return {row["employee_id"]: row for row in csv.DictReader(handle)}


def test_tampered_package_serves_batch_scores_only(
    package_dir: Path, scores_csv: Path, tmp_path: Path, admin_token: str, model_package: Path
) -> None:
    tamper(package_dir)
    scores = _scores(scores_csv)
    predict = bearer(make_token())
    with (
        serve_in_thread(settings_for(tmp_path, package_dir, scores_csv)) as server,
        server.client() as client,
    ):
        ready = client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["status"] == "not ready"
        assert "model.joblib was changed" in ready.json()["reason"]
        assert client.get("/healthz").status_code == 200

        known = client.post("/predict", json={**GOOD, "employee_id": "E00007"}, headers=predict)
        assert known.status_code == 200, known.text
        body = known.json()
        assert body["source"] == "batch"
        assert body["attrition_probability"] == round(float(scores["E00007"]["attrition_probability"]), 4)
        assert body["model_version"] == scores["E00007"]["model_version"]
        # Roles are unknown without a package, so even an unusual role gets the batch answer.
        other = client.post(
            "/predict", json={**GOOD, "job_role": "Pilot", "employee_id": "E00008"}, headers=predict
        )
        assert other.json()["source"] == "batch"

        anonymous = client.post("/predict", json=GOOD, headers=predict)
        assert anonymous.status_code == 503
        assert "send an employee_id" in anonymous.json()["detail"]
        unknown = client.post("/predict", json={**GOOD, "employee_id": "E99999"}, headers=predict)
        assert unknown.status_code == 503
        assert "no batch score for employee_id E99999" in unknown.json()["detail"]

        batch = client.post(
            "/predict/batch",
            headers=predict,
            json={"employees": [{**GOOD, "employee_id": "E00001"}, {**GOOD, "employee_id": "E00002"}]},
        )
        assert [p["source"] for p in batch.json()["predictions"]] == ["batch", "batch"]
        half = client.post(
            "/predict/batch", headers=predict, json={"employees": [{**GOOD, "employee_id": "E00001"}, GOOD]}
        )
        assert half.status_code == 503
        assert half.json()["detail"].startswith("employees[1]:")

        metrics = client.get("/metrics").text
        assert 'attrition_fallbacks_total{reason="model_unavailable"} 4.0' in metrics
        assert "attrition_model_loaded 0.0" in metrics

        # Repair the package on disk and reload: the service becomes ready without a restart.
        shutil.rmtree(package_dir)
        shutil.copytree(model_package, package_dir)
        reload = client.post("/admin/reload", headers=bearer(admin_token))
        assert reload.status_code == 200, reload.text
        assert reload.json()["reloaded"] is True
        assert reload.json()["previous_version"] is None
        assert client.get("/readyz").status_code == 200
        live = client.post("/predict", json={**GOOD, "employee_id": "E00007"}, headers=predict)
        assert live.json()["source"] == "model"


def test_missing_package_and_scores_still_start(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, tmp_path / "nope", tmp_path / "none.csv")
    with serve_in_thread(settings) as server, server.client() as client:
        ready = client.get("/readyz")
        assert ready.status_code == 503
        assert "not a package directory" in ready.json()["reason"]
        reply = client.post("/predict", json={**GOOD, "employee_id": "E00001"}, headers=bearer(make_token()))
        assert reply.status_code == 503
        assert "E00001" in reply.json()["detail"]


def test_reload_swaps_versions_and_failed_verification_keeps_the_old_model(
    package_dir: Path, scores_csv: Path, tmp_path: Path, admin_token: str
) -> None:
    predict = bearer(make_token())
    admin = bearer(admin_token)
    with (
        serve_in_thread(settings_for(tmp_path, package_dir, scores_csv)) as server,
        server.client() as client,
    ):
        old = client.get("/readyz").json()["model_version"]
        rewrite_version(package_dir, "v-next")
        reply = client.post("/admin/reload", headers=admin)
        assert reply.status_code == 200
        assert reply.json() | {"batch_scores": 0} == {
            "reloaded": True,
            "model_version": "v-next",
            "previous_version": old,
            "batch_scores": 0,
            "detail": "now serving v-next (POST /admin/reload by operator)",
        }
        assert client.post("/predict", json=GOOD, headers=predict).json()["model_version"] == ("v-next")
        schema = client.get("/openapi.json").json()
        assert "enum" in schema["components"]["schemas"]["EmployeeFeatures"]["properties"]["job_role"]

        tamper(package_dir)
        failed = client.post("/admin/reload", headers=admin)
        assert failed.status_code == 409
        detail = failed.json()["detail"]
        assert detail.startswith("reload failed: ") and "model.joblib was changed" in detail
        assert "\n" not in detail
        assert failed.json()["model_version"] == "v-next"
        assert client.get("/readyz").json()["model_version"] == "v-next"
        assert client.post("/predict", json=GOOD, headers=predict).status_code == 200
        metrics = client.get("/metrics").text
        assert 'attrition_model_reloads_total{outcome="failed"} 1.0' in metrics
        assert 'attrition_model_info{model_version="v-next"} 1.0' in metrics


def test_requests_in_flight_during_reloads_all_succeed(
    package_dir: Path, scores_csv: Path, tmp_path: Path, admin_token: str
) -> None:
    """Bounded: 8 clients x 60 requests while 6 reloads alternate between two versions."""
    token = make_token()

    async def hammer(url: str) -> list[tuple[int, str]]:
        async with httpx.AsyncClient(base_url=url, timeout=10, headers=bearer(token)) as client:
            results: list[tuple[int, str]] = []
            for _ in range(60):
                reply = await client.post("/predict", json=GOOD)
                results.append((reply.status_code, reply.json().get("model_version", "")))
            return results

    async def reloads(url: str) -> list[int]:
        codes = []
        async with httpx.AsyncClient(base_url=url, timeout=30, headers=bearer(admin_token)) as client:
            for i in range(6):
                await asyncio.to_thread(rewrite_version, package_dir, f"v-{i}")
                codes.append((await client.post("/admin/reload")).status_code)
        return codes

    async def scenario(url: str) -> tuple[list[list[tuple[int, str]]], list[int]]:
        *clients, codes = await asyncio.wait_for(
            asyncio.gather(*(hammer(url) for _ in range(8)), reloads(url)), timeout=60
        )
        return clients, codes

    with serve_in_thread(settings_for(tmp_path, package_dir, scores_csv)) as server:
        original = httpx.get(f"{server.url}/readyz").json()["model_version"]
        clients, codes = asyncio.run(scenario(server.url))
    assert codes == [200] * 6
    results = [r for client in clients for r in client]
    assert len(results) == 480
    assert {status for status, _ in results} == {200}
    assert {version for _, version in results} <= {original, *(f"v-{i}" for i in range(6))}


def test_sighup_reloads_and_sigterm_drains_the_audit_queue(
    package_dir: Path, scores_csv: Path, tmp_path: Path
) -> None:
    import sqlite3

    settings = settings_for(tmp_path, package_dir, scores_csv)
    token = bearer(make_token(sub="sig"))
    with serve_subprocess(settings, tmp_path / "serve.log") as proc:
        with httpx.Client(base_url=proc.url, timeout=10, headers=token) as client:
            first = client.get("/readyz").json()["model_version"]
            rewrite_version(package_dir, "v-hup")
            proc.signal(signal.SIGHUP)
            deadline = time.monotonic() + 20
            while client.get("/readyz").json()["model_version"] != "v-hup":
                assert time.monotonic() < deadline, (tmp_path / "serve.log").read_text()
                time.sleep(0.1)
            assert first != "v-hup"
            for i in range(200):
                assert client.post("/predict", json={**GOOD, "employee_id": f"S{i}"}).status_code == 200
        proc.signal(signal.SIGTERM)
        # uvicorn finishes the graceful shutdown, then re-raises SIGTERM for the exit status.
        assert proc.wait_exit(30) in (0, -signal.SIGTERM)
    log = (tmp_path / "serve.log").read_text()
    assert "serving model v-hup" in log
    assert "Application shutdown complete" in log
    with sqlite3.connect(settings.audit_db) as db:
        rows = db.execute(
            "SELECT COUNT(*), MIN(model_version), MAX(caller) FROM predictions WHERE employee_id LIKE 'S%'"
        ).fetchone()
    assert rows == (200, "v-hup", "sig")
