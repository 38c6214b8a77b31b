"""`airflow dags test` runs the DAGs end to end on a temporary company (tests/orchestration/company.py):
the daily flow refreshes the store, materializes, scores and monitors; the weekly flow retrains, and
its gate passes (promote, deploy) or fails (nothing deployed, the run still green); re-running a
logical date changes nothing; a failing task is retried, then fails the run.

The tests share one company and one Airflow database and run in file order, as the days do:
daily 2025-12-31 and its re-run, weekly 2025-12-31 (pass) and its re-run, monthly 2025-12-31 after
main went back to a worse method (fail), a day whose extract never arrived. Each run's duration is
printed (`-s`) for the README.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run
from tests.orchestration.airflow_env import Airflow, DagRun, require_airflow
from tests.orchestration.company import (
    WEAK_METHOD,
    build_company,
    commit_params,
    dag_env,
    served_model_version,
)
from tests.support.registry_repo import set_params

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(1500)]  # a DVC build and gate per weekly run

DAY = "2025-12-31"
NO_EXTRACT_DAY = "2025-12-15"  # the simulated HRIS drops month-end extracts only


@pytest.fixture(scope="module")
def company(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    require_airflow()
    return build_company(tmp_path_factory.mktemp("company"))


@pytest.fixture(scope="module")
def airflow(company: dict[str, Path]) -> Airflow:
    return Airflow(company["root"] / "airflow-home", dag_env(company))


def _report(name: str, result: DagRun) -> None:
    print(f"\n{name}: {result.state} in {result.seconds:.1f} s; tasks {result.tasks}")


def _registry(repo: Path) -> dict[str, list[str]]:
    shown = json.loads(run(["attrition", "registry", "show", "--json"], repo).stdout)
    return {row["version"]: sorted(row["stages"]) for row in shown}


def _fingerprint(company: dict[str, Path]) -> dict[str, Any]:
    """Everything a flow may change: git refs here and on origin, the store's log, what serves, outputs."""
    repo = company["repo"]
    files = {}
    for folder in (company["store"], company["runs"]):
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                files[str(path.relative_to(company["root"]))] = hashlib.sha256(path.read_bytes()).hexdigest()
    # refs/exps/ is DVC's local log of experiments: each `dvc exp run` adds one, never pushed, not a
    # result of the run (the branch, tags and origin are).
    refs = [line for line in run(["git", "show-ref"], repo).stdout.splitlines() if " refs/exps/" not in line]
    return {
        "refs": refs,
        "origin": run(["git", "ls-remote", "origin"], repo).stdout,
        "head": run(["git", "rev-parse", "HEAD"], repo).stdout,
        "serving": served_model_version(company),
        "current": str((company["deploy_dir"] / "current").resolve()),
        "files": files,
    }


def _assert_unchanged(before: dict[str, Any], after: dict[str, Any]) -> None:
    changed = {
        k
        for k in before["files"].keys() | after["files"].keys()
        if before["files"].get(k) != after["files"].get(k)
    }
    # monitoring.json and monitor.prom record when the monitor ran (finished_at): the one moving part
    assert {Path(k).name for k in changed} <= {"monitoring.json", "monitor.prom"}, changed
    assert {k: v for k, v in before.items() if k != "files"} == {
        k: v for k, v in after.items() if k != "files"
    }


def test_daily_flow_refreshes_materializes_scores_and_monitors(
    company: dict[str, Path], airflow: Airflow
) -> None:
    result = airflow.dags_test("attrition_daily", DAY)
    _report(f"daily {DAY}", result)
    assert result.state == "success", result.output[-4000:]
    assert result.tasks == {
        "hris_extract": "success",
        "feature_refresh": "success",
        "online_materialize": "success",
        "batch_scores": "success",
        "outcomes": "success",
        "monitor": "success",
        "decay_confirmed": "skipped",  # no traffic in the audit store: nothing to confirm
        "start_retraining": "skipped",
    }
    out = company["runs"] / "daily" / DAY
    assert {"online.json.gz", "batch_scores.csv", "outcomes.csv", "monitoring.json", "monitor.prom"} <= {
        p.name for p in out.iterdir()
    }
    monitoring = json.loads((out / "monitoring.json").read_text())
    assert monitoring["as_of"].startswith(DAY)  # judged as of the logical date, not the clock
    assert airflow.runs("attrition_weekly") == []


def test_rerunning_the_daily_flow_changes_nothing(company: dict[str, Path], airflow: Airflow) -> None:
    """Same day again: the extract is a no-op on the store, the online file and the scores are the same.

    (Scores and monitor use the package serving when the task runs: re-running a day after a deploy
    scores it with the new model, as the nightly fallback should.)
    """
    before = _fingerprint(company)
    daily = airflow.dags_test("attrition_daily", DAY)
    _report(f"daily {DAY} re-run", daily)
    assert daily.state == "success"
    _assert_unchanged(before, _fingerprint(company))


def test_weekly_flow_gate_passes_then_promotes_and_deploys(
    company: dict[str, Path], airflow: Airflow
) -> None:
    before = served_model_version(company)
    result = airflow.dags_test("attrition_weekly", DAY)
    _report(f"weekly {DAY} (gate passes)", result)
    assert result.state == "success", result.output[-4000:]
    assert set(result.tasks.values()) == {"success"}, result.tasks
    gate = json.loads((company["runs"] / "weekly" / DAY / "gate.json").read_text())
    assert gate["verdict"] == "pass"
    assert _registry(company["repo"])["v1.1.0"] == ["prod", "staging"]
    assert served_model_version(company) != before
    branch = run(["git", "ls-remote", "origin", f"refs/heads/retrain-weekly/{DAY}"], company["repo"]).stdout
    assert branch.strip(), "the retrain branch is pushed for review"
    log = run(["git", "log", "-1", "--format=%an %aI %cI"], company["repo"]).stdout.split()
    assert log == ["attrition-airflow", f"{DAY}T00:00:00+00:00", f"{DAY}T00:00:00+00:00"]


def test_rerunning_the_weekly_flow_changes_nothing(company: dict[str, Path], airflow: Airflow) -> None:
    """Same week again: the same commit (same hash), no new version, no new tag, the same package served."""
    before = _fingerprint(company)
    weekly = airflow.dags_test("attrition_weekly", DAY)
    _report(f"weekly {DAY} re-run", weekly)
    assert weekly.state == "success"
    _assert_unchanged(before, _fingerprint(company))


def test_monthly_flow_gate_fails_and_nothing_is_deployed(company: dict[str, Path], airflow: Airflow) -> None:
    """The monthly retrain after main went back to the seed's method: not superior, nothing deploys."""
    run(["git", "checkout", "-q", "main"], company["repo"])
    set_params(company["repo"], **WEAK_METHOD)
    commit_params(company["repo"], "Back to the seed's method (a worse candidate)")
    serving = served_model_version(company)
    result = airflow.dags_test("attrition_monthly", DAY)
    _report(f"monthly {DAY} (gate fails)", result)
    assert result.state == "success", result.output[-4000:]  # a rejected candidate is not an outage
    assert result.tasks["gate_promote"] == "skipped" and result.tasks["deploy"] == "skipped", result.tasks
    gate = json.loads((company["runs"] / "monthly" / DAY / "gate.json").read_text())
    assert gate["verdict"] in ("fail", "insufficient_evidence")
    registry = _registry(company["repo"])
    assert registry["v1.2.0"] == ["staging"] and "prod" in registry["v1.1.0"]
    assert served_model_version(company) == serving


def test_a_failing_task_is_retried_then_fails_the_run(company: dict[str, Path], airflow: Airflow) -> None:
    result = airflow.dags_test("attrition_daily", NO_EXTRACT_DAY)
    _report(f"daily {NO_EXTRACT_DAY} (no extract)", result)
    assert result.state == "failed"
    assert result.tasks["hris_extract"] == "failed"
    assert result.tries["hris_extract"] == 7  # the first try and its 6 retries
    assert result.tasks["feature_refresh"] == "upstream_failed"
    assert not (company["runs"] / "daily" / NO_EXTRACT_DAY / f"hris_{NO_EXTRACT_DAY}.csv").exists()


def test_a_confirmed_decay_queues_one_weekly_run_for_its_day(airflow: Airflow) -> None:
    """The daily flow's trigger task alone (`airflow tasks test`), twice: one weekly run, same date.

    A real decay needs weeks of audited traffic with outcomes; the monitor's --on-decay hook is tested
    with the monitor (tests/monitor). Here: what the hook's marker leads to in Airflow.
    """
    day = "2025-09-01"
    for _ in range(2):
        airflow.cli("tasks", "test", "attrition_daily", "start_retraining", day)
    assert [r for r in airflow.runs("attrition_weekly") if r[0].startswith("decay__")] == [
        (f"decay__{day}", "queued")
    ]
