"""Materialized online features: what the training set saw at the same date, looked up by id."""

from __future__ import annotations

import gzip
import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from attrition.dataset import FEATURES
from attrition.features.cli import main
from attrition.features.materialize import materialize
from attrition.features.online import (
    FORMAT,
    OnlineSnapshot,
    OnlineStore,
    TerminatedEmployee,
    UnknownEmployee,
    online_file_bytes,
)
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
    path = tmp_path / "online.json.gz"
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
    past = OnlineStore.load(_materialized(store, date(2024, 2, 15), tmp_path / "past.json.gz", version=0))
    assert past.get("E000001")["monthly_income"] == 5000.0 and past.get("E000001")["age"] == 34
    assert past.get("E000002")["years_at_company"] == 2
    features = online.get("E000001")
    features["monthly_income"] = 0  # a caller's copy: the store is unchanged
    assert online.get("E000001")["monthly_income"] == 5200.0


def _materialized(store: str, as_of: date, path: Path, version: int | None = None) -> Path:
    path.write_bytes(online_file_bytes(materialize(store, as_of, version)))
    return path


def test_online_features_equal_the_training_rows_of_the_same_date(store: str, tmp_path: Path) -> None:
    """Training/serving parity: one state, one age rule, at the same date."""
    rows = training_set(store, date(2024, 4, 30), 1, table_version=15).frame
    at = rows[rows["snapshot_date"] == "2024-03-31"]
    online = OnlineStore.load(_materialized(store, date(2024, 3, 31), tmp_path / "m.json.gz"))
    assert len(online) == len(at) > 450  # 500 at the month's start, less March's leavers
    for record in at.to_dict("records"):
        assert online.get(record["employee_id"]) == {name: record[name] for name in FEATURES}


def test_the_file_is_byte_reproducible_and_pins_its_version(store: str, tmp_path: Path) -> None:
    first = _materialized(store, date(2024, 4, 30), tmp_path / "a.json.gz").read_bytes()
    again = _materialized(store, date(2024, 4, 30), tmp_path / "b.json.gz", version=15).read_bytes()
    assert first == again
    assert OnlineStore.load(tmp_path / "b.json.gz").table_version == 15


def test_materialize_refuses_a_date_before_anyone_and_a_missing_store(store: str, tmp_path: Path) -> None:
    with pytest.raises(FeatureStoreError, match="no employee is known as of 2022-12-31"):
        materialize(store, date(2022, 12, 31))
    with pytest.raises(FeatureStoreError, match="no feature table yet"):
        materialize(str(tmp_path / "none"), date(2024, 1, 31))
    with pytest.raises(FileNotFoundError):
        OnlineStore.load(tmp_path / "missing.json.gz")


SNAPSHOT = OnlineSnapshot(
    {"E3": (20, "HR", 0.1 + 0.2, 0), "E1": (34, "Sales", 5098.79, 4)},
    {"E2": date(2024, 2, 20)},
    MAR,
    7,
    FEB,
)


def test_the_file_is_gzipped_canonical_json_whose_values_read_back_exactly(tmp_path: Path) -> None:
    data = online_file_bytes(SNAPSHOT)
    assert data[:2] == b"\x1f\x8b" and data[4:8] == b"\0\0\0\0"  # gzip, mtime 0
    assert data[3] & 0x08 == 0  # FNAME unset: no file name in the header
    text = gzip.decompress(data).decode()
    assert text == (
        '{"active":{"age":[34,20],"employee_id":["E1","E3"],"job_role":["Sales","HR"],'
        '"monthly_income":[5098.79,0.30000000000000004],"years_at_company":[4,0]},'
        '"as_of":"2024-03-31","format":"attrition.online/1","latest_extract":"2024-02-29",'
        '"left":{"employee_id":["E2"],"termination_date":["2024-02-20"]},"table_version":7}'
    )
    assert json.loads(text)["format"] == FORMAT
    assert online_file_bytes(SNAPSHOT) == data
    path = tmp_path / "online.json.gz"
    path.write_bytes(data)
    online = OnlineStore.load(path)
    assert (online.as_of, online.table_version, online.latest_extract) == (MAR, 7, FEB)
    assert online.active_ids() == ["E1", "E3"] and "E1" in online and "E2" not in online
    features = online.get("E3")
    assert features == {"age": 20, "job_role": "HR", "monthly_income": 0.1 + 0.2, "years_at_company": 0}
    assert [type(features[name]) for name in FEATURES] == [int, str, float, int]
    with pytest.raises(TerminatedEmployee):
        online.get("E2")


def _document(**changes: object) -> dict[str, Any]:
    """The snapshot's document with keys replaced (None: removed)."""
    document: dict[str, Any] = json.loads(gzip.decompress(online_file_bytes(SNAPSHOT)))
    for key, value in changes.items():
        if value is None:
            del document[key]
        else:
            document[key] = value
    return document


def _active(**columns: list[Any]) -> dict[str, list[Any]]:
    """The snapshot's active columns with some replaced."""
    return {**_document()["active"], **columns}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty file"),
        (b"PAR1", "not a readable gzip file"),
        (b'{"format": "attrition.online/1"}', "not a readable gzip file"),
        (online_file_bytes(SNAPSHOT)[:-12], "not a readable gzip file"),  # cut short
        # mtime=0: parameters must be equal bytes in every xdist worker, which collect them apart
        (gzip.compress(b"not json", mtime=0), "gzip, but not JSON inside"),
        (gzip.compress(b'{"format": "attrition.online/1", "x": NaN}', mtime=0), "NaN is not a feature value"),
        (gzip.compress(b"[1, 2]", mtime=0), "not an online feature file"),
        (_document(format="attrition.online/2"), "not an online feature file"),
        (_document(left=None), "not an online feature file: missing left"),
        (_document(active=[]), "'active' must be an object of the columns employee_id, age, job_role"),
        (_document(active={**_active(), "attrition": [0, 1]}), "'active' must be an object of the columns"),
        (_document(active=_active(age=[34])), "'active': the columns must be lists of one length"),
        (_document(active=_active(age="34")), "'active': the columns must be lists of one length"),
        (_document(active=_active(age=[34, "20"])), "'active': employee 'E3': age '20' is not int"),
        (_document(active=_active(age=[34, 20.0])), "'active': employee 'E3': age 20.0 is not int"),
        (_document(active=_active(years_at_company=[True, 0])), "employee 'E1': years_at_company True"),
        (_document(active=_active(job_role=["Sales", None])), "employee 'E3': job_role None is not str"),
        (_document(active=_active(monthly_income=[1.0, "2"])), "monthly_income '2' is not float or int"),
        (_document(active=_active(employee_id=["E1", 3])), "'active': row 1: employee_id 3 is not str"),
        (_document(active=_active(employee_id=["E1", "E1"])), "'active': employee 'E1' appears twice"),
        (_document(left={"employee_id": ["E2"], "termination_date": ["20 Feb"]}), "'E2': termination_date"),
        (_document(left={"employee_id": ["E2"], "termination_date": [20240220]}), "'E2': termination_date"),
        (_document(left={"employee_id": ["E1"], "termination_date": ["2024-02-20"]}), "both active and"),
        (_document(as_of="yesterday"), "as_of and latest_extract must be YYYY-MM-DD dates"),
        (_document(table_version="7"), "table_version '7' is not"),
    ],
)
def test_anything_else_is_refused_with_one_line_naming_the_file(
    tmp_path: Path, content: bytes | dict[str, Any], message: str
) -> None:
    path = tmp_path / "online.json.gz"
    path.write_bytes(content if isinstance(content, bytes) else gzip.compress(json.dumps(content).encode()))
    with pytest.raises(ValueError) as refused:
        OnlineStore.load(path)
    assert str(refused.value).startswith(f"{path}: ") and message in str(refused.value)
    assert "\n" not in str(refused.value)


def test_an_income_written_as_a_json_integer_reads_as_a_float(tmp_path: Path) -> None:
    path = tmp_path / "online.json.gz"
    path.write_bytes(
        gzip.compress(json.dumps(_document(active=_active(monthly_income=[5200, 1.5]))).encode())
    )
    income = OnlineStore.load(path).get("E1")["monthly_income"]
    assert income == 5200.0 and type(income) is float
