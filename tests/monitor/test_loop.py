"""The issue's loop end to end (issue 10), on a real registry (issue 9), in one served world.

A temp repository with a bare git origin and a local DVC remote registers and promotes a version-3
model (v1.0.0) trained on only 200 employees with the seed's four columns, so that a retrained
candidate can truly beat it; `attrition deploy --stage prod --to DIR` puts it in DIR/current and
`attrition serve` serves it. 1,000 version-3 employees leave every check quiet; 2,000 version-8
employees with outcomes raise the income drift alert and confirm decay, and `attrition
monitor --on-decay "make retrain VERSION=8"` runs the retraining flow: a version-8 candidate is
trained, proposed and gated against prod. Both branches of the gate run, in this order, in the same
world: first the fail branch (the committed threshold policy asks for far less recall than prod was
packaged to deliver, which the gate's deployed-recall rule refuses: the candidate stays in staging,
v1.0.0 serves and the alert stays), then the pass branch (5,000 rows, asking for prod's recall: the
candidate is promoted and deployed, the service reloads and a further version-8 window shows no drift
against the new package's reference). About 70 s for the module alone.

Against the repository's own champion (800 rows, drop-column selection) no version-8 candidate tried
(800 or 20,000 rows, gradient boosting or logistic regression) was shown better on the version-8
evaluation rows, because version 8 shifts incomes, not how attrition depends on them: that is why prod
here is weak, and why the fail is asked for rather than waited for.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from attrition.monitor import simulate
from attrition.service.core.tokens import SCOPE_ADMIN, SCOPE_PREDICT, mint_token
from tests.conftest import stage_env
from tests.support.monitoring import SECRET, Service, serve
from tests.support.registry_repo import (
    PY,
    link_venv,
    registry,
    registry_repo,
    run,
    set_params,
    stages,
)

pytestmark = [pytest.mark.e2e, pytest.mark.dvc]

RETRAIN = "make retrain VERSION=8"
RETRAIN_TIMEOUT_S = 900  # the monitor waits for make retrain: a DVC experiment, push, propose, gate
PROFILE = {"age": 29, "job_role": "Sales", "monthly_income": 3500, "years_at_company": 1}


@dataclass
class Loop:
    """What the module fixture ran, for the tests to judge."""

    root: Path
    repo: Path
    serving: Path
    service: Service
    admin_token_file: Path
    first_model: str
    quiet: tuple[int, dict[str, Any]]
    drifted: tuple[int, dict[str, Any]]
    retrain_log: str


def simulate_traffic(service: Service, version: int, rows: int, seed: int, outcomes: Path) -> None:
    """`attrition simulate`: N employees of a dataset version through /predict/batch, truth kept."""
    code = simulate.main(
        [
            *("--population-version", str(version), "--rows", str(rows), "--seed", str(seed)),
            *("--url", service.url, "--token-file", str(service.token_file), "--outcomes", str(outcomes)),
        ]
    )
    assert code == 0  # parity: the service answers every row the generator draws


def monitor(
    loop_root: Path,
    repo: Path,
    service: Service,
    name: str,
    *extra: str,
    params: Path | None = None,
) -> tuple[int, dict[str, Any], str]:
    """`attrition monitor` on DIR/current, run in the repo (where `make retrain` must run)."""
    out = loop_root / f"monitoring_{name}.json"
    completed = subprocess.run(
        [
            *PY,
            "attrition.cli",
            "monitor",
            *("--package", str(loop_root / "serving" / "current"), "--audit-db", str(service.audit_db)),
            *("--outcomes", str(loop_root / f"outcomes_{name}.csv"), "--out", str(out)),
            *("--prom", str(out.with_suffix(".prom")), "--params", str(params or repo / "params.yaml")),
            *extra,
        ],
        cwd=repo,
        env=stage_env(),
        capture_output=True,
        text=True,
        timeout=RETRAIN_TIMEOUT_S,
        check=False,
    )
    output = completed.stdout + completed.stderr
    print(f"$ attrition monitor ... ({name})\n{output}")  # the figures the loop printed, in the test log
    assert out.exists(), output
    return completed.returncode, json.loads(out.read_text()), output


def deploy(repo: Path, serving: Path, *extra: str) -> str:
    deployed = run([*PY, "attrition.lifecycle.deploy", "--stage", "prod", "--to", str(serving), *extra], repo)
    print(deployed.stdout)
    return deployed.stdout


def served_model(service: Service) -> str:
    """The model version /predict answers with."""
    response = httpx.post(
        f"{service.url}/predict",
        json=PROFILE,
        headers={"Authorization": f"Bearer {service.token_file.read_text().strip()}"},
        timeout=30.0,
    )
    response.raise_for_status()
    return str(response.json()["model_version"])


def verdict(document: dict[str, Any], check: str, subject: str, window: str) -> dict[str, Any]:
    return next(
        c for c in document["checks"] if (c["check"], c["subject"], c["window"]) == (check, subject, window)
    )


def deployed_prod(root: Path, message: str, **params: Any) -> tuple[Path, Path, Path, Path]:
    """A registry repo whose v1.0.0 is prod and deployed: repo, serving dir, batch scores, admin token.

    The batch scores are copied out because `make retrain` rebuilds data/batch_scores.csv in the repo.
    """
    repo = registry_repo(root, message, **params)["repo"]
    link_venv(repo)
    serving = root / "serving"
    assert "deploy: prod is v1.0.0" in deploy(repo, serving)
    scores = Path(shutil.copy(repo / "data" / "batch_scores.csv", root / "batch_scores_v3.csv"))
    admin_token_file = root / "admin-token"
    admin_token_file.write_text(mint_token(SECRET, "loop-test", [SCOPE_PREDICT, SCOPE_ADMIN], 3600))
    return repo, serving, scores, admin_token_file


# The fail branch's threshold policy: far below the recall prod was packaged to deliver (about 0.7).
REFUSED_MIN_RECALL = 0.3


@pytest.fixture(scope="module")
def loop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Loop]:
    """Prod v1.0.0 deployed and served; version-3 then version-8 traffic; the monitor's runs.

    Prod is a version-3 model trained on only 200 employees with the seed's four columns (no column
    selection, so it fits noise in age): truly weaker than a retrained candidate can be (against a prod
    as fair as the candidate, 20,000 evaluation rows cannot bound the difference of the two age-band
    gaps within the gate's 2 pp, and the bias rule does not pass). 20,000 fresh
    evaluation rows (~3,000 positives) and 400 resamples keep the gate and the package's baselines
    quick while leaving every verdict above the gate's declared minimums.
    """
    root = tmp_path_factory.mktemp("loop")
    repo, serving, scores, admin_token_file = deployed_prod(
        root,
        "A version-3 model trained on 200 employees, the first production version",
        generate__n_samples=200,
        train__selection__method="none",
        evalset__n_samples=20000,
        gate__bootstrap__n=400,
    )
    # what the retraining the monitor starts will commit: a policy asking for far less recall than prod's
    set_params(repo, train__threshold__min_recall=REFUSED_MIN_RECALL)
    run(["git", "commit", "-qam", f"Threshold policy: recall >= {REFUSED_MIN_RECALL}"], repo)
    with serve(serving / "current", scores, root) as service:
        first_model = served_model(service)
        simulate_traffic(service, 3, 1000, 3001, root / "outcomes_v3.csv")
        code, quiet, _ = monitor(root, repo, service, "v3")
        simulate_traffic(service, 8, 2000, 8001, root / "outcomes_v8.csv")
        drift_code, drifted, log = monitor(root, repo, service, "v8", "--on-decay", RETRAIN)
        yield Loop(
            root,
            repo,
            serving,
            service,
            admin_token_file,
            first_model,
            (code, quiet),
            (drift_code, drifted),
            log,
        )


def gate_result(loop: Loop) -> dict[str, Any]:
    return dict(json.loads((loop.repo / "gate-v8.json").read_text()))


def test_version_3_traffic_leaves_every_check_quiet(loop: Loop) -> None:
    code, quiet = loop.quiet
    assert code == 0, quiet["summary"]
    assert all(c["verdict"] in ("ok", "insufficient_data") for c in quiet["checks"])
    assert quiet["counts"]["employees_predicted"] == 1000


def test_version_8_traffic_drifts_decays_and_the_retrained_candidate_is_gated(loop: Loop) -> None:
    code, drifted = loop.drifted
    income = verdict(drifted, "drift", "monthly_income", "1d")
    assert code == 1
    assert income["verdict"] == "alert" and income["figures"]["psi"] > 1.0
    # confirmed decay (what starts the retraining): the interval's upper bound below the baseline
    decayed = [c for c in drifted["checks"] if c["check"] == "decay" and c["verdict"] == "alert"]
    assert decayed, [(c["subject"], c["window"], c["verdict"]) for c in drifted["checks"]]
    assert all(c["figures"]["ci95"][1] < c["figures"]["baseline"]["value"] for c in decayed)
    # --on-decay ran make retrain: a version-8 candidate proposed (v1.1.0) and gated against prod
    assert drifted["on_decay"]["command"] == RETRAIN and drifted["on_decay"]["exit_code"] == 0
    assert "== 5/6 propose" in loop.retrain_log and "registered v1.1.0" in loop.retrain_log
    result = gate_result(loop)
    print(f"gate verdict on the version-8 candidate: {result['verdict']}")
    for rule in result["rules"]:
        print(f"  {rule['outcome']:<21} {rule['name']}: {rule['detail']}")
    assert f"verdict: {result['verdict']}" in loop.retrain_log
    assert result["production"]["model_version"] == loop.first_model
    candidate = json.loads(
        run(["git", "tag", "-l", "--format=%(contents)", "attrition-model@v1.1.0"], loop.repo).stdout
    )
    assert candidate["dataset"]["version"] == 8
    print(registry(loop.repo, "show").stdout)


def test_fail_branch_the_candidate_stays_in_staging_and_the_alert_stays(loop: Loop) -> None:
    """The first retrain asked for recall >= 0.3 where prod delivers about 0.7: the gate refuses it."""
    result = gate_result(loop)
    outcomes = {rule["name"]: rule["outcome"] for rule in result["rules"]}
    assert result["verdict"] == "fail" and outcomes["deployed_recall_noninferior"] == "fail", outcomes
    failed = [name for name, outcome in outcomes.items() if outcome == "fail"]
    assert all(f"fail                  {name}:" in loop.retrain_log for name in failed)
    assert "v1.1.0 stays in staging (gate verdict fail); prod remains v1.0.0" in loop.retrain_log
    assert stages(loop.repo) == {"staging": "v1.1.0", "prod": "v1.0.0"}
    assert served_model(loop.service) == loop.first_model
    code, again, _ = monitor(loop.root, loop.repo, loop.service, "v8")
    assert code == 1 and verdict(again, "drift", "monthly_income", "1d")["verdict"] == "alert"


def test_pass_branch_the_candidate_is_deployed_and_the_drift_clears(loop: Loop) -> None:
    """Back on main, `make retrain VERSION=8` on 5,000 rows, its threshold policy asking for the recall
    prod was packaged to deliver (the gate refuses a candidate whose deployed recall trails prod's); on
    the gate's pass, deploy and reload, and a further version-8 window shows no drift against the new
    reference."""
    repo = loop.repo
    code, drifted = loop.drifted
    assert code == 1 and verdict(drifted, "drift", "monthly_income", "1d")["verdict"] == "alert"
    # the recall prod was packaged to deliver (its baseline, which the monitor says it no longer meets)
    prod_recall = verdict(drifted, "decay", "recall", "90d")["figures"]["baseline"]["value"]
    # the refused candidate's branch goes (its registry tag keeps the commit); the retrain starts on main
    run(["git", "checkout", "-q", "main"], repo)
    run(["git", "branch", "-q", "-D", "retrain/v8"], repo)
    run(["git", "push", "-q", "origin", "--delete", "retrain/v8"], repo)
    set_params(repo, generate__n_samples=5000, train__threshold__min_recall=round(min(prod_recall, 0.95), 2))
    run(["git", "commit", "-qam", "Retrain on 5,000 rows, asking for prod's packaged recall"], repo)
    retrained = subprocess.run(
        ["make", "retrain", "VERSION=8"],
        cwd=repo,
        env=stage_env(),
        capture_output=True,
        text=True,
        timeout=RETRAIN_TIMEOUT_S,
        check=False,
    )
    print(retrained.stdout + retrained.stderr)
    result = gate_result(loop)
    print(f"gate verdict on the version-8 candidate against the weak prod: {result['verdict']}")
    assert retrained.returncode == 0 and result["verdict"] == "pass"
    assert "registered v1.2.0" in retrained.stdout
    assert "== retrain: promoted" in retrained.stdout and stages(repo)["prod"] == "v1.2.0"

    reload_url = f"{loop.service.url}/admin/reload"
    deployed = deploy(
        repo, loop.serving, "--reload-url", reload_url, "--token-file", str(loop.admin_token_file)
    )
    new_model = served_model(loop.service)
    assert "service reloaded" in deployed and new_model != loop.first_model and new_model in deployed
    deployed_at = time.time()

    simulate_traffic(loop.service, 8, 2000, 8002, loop.root / "outcomes_v8-after.csv")
    # the further window: only the traffic since the deploy, declared as a window of that many seconds
    # (plus 10 s for the monitor to start; the traffic before the deploy is older than the retraining)
    params = yaml.safe_load((repo / "params.yaml").read_text())
    params["monitor"]["drift"]["windows"] = [f"{int(time.time() - deployed_at) + 10}s"]
    since_deploy = loop.root / "params-since-deploy.yaml"
    since_deploy.write_text(yaml.safe_dump(params, sort_keys=False))
    code, after, _ = monitor(loop.root, repo, loop.service, "v8-after", params=since_deploy)
    assert after["package"]["model_version"] == new_model
    drift = [c for c in after["checks"] if c["check"] == "drift"]
    assert drift and all(c["verdict"] == "ok" for c in drift), [(c["subject"], c["reason"]) for c in drift]
    assert all(1000 < c["rows"] <= 2001 for c in drift)  # this window's traffic only, not the 3,000 before
    assert code == 0, after["summary"]  # nor decay against the new package's own baselines
