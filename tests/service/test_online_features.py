"""Training/serving parity through the service: `/predict {"employee_id": ...}` scores, for every employee
active at a date D, exactly the features the point-in-time training set holds for that employee at D.

One simulated HRIS goes into a Delta feature store (tests/features/builders.py); the online file is
materialized as of D and the training set built with a snapshot at D, both from the same table version;
the service loads the file and answers each employee by id alone.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from attrition.dataset import FEATURES
from attrition.features.materialize import materialize
from attrition.features.online import online_file_bytes
from attrition.features.training import training_set
from tests.features.builders import fill_store, simulated
from tests.support.service import bearer, make_token, serve_in_thread, settings_for

D = date(2023, 6, 30)  # a month end with extracts on both sides
AS_OF = date(2023, 7, 31)  # T: with a 1-month horizon the training grid's last snapshot is D
MONTHS = 8  # extracts 2023-01-31 .. 2023-08-31


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> str:
    uri = str(tmp_path_factory.mktemp("parity") / "store")
    assert fill_store(uri, simulated(150, MONTHS, seed=22)) == MONTHS - 1
    return uri


@pytest.fixture(scope="module")
def training_rows(store: str) -> tuple[int, list[dict[str, Any]]]:
    """The training set's rows at snapshot D, and the table version they were read from."""
    rows = training_set(store, AS_OF, horizon_months=1)
    assert D in rows.snapshot_dates
    frame = rows.frame[rows.frame["snapshot_date"] == D.isoformat()]
    return rows.table_version, frame.to_dict("records")


@pytest.fixture(scope="module")
def served(
    store: str,
    training_rows: tuple[int, list[dict[str, Any]]],
    model_package: Path,
    scores_csv: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Any]:
    version, _ = training_rows
    tmp = tmp_path_factory.mktemp("parity-serve")
    online = tmp / "online.json.gz"
    online.write_bytes(online_file_bytes(materialize(store, D, version)))
    with serve_in_thread(settings_for(tmp, model_package, scores_csv, online_features=online)) as server:
        yield server


def test_the_service_scores_the_training_rows_features_at_the_same_date(
    served: Any, training_rows: tuple[int, list[dict[str, Any]]]
) -> None:
    version, rows = training_rows
    assert len(rows) > 100  # the company at D, less nobody: a real comparison, not an empty one
    with served.client(headers=bearer(make_token())) as client:
        for row in rows:
            reply = client.post("/predict", json={"employee_id": row["employee_id"]})
            assert reply.status_code == 200, (row["employee_id"], reply.text)
            body = reply.json()
            assert body["feature_source"] == "online_store" and body["source"] == "model"
            assert (body["feature_table_version"], body["features_as_of"]) == (version, D.isoformat())
            assert body["features"] == {name: row[name] for name in FEATURES}, row["employee_id"]
