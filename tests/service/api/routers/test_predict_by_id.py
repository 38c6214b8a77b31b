"""POST /predict and /predict/batch with an employee_id alone: the online feature store's features are
scored, returned with their origin and audited; unknown, departed and unconfigured ids are refused with
one clear detail; partial feature sets are a 422; the store follows its file on disk."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.service.online_files import ACTIVE, online_bytes, replace_file, write_online
from tests.support.service import (
    SAMPLE_EMPLOYEE,
    Server,
    bearer,
    make_token,
    serve_in_thread,
    settings_for,
    stored_rows,
)

WAIT_S = 15.0  # bound on waiting for the server to notice a replaced file (it checks every 0.05 s)


@pytest.fixture(scope="module")
def online_server(
    model_package: Path, scores_csv: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """A healthy server with the online store of tests/service/online_files.py (version 7)."""
    tmp = tmp_path_factory.mktemp("by-id")
    path = write_online(tmp / "online.json.gz")
    with serve_in_thread(settings_for(tmp, model_package, scores_csv, online_features=path)) as server:
        yield server


def _client(server: Server) -> httpx.Client:
    return server.client(headers=bearer(make_token()))


def _row(server: Server, prediction_id: str) -> dict[str, Any]:
    (row,) = stored_rows(
        str(server.settings.audit_db), f"SELECT * FROM predictions WHERE prediction_id = '{prediction_id}'"
    )
    return row


def _eventually(probe: Callable[[], bool], what: str) -> None:
    """Poll `probe` until true, bounded by WAIT_S (the server's own check runs every 0.05 s)."""
    deadline = time.monotonic() + WAIT_S
    while not probe():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def test_an_id_alone_is_scored_from_the_store_and_audited_with_its_version(online_server: Server) -> None:
    with _client(online_server) as client:
        by_id = client.post("/predict", json={"employee_id": "E000001"})
        sent = client.post("/predict", json={**ACTIVE["E000001"], "employee_id": "E000001"})
    assert by_id.status_code == 200, by_id.text
    body = by_id.json()
    assert body["source"] == "model" and body["employee_id"] == "E000001"
    assert body["feature_source"] == "online_store"
    assert body["features"] == ACTIVE["E000001"]
    assert (body["feature_table_version"], body["features_as_of"]) == (7, "2024-03-31")
    # The same features sent by the caller: the same score, and the answer says they were the caller's.
    assert sent.json()["attrition_probability"] == body["attrition_probability"]
    assert {key: sent.json()[key] for key in ("feature_source", "features", "feature_table_version")} == {
        "feature_source": "request",
        "features": None,
        "feature_table_version": None,
    }
    row = _row(online_server, body["prediction_id"])
    assert json.loads(row["inputs"]) == ACTIVE["E000001"] and row["employee_id"] == "E000001"
    assert (row["feature_table_version"], row["features_as_of"]) == (7, "2024-03-31")
    request_row = _row(online_server, sent.json()["prediction_id"])
    assert (request_row["feature_table_version"], request_row["features_as_of"]) == (None, None)


def test_an_opted_out_id_is_scored_but_its_row_keeps_no_inputs_or_id(online_server: Server) -> None:
    with _client(online_server) as client:
        reply = client.post("/predict", json={"employee_id": "E000003", "opt_out": True})
    assert reply.status_code == 200
    assert reply.json()["features"] == ACTIVE["E000003"]  # the caller still sees what was scored
    assert reply.json()["warnings"] == ["years_at_company (9) exceeds age - 16 (4)"]
    row = _row(online_server, reply.json()["prediction_id"])
    assert (row["opt_out"], row["inputs"], row["employee_id"]) == (1, None, None)
    assert row["feature_table_version"] == 7  # the store's version says nothing about the employee


@pytest.mark.parametrize(
    ("employee_id", "status", "detail"),
    [
        ("E404", 404, "employee E404 is not in the online feature store (as of 2024-03-31, table version 7)"),
        ("E000002", 410, "employee E000002 left on 2024-02-20"),
    ],
)
def test_unknown_and_departed_ids_are_refused_with_one_clear_detail(
    online_server: Server, employee_id: str, status: int, detail: str
) -> None:
    with _client(online_server) as client:
        single = client.post("/predict", json={"employee_id": employee_id})
        batch = client.post(
            "/predict/batch", json={"employees": [{"employee_id": "E000001"}, {"employee_id": employee_id}]}
        )
        metrics = client.get("/metrics").text
    assert single.status_code == status and single.json()["detail"].startswith(detail), single.text
    assert batch.status_code == status and batch.json()["detail"].startswith(f"employees[1]: {detail}")
    outcome = "unknown" if status == 404 else "terminated"
    assert f'attrition_feature_lookups_total{{outcome="{outcome}"}}' in metrics


def test_a_batch_mixes_sent_and_looked_up_features_in_order(online_server: Server) -> None:
    employees = [{"employee_id": "E000003"}, SAMPLE_EMPLOYEE, {"employee_id": "E000001"}]
    with _client(online_server) as client:
        reply = client.post("/predict/batch", json={"employees": employees})
    assert reply.status_code == 200, reply.text
    predictions = reply.json()["predictions"]
    assert [p["feature_source"] for p in predictions] == ["online_store", "request", "online_store"]
    assert [p["features"] for p in predictions] == [ACTIVE["E000003"], None, ACTIVE["E000001"]]


PARTIAL: list[tuple[dict[str, Any], str]] = [
    ({"employee_id": "E000001", "age": 34}, "job_role"),
    ({k: v for k, v in SAMPLE_EMPLOYEE.items() if k != "years_at_company"}, "years_at_company"),
    ({}, "age"),
    ({"employee_id": None}, "age"),
    ({"employee_id": "E000001", "age": None}, "age"),
]


@pytest.mark.parametrize(("body", "field"), PARTIAL)
def test_a_partial_feature_set_is_a_422_naming_the_fields_and_the_rule(
    online_server: Server, body: dict[str, Any], field: str
) -> None:
    with _client(online_server) as client:
        single = client.post("/predict", json=body)
        batch = client.post("/predict/batch", json={"employees": [SAMPLE_EMPLOYEE, body]})
    assert single.status_code == 422 and batch.status_code == 422
    detail = single.json()["detail"]
    assert detail.startswith(f"{field}: ") and "all four features" in detail and "employee_id" in detail
    missing = [error["field"] for error in single.json()["errors"] if error["type"] == "missing"]
    assert all(name in detail for name in missing)  # the detail lists every missing feature
    assert batch.json()["detail"].startswith(f"employees[1].{field}: ")


def test_an_id_alone_without_a_configured_store_says_what_to_set(
    model_package: Path, scores_csv: Path, tmp_path: Path
) -> None:
    with (
        serve_in_thread(settings_for(tmp_path, model_package, scores_csv)) as server,
        _client(server) as client,
    ):
        reply = client.post("/predict", json={"employee_id": "E000001"})
        batch = client.post("/predict/batch", json={"employees": [SAMPLE_EMPLOYEE, {"employee_id": "E1"}]})
        assert client.post("/predict", json=SAMPLE_EMPLOYEE).status_code == 200
        ready = client.get("/readyz").json()
    assert reply.status_code == 422
    assert reply.json()["detail"].startswith("employee_id: a look-up by employee_id alone needs the online")
    assert "ATTRITION_ONLINE_FEATURES is not set" in reply.json()["detail"]
    assert batch.status_code == 422 and batch.json()["detail"].startswith("employees[1].employee_id: ")
    assert ready["online_features"] is None and ready["status"] == "ready"


def test_without_a_model_an_id_alone_still_gets_its_batch_score(scores_csv: Path, tmp_path: Path) -> None:
    employee_id = scores_csv.read_text().splitlines()[1].split(",")[0]
    settings = settings_for(tmp_path, tmp_path / "no-package", scores_csv)  # and no online store
    with serve_in_thread(settings) as server, _client(server) as client:
        reply = client.post("/predict", json={"employee_id": employee_id})
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert (body["source"], body["employee_id"], body["feature_source"], body["features"]) == (
        "batch",
        employee_id,
        None,
        None,
    )


def test_a_replaced_file_is_served_and_a_broken_one_keeps_the_previous_store(
    model_package: Path, scores_csv: Path, tmp_path: Path
) -> None:
    path = write_online(tmp_path / "online.json.gz")
    settings = settings_for(
        tmp_path, model_package, scores_csv, online_features=path, online_features_interval_s=0.05
    )
    with serve_in_thread(settings) as server, _client(server) as client:
        assert client.get("/readyz").json()["online_features"] == {
            "ok": True,
            "table_version": 7,
            "as_of": "2024-03-31",
            "latest_extract": "2024-03-31",
            "employees": 2,
            "reason": None,
        }
        raised = {**ACTIVE, "E000001": {**ACTIVE["E000001"], "monthly_income": 5600.0}}
        write_online(path, active=raised, version=8)
        _eventually(
            lambda: client.get("/readyz").json()["online_features"]["table_version"] == 8, "version 8"
        )
        reply = client.post("/predict", json={"employee_id": "E000001"}).json()
        assert (reply["feature_table_version"], reply["features"]["monthly_income"]) == (8, 5600.0)

        replace_file(path, online_bytes(version=9)[:-20])  # cut short by a failing copy
        _eventually(lambda: client.get("/readyz").json()["online_features"]["ok"] is False, "the failed load")
        ready = client.get("/readyz")
        assert ready.status_code == 200  # still serving version 8: ready, and saying why the file was refused
        assert ready.json()["online_features"]["table_version"] == 8
        assert ready.json()["online_features"]["reason"] == (
            "the online feature file could not be loaded: not a readable gzip-compressed JSON file; the "
            "previously loaded store keeps serving"
        )
        assert str(tmp_path) not in ready.text  # the path is in the log only
        kept = client.post("/predict", json={"employee_id": "E000001"})
        assert kept.status_code == 200 and kept.json()["feature_table_version"] == 8
        metrics = client.get("/metrics").text
        assert 'attrition_online_features_reloads_total{outcome="failed"} 1.0' in metrics
        assert "attrition_online_features_table_version 8.0" in metrics


def test_a_configured_store_that_never_loaded_is_not_ready_and_answers_503(
    model_package: Path, scores_csv: Path, tmp_path: Path, admin_token: str
) -> None:
    path = tmp_path / "online.json.gz"  # not materialized yet
    settings = settings_for(tmp_path, model_package, scores_csv, online_features=path)
    with serve_in_thread(settings) as server, _client(server) as client:
        ready = client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["reason"].startswith("no online feature store is loaded")
        assert ready.json()["online_features"]["reason"] == (
            "the online feature file could not be loaded: the file does not exist"
        )
        refused = client.post("/predict", json={"employee_id": "E000001"})
        assert refused.status_code == 503 and refused.headers["retry-after"]
        assert "no online feature store is loaded" in refused.json()["detail"]
        assert client.post("/predict", json=SAMPLE_EMPLOYEE).status_code == 200  # features sent: scored
        write_online(path)
        assert client.post("/admin/reload", headers=bearer(admin_token)).status_code == 200  # loads it too
        assert client.get("/readyz").status_code == 200
        assert client.post("/predict", json={"employee_id": "E000001"}).status_code == 200
