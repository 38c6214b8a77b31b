"""Every live answer says why (issue 24): exact contributions, top reasons in words, kept in the audit row.

The contributions are checked against the definition computed with the package's scikit-learn model
(predict_proba on hybrid rows over the package's background sample) to 1e-9; batch (fallback) answers
and opt-out rows carry none.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import joblib
import pandas as pd
import pytest

from attrition.modelpkg.artifact import EXPLANATION_FILE
from attrition.modelpkg.explain import background_rows
from attrition.modelpkg.explanation_build import reference_contributions
from tests.support.service import (
    SAMPLE_EMPLOYEE,
    Server,
    bearer,
    make_token,
    serve_in_thread,
    settings_for,
    stored_rows,
    tamper,
)

ROWS = [
    SAMPLE_EMPLOYEE,
    {"age": 24, "job_role": "Sales", "monthly_income": 2600.0, "years_at_company": 0},
    {"age": 59, "job_role": "Engineering", "monthly_income": 15000.0, "years_at_company": 19},
    {"age": 16, "job_role": "HR", "monthly_income": 0.01, "years_at_company": 0},
    {"age": 80, "job_role": "Finance", "monthly_income": 1e6, "years_at_company": 64},
]


@pytest.fixture(scope="module")
def pipeline(model_package: Path) -> Any:
    return joblib.load(model_package / "model.joblib")


@pytest.fixture(scope="module")
def background(model_package: Path) -> list[dict[str, Any]]:
    return background_rows(json.loads((model_package / EXPLANATION_FILE).read_text()))


def _check(
    body: dict[str, Any], row: dict[str, Any], pipeline: Any, background: list[dict[str, Any]]
) -> None:
    explanation = body["explanation"]
    contributions = explanation["contributions"]
    baseline, want = reference_contributions(pipeline, list(contributions), background, row)
    assert set(contributions) == {"monthly_income", "years_at_company", "job_role"}  # age is dropped
    assert max(abs(contributions[c] - want[c]) for c in want) <= 1e-9
    assert abs(explanation["baseline"] - baseline) <= 1e-9
    probability = float(pipeline.predict_proba(pd.DataFrame([row]))[0, 1])
    assert abs(explanation["baseline"] + math.fsum(contributions.values()) - probability) <= 1e-9
    reasons = explanation["reasons"]
    assert 1 <= len(reasons) <= 3
    sizes = [abs(reason["contribution"]) for reason in reasons]
    assert sizes == sorted(sizes, reverse=True)
    for reason in reasons:
        assert reason["contribution"] == contributions[reason["input"]]
        assert reason["text"].endswith(f": {reason['contribution']:+.2f}")


def test_answers_carry_contributions_equal_to_the_reference(
    live: Server, pipeline: Any, background: list[dict[str, Any]]
) -> None:
    with live.client(headers=bearer(make_token())) as client:
        for row in ROWS:
            reply = client.post("/predict", json=row)
            assert reply.status_code == 200, reply.text
            _check(reply.json(), row, pipeline, background)
        batch = client.post("/predict/batch", json={"employees": ROWS})
        assert batch.status_code == 200, batch.text
        for row, body in zip(ROWS, batch.json()["predictions"], strict=True):
            _check(body, row, pipeline, background)


def test_a_low_paid_new_sales_hire_reads_why_in_plain_words(live: Server) -> None:
    hire = {"age": 24, "job_role": "Sales", "monthly_income": 2600.0, "years_at_company": 0}
    with live.client(headers=bearer(make_token())) as client:
        reasons = client.post("/predict", json=hire).json()["explanation"]["reasons"]
    top = reasons[0]
    assert top["input"] in {"monthly_income", "years_at_company"} and top["contribution"] > 0
    texts = " | ".join(reason["text"] for reason in reasons)
    assert "monthly income 2,600 is lower than about" in texts
    assert "colleagues in Sales" in texts


@pytest.fixture
def audited(model_package: Path, scores_csv: Path, tmp_path: Path, audit_db: str) -> Iterator[Server]:
    with serve_in_thread(settings_for(tmp_path, model_package, scores_csv, audit_db=audit_db)) as running:
        yield running


def test_the_audit_row_keeps_the_reasons_the_answer_gave(audited: Server) -> None:
    with audited.client(headers=bearer(make_token())) as client:
        answer = client.post("/predict", json=ROWS[1]).json()
        opted = client.post("/predict", json={**ROWS[1], "opt_out": True}).json()
    assert opted["explanation"] is not None  # the answer still says why; only the stored row forgets
    rows = {
        row["prediction_id"]: row
        for row in stored_rows(audited.settings.audit_db, "SELECT prediction_id, reasons FROM predictions")
    }
    kept = json.loads(rows[answer["prediction_id"]]["reasons"])
    explanation = answer["explanation"]
    assert kept["contributions"] == explanation["contributions"]
    assert kept["baseline"] == explanation["baseline"]
    assert kept["reasons"] == [reason["text"] for reason in explanation["reasons"]]
    assert kept["measured_in"] == "probability"
    assert rows[opted["prediction_id"]]["reasons"] is None


def test_batch_answers_carry_no_reasons(package_copy: Path, scores_csv: Path, tmp_path: Path) -> None:
    tamper(package_copy)  # no verified model: the nightly batch score answers
    with (
        serve_in_thread(settings_for(tmp_path, package_copy, scores_csv)) as server,
        server.client(headers=bearer(make_token())) as client,
    ):
        body = client.post("/predict", json={**SAMPLE_EMPLOYEE, "employee_id": "E00007"}).json()
    assert body["source"] == "batch" and body["explanation"] is None
    reasons = stored_rows(str(tmp_path / "audit.sqlite"), "SELECT reasons FROM predictions")
    assert reasons == [{"reasons": None}]
