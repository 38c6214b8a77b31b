"""Run by the Airflow venv's python (never the project's): load the DAG folder as the DAG processor does
and print, as JSON, the import errors and each DAG's schedule and tasks (downstream ids, retries,
timeout, retry delay). tests/orchestration/test_dagbag.py compares that with the declared plan."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from airflow.dag_processing.dagbag import DagBag


def main(folder: str) -> None:
    path = Path(folder)
    bag = DagBag(dag_folder=path, bundle_path=path)
    report = {
        "import_errors": {str(k): v for k, v in bag.import_errors.items()},
        "dags": {
            dag_id: {
                "schedule": str(getattr(dag.timetable, "expression", None) or dag.timetable),
                "max_active_runs": dag.max_active_runs,
                "catchup": dag.catchup,
                "tasks": {
                    task.task_id: {
                        "downstream": sorted(task.downstream_task_ids),
                        "retries": task.retries,
                        "retry_delay_s": task.retry_delay.total_seconds(),
                        "timeout_s": task.execution_timeout.total_seconds()
                        if task.execution_timeout
                        else None,
                        "operator": type(task).__name__,
                        "trigger_dag_id": getattr(task, "trigger_dag_id", None),
                    }
                    for task in dag.tasks
                },
            }
            for dag_id, dag in bag.dags.items()
        },
    }
    print(json.dumps(report, sort_keys=True))


if __name__ == "__main__":
    main(sys.argv[1])
