"""GET /scores/{employee_id}: the nightly batch score, 404 for unknown ids, 422 for bad ones."""

from __future__ import annotations

import csv
from pathlib import Path

from tests.support.service import (
    Server,
    bearer,
    make_token,
)


def test_scores_endpoint_serves_the_batch_csv(live: Server, scores_csv: Path) -> None:
    with scores_csv.open() as handle:
        rows = list(csv.DictReader(handle))
    with live.client(headers=bearer(make_token())) as client:
        for row in (rows[0], rows[-1]):
            reply = client.get(f"/scores/{row['employee_id']}")
            assert reply.status_code == 200
            body = reply.json()
            assert body["attrition_probability"] == round(float(row["attrition_probability"]), 4)
            assert body["decision"] is (row["decision"] == "1")
            assert body["source"] == "batch"
        missing = client.get("/scores/E99999")
        assert missing.status_code == 404
        assert "E99999" in missing.json()["detail"]
        assert client.get("/scores/bad%20id!").status_code == 422
