"""POST /decisions on each audit backend: 201 with the caller's subject, 404 unknown, 422, 401/403."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from attrition.audit.decisions import ACTIONS
from tests.support.service import (
    SAMPLE_EMPLOYEE,
    Server,
    bearer,
    make_token,
    run_cli,
    serve_in_thread,
    settings_for,
    stored_rows,
)


@pytest.fixture
def server(model_package: Path, scores_csv: Path, tmp_path: Path, audit_db: str) -> Iterator[Server]:
    with serve_in_thread(settings_for(tmp_path, model_package, scores_csv, audit_db=audit_db)) as running:
        yield running


def _predict(server: Server, **changes: object) -> str:
    with server.client(headers=bearer(make_token())) as client:
        reply = client.post("/predict", json={**SAMPLE_EMPLOYEE, **changes})
    assert reply.status_code == 200, reply.text
    return str(reply.json()["prediction_id"])


def test_a_decision_is_stored_with_the_callers_subject(server: Server, decide_token: str) -> None:
    prediction_id = _predict(server, employee_id="E00042")
    body = {"prediction_id": prediction_id, "action": "stay_interview", "reason": "  flagged; met on Monday "}
    with server.client(headers=bearer(decide_token)) as client:
        reply = client.post("/decisions", json=body)
    assert reply.status_code == 201, reply.text
    stored = reply.json()
    assert stored["prediction_id"] == prediction_id and stored["decided_by"] == "manager-1"
    assert (stored["action"], stored["reason"]) == ("stay_interview", "flagged; met on Monday")
    rows = stored_rows(server.settings.audit_db, "SELECT * FROM decisions")
    assert [(r["decision_id"], r["prediction_id"], r["decided_by"], r["reason"]) for r in rows] == [
        (stored["decision_id"], prediction_id, "manager-1", "flagged; met on Monday")
    ]


def test_an_unknown_prediction_is_404(server: Server, decide_token: str) -> None:
    body = {"prediction_id": "00000000-0000-4000-8000-000000000000", "action": "no_action", "reason": "x"}
    with server.client(headers=bearer(decide_token)) as client:
        reply = client.post("/decisions", json=body)
    assert reply.status_code == 404
    assert reply.json()["detail"].startswith("prediction_id: no prediction 00000000-")
    assert stored_rows(server.settings.audit_db, "SELECT COUNT(*) AS n FROM decisions") == [{"n": 0}]


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"reason": None}, "reason", "reason:"),
        ({"reason": "   "}, "reason", "reason:"),
        ({"reason": "r" * 2001}, "reason", "reason:"),
        ({"action": "fire"}, "action", "'fire' is not allowed; use one of no_action"),
        ({"prediction_id": ""}, "prediction_id", "prediction_id:"),
        ({"extra": 1}, "extra", "extra:"),
    ],
    ids=["missing-reason", "blank-reason", "long-reason", "unknown-action", "empty-id", "unknown-field"],
)
def test_a_bad_decision_is_422_naming_the_field(
    live: Server, decide_token: str, change: dict[str, object], field: str, message: str
) -> None:
    body: dict[str, object] = {"prediction_id": "p", "action": "no_action", "reason": "ok", **change}
    body = {k: v for k, v in body.items() if v is not None}
    with live.client(headers=bearer(decide_token)) as client:
        reply = client.post("/decisions", json=body)
    assert reply.status_code == 422, reply.text
    assert reply.json()["errors"][0]["field"] == field
    assert message in reply.json()["detail"] and "\n" not in reply.json()["detail"]


def test_deciding_needs_the_decide_scope(live: Server) -> None:
    body = {"prediction_id": "p", "action": ACTIONS[0], "reason": "r"}
    with live.client() as client:
        assert client.post("/decisions", json=body).status_code == 401
        refused = client.post("/decisions", json=body, headers=bearer(make_token("attrition:predict")))
        assert refused.status_code == 403
        assert 'scope="attrition:decide"' in refused.headers["www-authenticate"]
        minted = run_cli("token", "--sub", "mgr", "--scope", "attrition:decide")
        assert minted.returncode == 0, minted.stderr
        accepted = client.post("/decisions", json=body, headers=bearer(minted.stdout.strip()))
        assert accepted.status_code == 404  # authorized; only the prediction is unknown


def test_opt_out_stores_no_inputs_and_its_decision_no_employee(server: Server, decide_token: str) -> None:
    prediction_id = _predict(server, employee_id="E00077", opt_out=True)
    body = {"prediction_id": prediction_id, "action": "no_action", "reason": "asked not to be profiled"}
    with server.client(headers=bearer(decide_token)) as client:
        assert client.post("/decisions", json=body).status_code == 201
    rows = stored_rows(
        server.settings.audit_db,
        "SELECT opt_out, inputs, employee_id, probability FROM predictions "
        f"WHERE prediction_id = '{prediction_id}'",
    )
    assert len(rows) == 1
    assert (rows[0]["opt_out"], rows[0]["inputs"], rows[0]["employee_id"]) == (1, None, None)
    assert rows[0]["probability"] is not None
