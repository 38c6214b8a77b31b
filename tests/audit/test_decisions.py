"""Decisions: a declared action and a reason for a prediction the store holds, else not found."""

from __future__ import annotations

import pytest

from attrition.audit.decisions import ACTIONS, MAX_REASON_CHARS, record_decision, validate_decision
from attrition.audit.errors import AuditInputError, PredictionNotFoundError
from attrition.audit.retention import purge
from tests.audit.builders import column, open_store, prediction

PID = "5b0b0a8e-8a7e-4a53-9d36-3c2f1a1f0b11"


@pytest.mark.parametrize(
    ("action", "reason", "field"),
    [
        ("fire", "because", "action"),
        ("", "because", "action"),
        ("stay_interview", None, "reason"),
        ("stay_interview", "", "reason"),
        ("stay_interview", "   \n\t", "reason"),
        ("stay_interview", "x" * (MAX_REASON_CHARS + 1), "reason"),
    ],
)
def test_invalid_decisions_name_the_field(action: str, reason: str | None, field: str) -> None:
    with pytest.raises(AuditInputError) as caught:
        validate_decision(PID, action, reason, "manager-1")
    assert caught.value.field == field and "\n" not in str(caught.value)


def test_the_error_for_an_unknown_action_lists_the_allowed_ones() -> None:
    with pytest.raises(AuditInputError, match="use one of no_action, stay_interview"):
        validate_decision(PID, "fire", "because", "manager-1")


@pytest.mark.parametrize("bad_id", ["", "x" * 37, "bad\nid"])
def test_a_malformed_prediction_id_is_refused(bad_id: str) -> None:
    with pytest.raises(AuditInputError, match="prediction_id"):
        validate_decision(bad_id, "no_action", "ok", "manager-1")


def test_a_valid_decision_is_trimmed() -> None:
    decision = validate_decision(PID, "compensation_review", "  below market pay  ", " m1 ")
    assert (decision.action, decision.reason, decision.decided_by) == (
        "compensation_review",
        "below market pay",
        "m1",
    )
    assert len(ACTIONS) == len(set(ACTIONS)) and "no_action" in ACTIONS


def test_decisions_are_stored_for_held_predictions_only(store_url: str) -> None:
    kept, old = prediction("E1"), prediction("E2", ts=0.0)
    with open_store(store_url) as store:
        store.record_blocking([kept, old])
        stored = record_decision(
            store.engine, validate_decision(kept.prediction_id, "stay_interview", "asked for a talk", "mgr")
        )
        assert stored.prediction_id == kept.prediction_id and stored.decided_by == "mgr"
        with pytest.raises(PredictionNotFoundError):  # never made
            record_decision(store.engine, validate_decision(PID, "no_action", "n/a", "mgr"))
        record_decision(store.engine, validate_decision(old.prediction_id, "no_action", "seen", "mgr"))
        assert purge(store.engine, 180 * 86400, actor="test").predictions == 1
        with pytest.raises(PredictionNotFoundError):  # purged
            record_decision(store.engine, validate_decision(old.prediction_id, "no_action", "late", "mgr"))
    rows = column(store_url, "SELECT reason FROM decisions")
    assert rows == ["asked for a talk"]  # the decision on the purged prediction went with it
