"""Finding 4: public error bodies name no database host, port or file path; the log keeps the details.

Before: `/readyz` (no token) and the 503 answers quoted the model loader's and the audit store's error
messages, with the package path and the database's address (here PostgreSQL's socket path and port).
"""

from __future__ import annotations

import csv
import time
from pathlib import Path

import httpx
import pytest

from tests.security.support import served, token
from tests.support.postgres import temporary_postgres
from tests.support.service import SAMPLE_EMPLOYEE

pytestmark = [pytest.mark.security, pytest.mark.postgres]  # its own server: it stops it

OUTAGE_BOUND_S = 1.0
WAIT_S = 20.0


def _known_employee(scores: Path) -> str:
    with scores.open(newline="") as handle:
        return str(next(csv.DictReader(handle))["employee_id"])


def test_readiness_and_503_bodies_hide_hosts_ports_and_paths(scores_csv: Path, tmp_path: Path) -> None:
    hidden_package = tmp_path / "private-models" / "attrition-model"  # missing: batch scores only
    known = _known_employee(scores_csv)
    headers = {"Authorization": f"Bearer {token()}"}
    bodies: list[str] = []
    env = {"ATTRITION_AUDIT_OUTAGE_BOUND_S": str(OUTAGE_BOUND_S)}
    with temporary_postgres(prefix="attrition-public-pg-") as pg:
        secrets = (pg.socket_dir, ".s.PGSQL", "5432", str(hidden_package), "private-models")
        with served(tmp_path, hidden_package, scores_csv, env=env, audit_db=pg.new_database()) as live:
            with httpx.Client(base_url=live.url, timeout=30, headers=headers) as client:
                ready = client.get("/readyz")
                bodies.append(ready.text)
                unknown = client.post("/predict", json={**SAMPLE_EMPLOYEE, "employee_id": "E99999"})
                bodies.append(unknown.text)
                pg.stop("fast")
                try:
                    first = client.post("/predict", json={**SAMPLE_EMPLOYEE, "employee_id": known})
                    bodies.append(first.text)
                    deadline = time.monotonic() + WAIT_S
                    while (down := client.get("/readyz")).json()["audit"]["ok"]:
                        assert time.monotonic() < deadline, live.log_text()
                        time.sleep(0.1)
                    bodies.append(down.text)
                    refused = client.post("/predict", json={**SAMPLE_EMPLOYEE, "employee_id": known})
                    bodies.append(refused.text)
                finally:
                    pg.start()
            log = live.log_text()
    assert ready.status_code == 503 and ready.json()["reason"]
    assert unknown.status_code == 503 and "E99999" in unknown.json()["detail"]
    assert first.status_code == 503 and refused.status_code == 503
    assert down.status_code == 503 and down.json()["reason"]
    leaks = [(secret, body) for body in bodies for secret in secrets if secret in body]
    assert leaks == [], leaks
    assert pg.socket_dir in log and str(hidden_package) in log  # the details are in the log
