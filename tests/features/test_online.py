"""Materialized online features: what the training set saw at the same date, looked up by id."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from attrition.dataset import FEATURES
from attrition.features.cli import main
from attrition.features.materialize import materialize
from attrition.features.online import OnlineStore, TerminatedEmployee, UnknownEmployee, online_parquet_bytes
from attrition.features.schema import FeatureStoreError
from attrition.features.training import training_set
from tests.features.builders import Person, apply, fill_store, simulated, with_change

JAN, FEB, MAR = date(2024, 1, 31), date(2024, 2, 29), date(2024, 3, 31)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> str:
    uri = str(tmp_path_factory.mktemp("online") / "store")
    fill_store(uri, simulated(500, 16, seed=4))
    return uri


def test_lookups_answer_features_or_say_why_not(tmp_path: Path) -> None:
    store = str(tmp_path / "store")
    anna = Person("E000001", "2020-03-01", birth_date="1990-02-10", job_role="Finance", monthly_income=5000)
    boris = Person("E000002", "2021-07-15")
    apply(store, [anna, boris], JAN)
    raised, left = with_change(anna, monthly_income=5200), with_change(boris, termination_date="2024-02-20")
    apply(store, [raised, left], FEB)
    later_hire = Person("E000003", "2024-04-01")  # pre-boarding: in the HRIS, not yet employed
    apply(store, [raised, left, later_hire], MAR)
    path = tmp_path / "online.parquet"
    assert main(["materialize", "--store", store, "--as-of", "2024-03-31", "--out", str(path)]) == 0
    online = OnlineStore.load(path)
    assert (online.as_of, online.table_version, online.latest_extract, len(online)) == (MAR, 2, MAR, 1)
    assert online.get("E000001") == {
        "age": 34,
        "job_role": "Finance",
        "monthly_income": 5200.0,
        "years_at_company": 4,
    }
    with pytest.raises(TerminatedEmployee) as gone:
        online.get("E000002")
    assert gone.value.termination_date == date(2024, 2, 20)
    for unknown in ("E000003", "E999999", ""):
        with pytest.raises(UnknownEmployee, match="is not in the HRIS as of 2024-03-31"):
            online.get(unknown)
    # as of a past date, from the version that was current then: what the HRIS showed then
    past = OnlineStore.load(_materialized(store, date(2024, 2, 15), tmp_path / "past.parquet", version=0))
    assert past.get("E000001")["monthly_income"] == 5000.0 and past.get("E000001")["age"] == 34
    assert past.get("E000002")["years_at_company"] == 2
    features = online.get("E000001")
    features["monthly_income"] = 0  # a caller's copy: the store is unchanged
    assert online.get("E000001")["monthly_income"] == 5200.0


def _materialized(store: str, as_of: date, path: Path, version: int | None = None) -> Path:
    path.write_bytes(online_parquet_bytes(materialize(store, as_of, version)))
    return path


def test_online_features_equal_the_training_rows_of_the_same_date(store: str, tmp_path: Path) -> None:
    """Training/serving parity: one state, one age rule, at the same date."""
    rows = training_set(store, date(2024, 4, 30), 1, table_version=15).frame
    at = rows[rows["snapshot_date"] == "2024-03-31"]
    online = OnlineStore.load(_materialized(store, date(2024, 3, 31), tmp_path / "m.parquet"))
    assert len(online) == len(at) > 450  # 500 at the month's start, less March's leavers
    for record in at.to_dict("records"):
        assert online.get(record["employee_id"]) == {name: record[name] for name in FEATURES}


def test_the_file_is_byte_reproducible_and_pins_its_version(store: str, tmp_path: Path) -> None:
    first = _materialized(store, date(2024, 4, 30), tmp_path / "a.parquet").read_bytes()
    again = _materialized(store, date(2024, 4, 30), tmp_path / "b.parquet", version=15).read_bytes()
    assert first == again
    assert OnlineStore.load(tmp_path / "b.parquet").table_version == 15


def test_materialize_refuses_a_date_before_anyone_and_a_missing_store(store: str, tmp_path: Path) -> None:
    with pytest.raises(FeatureStoreError, match="no employee is known as of 2022-12-31"):
        materialize(store, date(2022, 12, 31))
    with pytest.raises(FeatureStoreError, match="no feature table yet"):
        materialize(str(tmp_path / "none"), date(2024, 1, 31))
    not_online = tmp_path / "x.parquet"
    not_online.write_bytes(b"PAR1")
    with pytest.raises(pa.ArrowInvalid):
        OnlineStore.load(not_online)
    pq.write_table(pa.table({"employee_id": ["E000001"], "age": [40]}), not_online)
    with pytest.raises(ValueError, match="not an online feature file"):
        OnlineStore.load(not_online)
