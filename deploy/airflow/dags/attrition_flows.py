"""The plan's schedule on Airflow: a daily flow (HRIS extract -> feature store -> online features ->
nightly batch scores -> monitor) and the retraining flows (weekly, and a monthly full retrain):
point-in-time training set -> `dvc exp run` on a branch -> propose -> gate -> promote and deploy.

The DAGs hold no logic of their own: each task is one `attrition` (or dvc/git) command line run by the
project's own venv, so a task does what a person typing it does, and Airflow adds the schedule, the
logical date, retries and timeouts. Airflow never imports attrition (its pins clash with the service's:
apache-airflow-core wants fastapi<0.137), so everything crosses as a command line. One file, so the
DAG processor needs nothing of ours on sys.path.

Every date is the run's logical date (`{{ ds }}`), never the clock, and every task writes into the run's
own folder ($ATTRITION_RUNS/<flow>/<ds>): a re-run or backfill of a past date repeats its outputs.

Where things are comes from the worker's environment (a pod's env, a systemd unit's), read by the shell
at run time, not at parse time, so the DAG file parses anywhere:

    ATTRITION_REPO        the project's git+DVC clone the flows work in (required)
    ATTRITION_BIN         its venv's bin/ (default: $ATTRITION_REPO/.venv/bin)
    ATTRITION_STORE       the feature store, a folder or s3://bucket/prefix
                          (default: $ATTRITION_REPO/data/feature_store)
    ATTRITION_HRIS_DROP   where the HRIS drops hris_YYYY-MM-DD.csv (default: $ATTRITION_REPO/data/hris)
    ATTRITION_RUNS        each run's outputs (default: $ATTRITION_REPO/scratch/airflow)
    ATTRITION_DEPLOY_DIR  what `attrition deploy` swaps (default: $ATTRITION_REPO/scratch/serving)
    ATTRITION_PROM_DIR    node-exporter's textfile folder for monitor.prom (default: the run's folder)
    ATTRITION_AUDIT_DB(_FILE)  the service's audit store, read by `attrition monitor` itself
    ATTRITION_RELOAD_URL, ATTRITION_ADMIN_TOKEN_FILE  optional: make the running service reload
    ATTRITION_BASE_BRANCH the branch retraining starts from (default: main)
    ATTRITION_RETRY_DELAY_S  seconds between a task's tries (default 300; the tests use 1)
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from typing import Any

from airflow.providers.standard.operators.bash import BashOperator
from airflow.providers.standard.operators.trigger_dagrun import TriggerDagRunOperator
from airflow.sdk import DAG

DAILY_DAG_ID = "attrition_daily"
WEEKLY_DAG_ID = "attrition_weekly"
MONTHLY_DAG_ID = "attrition_monthly"

# BashOperator's exit code for `skipped`: "nothing to do", which keeps the run green and skips what
# depends on it (no deploy after a gate that did not pass, no retraining without a confirmed decay).
SKIP = 99

# Read at parse time: it is part of each task's declared shape.
RETRY_DELAY = timedelta(seconds=int(os.environ.get("ATTRITION_RETRY_DELAY_S", "300")))

# Every command starts here: strict shell, the project's venv first on PATH, paths from the environment.
PRELUDE = """set -euo pipefail
: "${ATTRITION_REPO:?set ATTRITION_REPO to the attrition clone this worker runs}"
export PATH="${ATTRITION_BIN:-$ATTRITION_REPO/.venv/bin}:$PATH"
cd "$ATTRITION_REPO"
STORE="${ATTRITION_STORE:-$ATTRITION_REPO/data/feature_store}"
RUNS="${ATTRITION_RUNS:-$ATTRITION_REPO/scratch/airflow}"
DEPLOY_DIR="${ATTRITION_DEPLOY_DIR:-$ATTRITION_REPO/scratch/serving}"
"""

# The files an experiment changes and a retrain commit holds (the Makefile's RETRAIN_FILES).
RETRAIN_FILES = "params.yaml dvc.lock metrics data/.gitignore models/.gitignore"

# The table version the run's training set read (its .json record), to pin the experiment to.
PINNED_VERSION = (
    "python -c 'import json, sys; print(json.load(open(sys.argv[1]))[\"table_version\"])' "
    '"$RUN/training_set.csv.json"'
)
# The version HEAD is registered as (GTO's tag attrition-model@vX.Y.Z), and a version's stages.
HEAD_VERSION = (
    "git tag --points-at HEAD --list 'attrition-model@*' | sed 's/^attrition-model@//' | sort -V | tail -n 1"
)
STAGES_OF = (
    'attrition registry show --json | python -c \'import json, sys; print(" ".join(next('
    '(r["stages"] for r in json.load(sys.stdin) if r["version"] == sys.argv[1]), [])))\' '
)


def step(task_id: str, flow: str, command: str, *, retries: int, timeout_min: int) -> BashOperator:
    """One CLI step as a task: the prelude, the run's folder ($RUN), the command; retries and timeout."""
    run_dir = f'RUN="$RUNS/{flow}/{{{{ ds }}}}"; mkdir -p "$RUN"\n'
    return BashOperator(
        task_id=task_id,
        bash_command=PRELUDE + run_dir + command,
        retries=retries,
        retry_delay=RETRY_DELAY,
        execution_timeout=timedelta(minutes=timeout_min),
        skip_on_exit_code=SKIP,
    )


def daily_dag() -> DAG:
    """HRIS extract -> refresh -> materialize -> batch scores; refresh -> outcomes -> monitor -> decay."""
    flow = "daily"
    with DAG(
        dag_id=DAILY_DAG_ID,
        description="HRIS extract, feature store refresh, online features, batch scores, monitor",
        schedule="30 2 * * *",  # after the HRIS's nightly extract lands
        start_date=datetime(2025, 1, 1),
        catchup=False,
        max_active_runs=1,  # one writer per feature store (attrition.features.store)
        dagrun_timeout=timedelta(hours=3),
        tags=["attrition"],
    ) as dag:
        extract = step(
            "hris_extract",
            flow,
            # The HRIS drops one full extract a day; a missing one fails and the retries wait for it.
            'cp "${ATTRITION_HRIS_DROP:-$ATTRITION_REPO/data/hris}/hris_{{ ds }}.csv" "$RUN/"',
            retries=6,
            timeout_min=5,
        )
        refresh = step(
            "feature_refresh",
            flow,
            # --backfill: re-running a past day after later days is the same extract again (a no-op);
            # the store still refuses one that would rewrite a day already applied.
            'attrition features refresh --store "$STORE" --hris "$RUN/hris_{{ ds }}.csv" '
            "--as-of {{ ds }} --backfill",
            retries=2,
            timeout_min=30,
        )
        materialize = step(
            "online_materialize",
            flow,
            'attrition features materialize --store "$STORE" --as-of {{ ds }} --out "$RUN/online.json.gz"',
            retries=2,
            timeout_min=30,
        )
        scores = step(
            "batch_scores",
            flow,
            # With the package production serves: the fallback's nightly scores.
            'attrition score --package "$DEPLOY_DIR/current" --online "$RUN/online.json.gz" '
            '--out "$RUN/batch_scores.csv"',
            retries=2,
            timeout_min=30,
        )
        outcomes = step(
            "outcomes",
            flow,
            # Labels known by the logical date: the monitor's decay and fairness evidence.
            'attrition features outcomes --store "$STORE" --as-of {{ ds }} --horizon 12mo '
            '--out "$RUN/outcomes.csv"',
            retries=2,
            timeout_min=30,
        )
        monitor = step(
            "monitor",
            flow,
            # Exit 1 is "a check alerts": Prometheus and Alertmanager route that, the task succeeds.
            # A confirmed decay leaves decay-confirmed in the run's folder for the next task.
            'rm -f "$RUN/decay-confirmed"\n'
            'rc=0; attrition monitor --package "$DEPLOY_DIR/current" --outcomes "$RUN/outcomes.csv" '
            '--now {{ logical_date.isoformat() }} --out "$RUN/monitoring.json" '
            '--prom "${ATTRITION_PROM_DIR:-$RUN}/monitor.prom" --on-decay "touch $RUN/decay-confirmed" '
            "|| rc=$?\n"
            '[ "$rc" -le 1 ] || exit "$rc"',
            retries=1,
            timeout_min=60,
        )
        decay = step(
            "decay_confirmed",
            flow,
            'test -e "$RUN/decay-confirmed" || { echo "no confirmed decay as of {{ ds }}"; exit 99; }',
            retries=0,
            timeout_min=1,
        )
        retrain = TriggerDagRunOperator(
            task_id="start_retraining",
            trigger_dag_id=WEEKLY_DAG_ID,
            # One retraining run per decayed day whatever the re-runs: same run id, same logical date.
            trigger_run_id="decay__{{ ds }}",
            logical_date="{{ logical_date.isoformat() }}",
            skip_when_already_exists=True,
            wait_for_completion=False,
            retries=2,
            retry_delay=RETRY_DELAY,
            execution_timeout=timedelta(minutes=5),
        )
        extract >> refresh >> materialize >> scores
        refresh >> outcomes >> monitor >> decay >> retrain
    return dag


def retrain_dag(dag_id: str, flow: str, schedule: str, description: str, overrides: str = "") -> DAG:
    """The retraining flow; a gate that fails or lacks evidence skips promote and deploy (run green).

    Re-running a logical date changes nothing: the training set keeps the table version the first try
    read (its record in the run's folder), the experiment is a pure function of params and rows, the
    commit is made with the logical date as its dates and a fixed author (so the same hash), a commit
    already registered is not proposed again, and a version already prod is not gated again.
    """
    branch = f"retrain-{flow}/{{{{ ds }}}}"
    dates = "{{ logical_date.isoformat() }}"
    with DAG(
        dag_id=dag_id,
        description=description,
        schedule=schedule,
        start_date=datetime(2025, 1, 1),
        catchup=False,
        max_active_runs=1,  # the flows share one git work tree
        dagrun_timeout=timedelta(hours=6),
        tags=["attrition"],
    ) as dag:
        training_set = step(
            "training_set",
            flow,
            'pin=""; if [ -s "$RUN/training_set.csv.json" ]; then pin="--version $('
            + PINNED_VERSION
            + ')"; fi\n'
            'attrition features training-set --store "$STORE" --as-of {{ ds }} --horizon 12mo '
            '--out "$RUN/training_set.csv" $pin',
            retries=2,
            timeout_min=30,
        )
        repro = step(
            "dvc_repro",
            flow,
            f'git checkout -q -B "{branch}" "${{ATTRITION_BASE_BRANCH:-main}}"\n'
            # warm: the stages fork from one interpreter that imported their libraries (README)
            'attrition warm -- dvc exp run -q -S data.source=hris -S "data.store=$STORE" '
            f'-S "data.table_version=$({PINNED_VERSION})" -S data.as_of={{{{ ds }}}} {overrides}',
            retries=1,
            timeout_min=120,
        )
        commit = step(
            "commit_push",
            flow,
            f"git add -- {RETRAIN_FILES}\n"
            f"export GIT_AUTHOR_DATE={dates} GIT_COMMITTER_DATE={dates}\n"
            "git diff --cached --quiet || git -c user.name=attrition-airflow "
            "-c user.email=airflow@attrition.invalid commit -q "
            f'-m "Retrain on the feature store as of {{{{ ds }}}} (Airflow {dag_id})" -- {RETRAIN_FILES}\n'
            'git diff --quiet HEAD || { echo "error: tracked files changed outside the retrain files" >&2; '
            "exit 1; }\n"
            f'if git remote | grep -qx origin; then git push -q -f -u origin "{branch}"; fi\n'
            "dvc push -q",
            retries=2,
            timeout_min=30,
        )
        propose = step(
            "propose",
            flow,
            f"registered=$({HEAD_VERSION})\n"
            'if [ -n "$registered" ]; then echo "HEAD is already registered as $registered"; '
            "else attrition registry propose; fi",
            retries=1,
            timeout_min=10,
        )
        gate = step(
            "gate_promote",
            flow,
            # exit 0 promoted, 1 gate failed, 3 insufficient evidence: the last two skip the deploy.
            f'version=$({HEAD_VERSION}); stages=$({STAGES_OF}"$version")\n'
            'case " $stages " in *" prod "*) echo "$version is already prod"; exit 0;; esac\n'
            'rc=0; attrition registry promote "$version" --out "$RUN/gate.json" || rc=$?\n'
            "case $rc in 0) ;; "
            '1|3) echo "gate: $version not promoted (exit $rc): $RUN/gate.json says why"; exit 99;; '
            '*) exit "$rc";; esac',
            retries=1,
            timeout_min=60,
        )
        deploy = step(
            "deploy",
            flow,
            # Swaps the serving directory and reloads a running service. On Kubernetes the same place
            # takes deploy/argocd/promote.sh <model_version> in the GitOps clone (one commit, Argo CD
            # syncs); that variant is not wired here.
            'attrition deploy --stage prod --to "$DEPLOY_DIR" ${ATTRITION_RELOAD_URL:+--reload-url '
            '"$ATTRITION_RELOAD_URL" --token-file "$ATTRITION_ADMIN_TOKEN_FILE"}',
            retries=3,
            timeout_min=15,
        )
        training_set >> repro >> commit >> propose >> gate >> deploy
    return dag


def declared(dag: DAG) -> dict[str, Any]:
    """Each task's downstream ids, retries and timeout: what the DagBag test compares with its table."""
    return {
        task.task_id: {
            "downstream": sorted(task.downstream_task_ids),
            "retries": task.retries,
            "timeout_s": task.execution_timeout.total_seconds() if task.execution_timeout else None,
        }
        for task in dag.tasks
    }


daily = daily_dag()
weekly = retrain_dag(
    WEEKLY_DAG_ID,
    "weekly",
    "0 3 * * 1",
    "point-in-time training set, dvc exp run on a branch, propose, gate; promote and deploy on pass",
)
# The full retrain: the weekly flow with the column selection searched again whatever the base
# branch's params say (the weekly flow takes them as committed).
monthly = retrain_dag(
    MONTHLY_DAG_ID,
    "monthly",
    "0 4 1 * *",
    "monthly full retrain: the weekly flow with drop-column selection searched again",
    overrides="-S train.selection.method=drop_column",
)
