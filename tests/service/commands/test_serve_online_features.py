"""`attrition serve --online-features`: a served process scores ids alone from the file, follows the file
when it is replaced, keeps the previous store when the new file is broken, and logs no employee data."""

from __future__ import annotations

import signal
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tests.service.online_files import ACTIVE, replace_file, write_online
from tests.support.service import SECRET, bearer, clean_env, make_token, serve_subprocess, settings_for

pytestmark = pytest.mark.e2e  # starts `attrition serve` as a process: not the unit tier (`make unit`)

WAIT_S = 20.0


def _eventually(probe: Callable[[], bool], what: str, log: Path) -> None:
    """Poll `probe` until true, bounded by WAIT_S; the server log explains a timeout."""
    deadline = time.monotonic() + WAIT_S
    while not probe():
        assert time.monotonic() < deadline, f"timed out waiting for {what}:\n{log.read_text()}"
        time.sleep(0.05)


def test_a_served_process_follows_its_online_feature_file(
    model_package: Path, scores_csv: Path, tmp_path: Path
) -> None:
    path = write_online(tmp_path / "online.json.gz")
    settings = settings_for(tmp_path, model_package, scores_csv)
    log = tmp_path / "serve.log"
    env = clean_env(ATTRITION_JWT_SECRET=SECRET, ATTRITION_ONLINE_FEATURES_INTERVAL_S="0.1")
    with (
        serve_subprocess(settings, log, env=env, extra_args=("--online-features", str(path))) as proc,
        httpx.Client(base_url=proc.url, timeout=10, headers=bearer(make_token())) as client,
    ):
        first = client.post("/predict", json={"employee_id": "E000001"})
        assert first.status_code == 200, first.text
        assert (first.json()["features"], first.json()["feature_table_version"]) == (ACTIVE["E000001"], 7)
        assert client.post("/predict", json={"employee_id": "E000002"}).status_code == 410

        write_online(path, version=8)  # a nightly materialize replaces the file
        _eventually(lambda: client.get("/readyz").json()["online_features"]["table_version"] == 8, "v8", log)
        assert client.post("/predict", json={"employee_id": "E000001"}).json()["feature_table_version"] == 8

        replace_file(path, b"not gzip at all")
        proc.signal(signal.SIGHUP)  # a reload reads the file again as well
        _eventually(lambda: client.get("/readyz").json()["online_features"]["ok"] is False, "refusal", log)
        ready = client.get("/readyz")
        assert ready.status_code == 200 and ready.json()["online_features"]["table_version"] == 8
        assert client.post("/predict", json={"employee_id": "E000003"}).status_code == 200
    text = log.read_text()
    assert "serving online features of table version 8 as of 2024-03-31 (2 active employees)" in text
    assert "not loaded, still serving online features of table version 8" in text
    for employee_data in ("E000001", "E000002", "E000003", "5200", "2024-02-20"):
        assert employee_data not in text, employee_data  # ids and features stay out of the log
