"""Airflow for the tests: its own venv (`make airflow-install`), a throwaway AIRFLOW_HOME with a SQLite
database, and `airflow dags test` runs whose task states are read back from that database.

Airflow is never imported here: the tests run in the project's venv and drive Airflow's CLI in
build/airflow-venv, exactly as the DAGs drive the project's CLI (the two pin different fastapi).
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DAGS = REPO / "deploy" / "airflow" / "dags"
AIRFLOW_VENV = Path(os.environ.get("ATTRITION_AIRFLOW_VENV", REPO / "build" / "airflow-venv"))
PROJECT_BIN = Path(sys.executable).parent
DAG_TEST_TIMEOUT_S = 1800


def require_airflow() -> Path:
    """The airflow command of the project's Airflow venv; skip unless `make airflow-test` asked for it."""
    if os.environ.get("ATTRITION_AIRFLOW_TEST") != "1":
        pytest.skip("Airflow tier: run `make airflow-test` (sets ATTRITION_AIRFLOW_TEST=1)")
    airflow = AIRFLOW_VENV / "bin" / "airflow"
    if not airflow.exists():
        pytest.fail(f"{airflow} is missing: `make airflow-install` builds it from the pinned lock")
    return airflow


@dataclass(frozen=True)
class DagRun:
    """What one `airflow dags test` did: its exit code, output, run state, task states and tries."""

    returncode: int
    output: str
    state: str
    tasks: dict[str, str]
    tries: dict[str, int]
    seconds: float


class Airflow:
    """One AIRFLOW_HOME (SQLite) and the environment the DAGs read their paths from."""

    def __init__(self, home: Path, dag_env: dict[str, str]) -> None:
        self.airflow = require_airflow()
        self.home = home
        home.mkdir(parents=True, exist_ok=True)
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "VIRTUAL_ENV"))},
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
            "ATTRITION_BIN": str(PROJECT_BIN),
            "ATTRITION_RETRY_DELAY_S": "1",
            **dag_env,
        }
        self.env["PATH"] = f"{AIRFLOW_VENV / 'bin'}{os.pathsep}{self.env.get('PATH', '')}"
        self.cli("db", "migrate")

    def cli(self, *args: str, timeout_s: float = 300) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [str(self.airflow), *args],
            env=self.env,
            cwd=self.home,
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
        )
        if done.returncode != 0:
            raise AssertionError(
                f"airflow {' '.join(args)} exited {done.returncode}\n{done.stdout}\n{done.stderr}"
            )
        return done

    def dags_test(self, dag_id: str, logical_date: str) -> DagRun:
        """`airflow dags test DAG DATE` (every task in this process, no scheduler), then its states."""
        started = time.monotonic()
        done = subprocess.run(
            [str(self.airflow), "dags", "test", dag_id, logical_date],
            env=self.env,
            cwd=self.home,
            capture_output=True,
            text=True,
            timeout=DAG_TEST_TIMEOUT_S,
            check=False,
        )
        seconds = time.monotonic() - started
        output = done.stdout + done.stderr
        (self.home / f"{dag_id}-{logical_date}-{int(time.time())}.log").write_text(output)
        state, tasks, tries = self.states(dag_id, logical_date)
        return DagRun(done.returncode, output, state, tasks, tries, seconds)

    def states(self, dag_id: str, logical_date: str) -> tuple[str, dict[str, str], dict[str, int]]:
        """The newest run of DAG at that date: its state, and each task's state and try number."""
        with sqlite3.connect(self.home / "airflow.db") as db:
            found = db.execute(
                "SELECT run_id, state FROM dag_run WHERE dag_id = ? AND logical_date LIKE ? "
                "ORDER BY id DESC LIMIT 1",
                (dag_id, f"{logical_date}%"),
            ).fetchone()
            if found is None:
                return "missing", {}, {}
            run_id, state = found
            rows = db.execute(
                "SELECT task_id, state, try_number FROM task_instance WHERE dag_id = ? AND run_id = ?",
                (dag_id, run_id),
            ).fetchall()
        return state, {t: s for t, s, _ in rows}, {t: n for t, _, n in rows}

    def runs(self, dag_id: str) -> list[tuple[str, str]]:
        """Every run of DAG as (run_id, state): a run the decay trigger queued shows up here."""
        with sqlite3.connect(self.home / "airflow.db") as db:
            return db.execute(
                "SELECT run_id, state FROM dag_run WHERE dag_id = ? ORDER BY id", (dag_id,)
            ).fetchall()
