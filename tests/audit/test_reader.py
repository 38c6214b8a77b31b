"""The monitor's view: a time window of predictions, inputs parsed, on either backend."""

from __future__ import annotations

import dataclasses

from attrition.audit.reader import read_predictions
from tests.audit.builders import FEATURES, open_store, prediction


def test_read_a_window_oldest_first(store_url: str) -> None:
    rows = [prediction("E1", ts=100.0), prediction("E2", ts=200.0, opt_out=True), prediction("E3", ts=300.0)]
    with open_store(store_url) as store:
        store.record_blocking(list(reversed(rows)))
        window = read_predictions(store.engine, since=150.0, until=400.0)
        everything = read_predictions(store.engine, limit=2)
    assert [r["prediction_id"] for r in window] == [rows[1].prediction_id, rows[2].prediction_id]
    assert window[0]["inputs"] is None and window[0]["opt_out"] is True and window[0]["employee_id"] is None
    assert window[1]["inputs"] == FEATURES and window[1]["decision"] is True
    assert [r["employee_id"] for r in everything] == ["E1", None]


def test_reasons_are_read_back_as_the_answer_gave_them(store_url: str) -> None:
    reasons = {"baseline": 0.16, "contributions": {"job_role": 0.3}, "reasons": ["job role Sales: +0.30"]}
    explained = dataclasses.replace(prediction("E1", ts=100.0), reasons=reasons)
    with open_store(store_url) as store:
        store.record_blocking([explained, prediction("E2", ts=200.0)])
        first, second = read_predictions(store.engine)
    assert first["reasons"] == reasons and second["reasons"] is None
