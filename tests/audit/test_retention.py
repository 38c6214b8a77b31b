"""Retention purge: old predictions and decisions go, exactly once, even with replicas racing."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from attrition.audit.decisions import record_decision, validate_decision
from attrition.audit.errors import AuditInputError
from attrition.audit.retention import parse_duration, purge
from attrition.audit.schema import decisions
from tests.audit.builders import (
    PROCESS_TIMEOUT_S,
    REPO_ROOT,
    column,
    count,
    open_store,
    prediction,
    python_module,
)

DAY = 86400.0


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("180d", 180 * DAY), ("12h", 43200), ("30m", 1800), ("45s", 45), ("2w", 1209600), ("1.5d", 129600)],
)
def test_parse_duration(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "180", "d", "-1d", "0d", "18x", "1e3d", "180 days"])
def test_parse_duration_rejects_with_the_accepted_format(text: str) -> None:
    with pytest.raises(AuditInputError, match="use a positive number followed by s, m, h, d or w"):
        parse_duration(text)


def _seed(url: str, old: int, fresh: int) -> None:
    """`old` predictions 200 days old (a decision on every 10th), `fresh` ones from today."""
    now = time.time()
    with open_store(url) as store:
        old_rows = [prediction(f"E{i}", ts=now - 200 * DAY) for i in range(old)]
        store.record_blocking(old_rows + [prediction(f"F{i}") for i in range(fresh)])
        with store.engine.begin() as connection:  # in bulk: one transaction, not one per decision
            connection.execute(
                decisions.insert(),
                [
                    {
                        "decision_id": f"d{n}",
                        "prediction_id": row.prediction_id,
                        "ts": row.ts,
                        "created_at": "t",
                        "decided_by": "mgr",
                        "action": "no_action",
                        "reason": "seen",
                    }
                    for n, row in enumerate(old_rows[::10])
                ],
            )


def test_purge_deletes_old_predictions_with_their_decisions_and_logs_counts(store_url: str) -> None:
    _seed(store_url, 30, 5)
    with open_store(store_url) as store:
        fresh = column(store_url, "SELECT prediction_id FROM predictions WHERE employee_id = 'F0'")[0]
        record_decision(store.engine, validate_decision(str(fresh), "no_action", "recent", "mgr"))
        first = purge(store.engine, 180 * DAY, actor="ops")
        again = purge(store.engine, 180 * DAY, actor="ops")
    assert (first.predictions, first.decisions) == (30, 3)
    assert (again.predictions, again.decisions) == (0, 0)  # idempotent, and nothing logged
    assert count(store_url, "predictions") == 5 and count(store_url, "decisions") == 1
    assert column(store_url, "SELECT detail FROM admin_log WHERE action = 'purge'") == [
        '{"decisions": 3, "older_than_s": 15552000.0, "predictions": 30}'
    ]


def test_old_decisions_go_even_when_their_prediction_is_recent(store_url: str) -> None:
    row = prediction("E1", ts=time.time() - 100 * DAY)
    with open_store(store_url) as store:
        store.record_blocking([row])
        decision = validate_decision(row.prediction_id, "no_action", "seen", "mgr")
        record_decision(store.engine, decision, now=time.time() - 90 * DAY)
        result = purge(store.engine, 60 * DAY, actor="ops")
    assert (result.predictions, result.decisions) == (1, 1)


@pytest.mark.e2e
@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_two_replicas_purging_at_once_delete_each_old_row_exactly_once(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    url = str(tmp_path / "audit.sqlite") if backend == "sqlite" else request.getfixturevalue("pg_url")
    _seed(url, 20_000, 100)
    start = tmp_path / "go"
    racers = [
        subprocess.Popen(
            python_module("tests.audit.purge_racer", url, str(start), str(n)),
            cwd=REPO_ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(2)
    ]
    for racer in racers:  # both connected and polling for the start file (they time out on their own)
        assert racer.stdout is not None and racer.stdout.readline() == "ready\n", racer.stderr
    start.touch()
    deleted = [0, 0]
    for racer in racers:
        out, err = racer.communicate(timeout=PROCESS_TIMEOUT_S)
        assert racer.returncode == 0, err
        _, predictions, decisions = out.split()
        deleted = [deleted[0] + int(predictions), deleted[1] + int(decisions)]
    assert deleted == [20_000, 2_000]
    assert count(url, "predictions") == 100 and count(url, "decisions") == 0
    assert count(url, "admin_log", "action = 'purge'") == 1  # the one that found rows
