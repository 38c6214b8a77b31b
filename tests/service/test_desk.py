"""The manager's desk over HTTP (the browser tests in tests/browser/ drive the same pages in Chromium):
sign-in with a token, CSRF, scopes, a look-up through the online feature store, decisions with
their mandatory reason landing in the audit store, and the headers that keep employee data out of
caches and frames.
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from attrition.audit.schema import decisions, predictions
from attrition.service.api.routers.desk import TEMPLATES
from attrition.service.core.tokens import Caller
from tests.service.online_files import write_online
from tests.support.service import Server, make_token, serve_in_thread, settings_for

EMPLOYEE = "E000001"


@pytest.fixture(scope="module")
def desk_server(
    model_package: Path, scores_csv: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """A service with an online feature store, for the module."""
    tmp = tmp_path_factory.mktemp("desk")
    online = write_online(tmp / "online.json.gz")
    with serve_in_thread(settings_for(tmp, model_package, scores_csv, online_features=online)) as server:
        yield server


def _csrf(page: httpx.Response) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', page.text)
    assert found, page.text
    return found.group(1)


@contextlib.contextmanager
def _signed_in(server: Server, scope: str, sub: str = "manager-1") -> Iterator[httpx.Client]:
    with server.client() as client:
        home = client.get("/desk")
        answer = client.post("/desk/token", data={"token": make_token(scope, sub=sub), "csrf": _csrf(home)})
        assert answer.status_code == 303, answer.text
        yield client


def test_the_sign_in_page_is_private_and_a_token_without_the_form_token_is_refused(
    desk_server: Server,
) -> None:
    with desk_server.client() as client:
        home = client.get("/desk")
        assert home.status_code == 200
        assert 'label for="token"' in home.text
        assert home.headers["cache-control"] == "no-store"
        assert "frame-ancestors 'none'" in home.headers["content-security-policy"]
        forged = client.post("/desk/token", data={"token": make_token("attrition:predict"), "csrf": "0" * 64})
        assert forged.status_code == 403
        assert "desk_session" not in client.cookies


def test_look_up_decide_with_a_reason_and_see_it_listed(
    desk_server: Server, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with _signed_in(desk_server, "attrition:predict attrition:decide") as client:
        page = client.get("/desk")
        looked = client.post("/desk/lookup", data={"employee_id": EMPLOYEE, "csrf": _csrf(page)})
        assert looked.status_code == 200, looked.text
        assert "the live model" in looked.text and 'id="probability"' in looked.text
        prediction_id = re.search(r'name="prediction_id" value="([^"]+)"', looked.text)
        assert prediction_id
        form = {"prediction_id": prediction_id.group(1), "employee_id": EMPLOYEE, "csrf": _csrf(looked)}
        blank = client.post("/desk/decide", data={**form, "action": "stay_interview", "reason": "  "})
        assert blank.status_code == 422 and "reason" in blank.text
        reason = "Asked for a stay interview after the team change"
        done = client.post("/desk/decide", data={**form, "action": "stay_interview", "reason": reason})
        assert done.status_code == 200, done.text
        assert 'id="recorded"' in done.text and reason in done.text
        no_csrf = client.post("/desk/decide", data={**form, "csrf": "", "action": "other", "reason": "x"})
        assert no_csrf.status_code == 403
        cross_site = client.post(
            "/desk/decide",
            data={**form, "action": "other", "reason": "x"},
            headers={"Origin": "https://evil.example"},
        )
        assert cross_site.status_code == 403
    assert desk_server.runtime is not None
    with desk_server.runtime.audit.engine.connect() as connection:
        stored = connection.execute(
            sa.select(decisions.c.reason, decisions.c.decided_by, predictions.c.endpoint)
            .join(predictions, predictions.c.prediction_id == decisions.c.prediction_id)
            .where(decisions.c.prediction_id == prediction_id.group(1))
        ).all()
    assert [tuple(row) for row in stored] == [(reason, "manager-1", "/desk/lookup")]
    assert EMPLOYEE not in caplog.text and reason not in caplog.text, "no employee data in the logs"


def test_without_the_decide_scope_there_is_no_form_and_a_post_is_403(desk_server: Server) -> None:
    with _signed_in(desk_server, "attrition:predict", sub="viewer") as client:
        looked = client.post(
            "/desk/lookup", data={"employee_id": EMPLOYEE, "csrf": _csrf(client.get("/desk"))}
        )
        assert looked.status_code == 200
        assert 'id="no-decide"' in looked.text and 'action="/desk/decide"' not in looked.text
        refused = client.post(
            "/desk/decide",
            data={"prediction_id": "x", "action": "other", "reason": "r", "csrf": _csrf(looked)},
        )
        assert refused.status_code == 403


def test_an_unknown_employee_and_an_anonymous_look_up_are_refused(desk_server: Server) -> None:
    with _signed_in(desk_server, "attrition:predict") as client:
        missing = client.post(
            "/desk/lookup", data={"employee_id": "E999999", "csrf": _csrf(client.get("/desk"))}
        )
        assert missing.status_code == 404
    with desk_server.client() as anonymous:
        assert anonymous.post("/desk/lookup", data={"employee_id": EMPLOYEE}).status_code == 401


@pytest.mark.parametrize("source", ["model", "batch"])
def test_reasons_are_shown_whatever_their_shape_and_the_fallback_is_named(source: str) -> None:
    prediction = {
        "attrition_probability": 0.31,
        "decision": True,
        "decision_threshold": 0.18 if source == "model" else None,
        "model_version": "v3-test",
        "source": source,
        "prediction_id": "p1",
        "warnings": [],
        "features": None,
    }
    reasons = [
        {"feature": "monthly_income", "contribution": 0.12},
        "tenure under two years",
        {"input": "job_role", "contribution": 0.05, "text": "job role Sales: +0.05"},
    ]
    html = TEMPLATES.env.get_template("desk.html").render(
        caller=Caller("m", frozenset({"attrition:predict"}), 0.0),
        can_predict=True,
        prediction=prediction,
        reasons=reasons,
        employee_id=EMPLOYEE,
        csrf="t",
        actions=(),
    )
    assert "feature monthly_income; contribution 0.12" in html and "tenure under two years" in html
    assert "job role Sales: +0.05" in html and "input job_role" not in html
    assert ("the live model" in html) == (source == "model")
    assert ("nightly batch scores" in html) == (source == "batch")
