"""Prediction rows: every row gets its own id, and an opt-out keeps neither inputs nor employee id."""

from __future__ import annotations

import dataclasses
import json
from datetime import date

from attrition.audit.records import PredictionRow, json_text
from tests.audit.builders import FEATURES, prediction


def test_rows_get_distinct_prediction_ids() -> None:
    ids = {prediction().prediction_id for _ in range(1000)}
    assert len(ids) == 1000


def test_opt_out_drops_inputs_and_employee_id_but_keeps_the_answer() -> None:
    values = prediction("E7", opt_out=True).values()
    assert values["inputs"] is None and values["employee_id"] is None
    assert values["opt_out"] == 1 and values["probability"] == 0.25 and values["decision"] == 1


def test_normal_rows_keep_inputs_as_json() -> None:
    values = prediction("E7", ts=0.0).values()
    assert json.loads(values["inputs"]) == FEATURES and values["employee_id"] == "E7"
    assert values["created_at"] == "1970-01-01T00:00:00.000+00:00"


def test_stored_json_has_sorted_keys_and_round_trips_every_float() -> None:
    """The same document json.dumps(sort_keys=True) stores, compact; floats come back bit for bit."""
    value = {"b": [0.1, 1e-05, 2.5e300, -0.0], "a": {"z": 1, "y": None, "x": "é"}, "c": True}
    text = json_text(value)
    assert text == '{"a":{"x":"é","y":null,"z":1},"b":[0.1,0.00001,2.5e+300,-0.0],"c":true}'
    assert json.loads(text) == json.loads(json.dumps(value, sort_keys=True)) == value


def test_stored_json_takes_a_float_subclass_as_json_dumps_did() -> None:
    class Score(float):  # as NumPy's float64 is
        pass

    assert json_text({"p": Score(0.25)}) == '{"p":0.25}'


def test_an_opt_out_keeps_no_batch_score_and_only_two_decimals_of_a_live_one() -> None:
    live = PredictionRow.for_prediction(
        caller="c",
        endpoint="/predict",
        model_version="v",
        source="model",
        opt_out=True,
        employee_id="E7",
        inputs=None,
        probability=0.256661214,
        decision=True,
    )
    batch = dataclasses.replace(live, source="batch", probability=0.2566612141)  # built any way
    assert live.probability == 0.26 and live.values()["probability"] == 0.26
    assert batch.values()["probability"] is None
    assert dataclasses.replace(live, opt_out=False, probability=0.2566612141).values()["probability"] == (
        0.2566612141  # only opt-outs are coarsened
    )


def test_a_row_scored_from_the_online_store_names_its_version_even_when_opted_out() -> None:
    row = PredictionRow.for_prediction(
        caller="c",
        endpoint="/predict",
        model_version="v",
        source="model",
        opt_out=True,
        employee_id="E7",
        inputs=dict(FEATURES),
        probability=0.25,
        decision=True,
        feature_table_version=3,
        features_as_of=date(2024, 3, 31),
    )
    values = row.values()
    assert (values["feature_table_version"], values["features_as_of"]) == (3, "2024-03-31")
    assert values["inputs"] is None and values["employee_id"] is None  # the opt-out rule is unchanged
    sent = prediction("E7").values()
    assert (sent["feature_table_version"], sent["features_as_of"]) == (None, None)


def test_a_live_row_keeps_its_reasons_and_an_opt_out_row_none() -> None:
    reasons = {
        "measured_in": "probability",
        "baseline": 0.16,
        "contributions": {"monthly_income": 0.21, "job_role": 0.05},
        "reasons": ["monthly income 3,200 is lower than about 80% of colleagues in Sales: +0.21"],
    }
    kept = dict(
        caller="c",
        endpoint="/predict",
        model_version="v",
        source="model",
        employee_id="E7",
        inputs=dict(FEATURES),
        probability=0.42,
        decision=True,
        reasons=reasons,
    )
    assert json.loads(PredictionRow.for_prediction(opt_out=False, **kept).values()["reasons"]) == reasons
    opted = PredictionRow.for_prediction(opt_out=True, **kept)
    assert opted.reasons is None and opted.values()["reasons"] is None  # the sentences quote the inputs
    assert dataclasses.replace(opted, reasons=reasons).values()["reasons"] is None  # built any way
    assert prediction("E8").values()["reasons"] is None
