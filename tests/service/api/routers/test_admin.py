"""POST /admin/reload: swaps versions, keeps the old model on a failed verification, drops no request."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx

from tests.support.service import (
    SAMPLE_EMPLOYEE,
    SECRET,
    bearer,
    make_token,
    rewrite_version,
    serve_in_thread,
    settings_for,
    tamper,
)


def test_reload_swaps_versions_and_failed_verification_keeps_the_old_model(
    package_copy: Path, scores_csv: Path, tmp_path: Path, admin_token: str
) -> None:
    predict = bearer(make_token())
    admin = bearer(admin_token)
    with (
        serve_in_thread(settings_for(tmp_path, package_copy, scores_csv)) as server,
        server.client() as client,
    ):
        old = client.get("/readyz").json()["model_version"]
        rewrite_version(package_copy, "v-next")
        reply = client.post("/admin/reload", headers=admin)
        assert reply.status_code == 200
        assert reply.json() | {"batch_scores": 0} == {
            "reloaded": True,
            "model_version": "v-next",
            "previous_version": old,
            "batch_scores": 0,
            "detail": "now serving v-next (POST /admin/reload by operator)",
        }
        assert client.post("/predict", json=SAMPLE_EMPLOYEE, headers=predict).json()["model_version"] == (
            "v-next"
        )
        schema = client.get("/openapi.json").json()
        assert "enum" in schema["components"]["schemas"]["EmployeeFeatures"]["properties"]["job_role"]

        tamper(package_copy)
        failed = client.post("/admin/reload", headers=admin)
        assert failed.status_code == 409
        detail = failed.json()["detail"]
        assert detail.startswith("reload failed: ") and "model.joblib was changed" in detail
        assert "\n" not in detail
        assert failed.json()["model_version"] == "v-next"
        assert client.get("/readyz").json()["model_version"] == "v-next"
        assert client.post("/predict", json=SAMPLE_EMPLOYEE, headers=predict).status_code == 200
        metrics = client.get("/metrics").text
        assert 'attrition_model_reloads_total{outcome="failed"} 1.0' in metrics
        assert 'attrition_model_info{model_version="v-next"} 1.0' in metrics


def test_requests_in_flight_during_reloads_all_succeed(
    package_copy: Path, scores_csv: Path, tmp_path: Path, admin_token: str
) -> None:
    """Bounded: 8 clients x 60 requests while 6 reloads alternate between two versions."""
    token = make_token()

    async def hammer(url: str) -> list[tuple[int, str]]:
        async with httpx.AsyncClient(base_url=url, timeout=10, headers=bearer(token)) as client:
            results: list[tuple[int, str]] = []
            for _ in range(60):
                reply = await client.post("/predict", json=SAMPLE_EMPLOYEE)
                results.append((reply.status_code, reply.json().get("model_version", "")))
            return results

    async def reloads(url: str) -> list[int]:
        codes = []
        async with httpx.AsyncClient(base_url=url, timeout=30, headers=bearer(admin_token)) as client:
            for i in range(6):
                await asyncio.to_thread(rewrite_version, package_copy, f"v-{i}")
                codes.append((await client.post("/admin/reload")).status_code)
        return codes

    async def scenario(url: str) -> tuple[list[list[tuple[int, str]]], list[int]]:
        *clients, codes = await asyncio.wait_for(
            asyncio.gather(*(hammer(url) for _ in range(8)), reloads(url)), timeout=60
        )
        return clients, codes

    with serve_in_thread(settings_for(tmp_path, package_copy, scores_csv)) as server:
        original = httpx.get(f"{server.url}/readyz").json()["model_version"]
        clients, codes = asyncio.run(scenario(server.url))
    assert codes == [200] * 6
    results = [r for client in clients for r in client]
    assert len(results) == 480
    assert {status for status, _ in results} == {200}
    assert {version for _, version in results} <= {original, *(f"v-{i}" for i in range(6))}


def test_a_rotated_secret_file_takes_effect_on_reload(
    model_package: Path, scores_csv: Path, tmp_path: Path
) -> None:
    secret_file = tmp_path / "jwt-secret"
    secret_file.write_text(SECRET + "\n")
    rotated = "r" * 48
    settings = settings_for(tmp_path, model_package, scores_csv, jwt_secret=None, jwt_secret_file=secret_file)
    old_admin, new_predict = make_token("attrition:admin", sub="op"), make_token(secret=rotated)
    with serve_in_thread(settings) as server, server.client() as client:
        assert client.post("/predict", json=SAMPLE_EMPLOYEE, headers=bearer(make_token())).status_code == 200
        assert client.post("/predict", json=SAMPLE_EMPLOYEE, headers=bearer(new_predict)).status_code == 401
        secret_file.write_text(rotated + "\n")
        assert client.post("/admin/reload", headers=bearer(old_admin)).status_code == 200
        old = client.post("/predict", json=SAMPLE_EMPLOYEE, headers=bearer(make_token()))
        assert old.status_code == 401 and "signature" in old.json()["detail"]
        assert client.post("/predict", json=SAMPLE_EMPLOYEE, headers=bearer(new_predict)).status_code == 200
        # A secret file that became unusable fails the reload and keeps the rotated key serving.
        secret_file.write_text("short")
        failed = client.post("/admin/reload", headers=bearer(make_token("attrition:admin", secret=rotated)))
        assert failed.status_code == 409
        assert "ATTRITION_JWT_SECRET_FILE" in failed.json()["detail"]
        assert client.post("/predict", json=SAMPLE_EMPLOYEE, headers=bearer(new_predict)).status_code == 200
