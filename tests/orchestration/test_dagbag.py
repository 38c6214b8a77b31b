"""The DAG folder imports cleanly in Airflow's own venv, and each DAG's task graph, retries and timeouts
are the ones declared here (the plan's schedule: daily features and monitor, weekly and monthly retrain)."""

from __future__ import annotations

import json
import subprocess
from typing import Any

import pytest

from tests.orchestration.airflow_env import AIRFLOW_VENV, DAGS, require_airflow

pytestmark = pytest.mark.e2e

RETRAIN_GRAPH = {
    "training_set": ["dvc_repro"],
    "dvc_repro": ["commit_push"],
    "commit_push": ["propose"],
    "propose": ["gate_promote"],
    "gate_promote": ["deploy"],
    "deploy": [],
}
GRAPHS = {
    "attrition_daily": {
        "hris_extract": ["feature_refresh"],
        "feature_refresh": ["online_materialize", "outcomes"],
        "online_materialize": ["batch_scores"],
        "batch_scores": [],
        "outcomes": ["monitor"],
        "monitor": ["decay_confirmed"],
        "decay_confirmed": ["start_retraining"],
        "start_retraining": [],
    },
    "attrition_weekly": RETRAIN_GRAPH,
    "attrition_monthly": RETRAIN_GRAPH,
}
SCHEDULES = {
    "attrition_daily": "30 2 * * *",
    "attrition_weekly": "0 3 * * 1",
    "attrition_monthly": "0 4 1 * *",
}


@pytest.fixture(scope="module")
def report() -> dict[str, Any]:
    require_airflow()
    done = subprocess.run(
        [
            str(AIRFLOW_VENV / "bin" / "python"),
            str(DAGS.parents[2] / "tests/orchestration/dagbag_report.py"),
            str(DAGS),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={"AIRFLOW_HOME": "/nonexistent-airflow-home", "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def test_no_import_errors(report: dict[str, Any]) -> None:
    assert report["import_errors"] == {}
    assert set(report["dags"]) == set(GRAPHS)


@pytest.mark.parametrize("dag_id", sorted(GRAPHS))
def test_task_graph_is_as_declared(report: dict[str, Any], dag_id: str) -> None:
    dag = report["dags"][dag_id]
    assert {task: spec["downstream"] for task, spec in dag["tasks"].items()} == GRAPHS[dag_id]
    assert dag["schedule"] == SCHEDULES[dag_id]
    assert dag["max_active_runs"] == 1 and dag["catchup"] is False


def test_every_task_declares_its_retries_and_timeout(report: dict[str, Any]) -> None:
    for dag in report["dags"].values():
        for task_id, spec in dag["tasks"].items():
            assert spec["timeout_s"] and spec["timeout_s"] > 0, task_id
            assert spec["retries"] >= 0 and spec["retry_delay_s"] == 300, task_id
    retrain = report["dags"]["attrition_weekly"]["tasks"]
    assert retrain["dvc_repro"]["timeout_s"] == 120 * 60
    assert report["dags"]["attrition_daily"]["tasks"]["hris_extract"]["retries"] == 6  # a late HRIS drop


def test_a_confirmed_decay_starts_the_weekly_flow_through_airflow(report: dict[str, Any]) -> None:
    trigger = report["dags"]["attrition_daily"]["tasks"]["start_retraining"]
    assert trigger["operator"] == "TriggerDagRunOperator"
    assert trigger["trigger_dag_id"] == "attrition_weekly"
