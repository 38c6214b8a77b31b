"""The registry end to end: a temp repo with a bare git origin and a local DVC remote (issue 9).

First prod is the seed's logistic regression on dataset version 3 (v1.0.0, no gate). A candidate on
dataset version 4 is gated against it; the champion (gradient boosting) on version 3 truly dominates
the logistic regression on the evaluation rows and passes; `attrition deploy` swaps the package of a
live `attrition serve`; rollback brings the logistic regression back. A candidate identical to prod,
one trained on shuffled labels and a tampered package are judged by the gate command itself.
"""

from __future__ import annotations

import json
import pickle
import shutil
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from tests.conftest import run, stage_env
from tests.support.one_process import run_in_one_process
from tests.support.registry_repo import (
    PY,
    build_commit_push,
    lock_md5,
    registry,
    registry_repo,
    set_params,
    stages,
)
from tests.support.service import free_port

pytestmark = [pytest.mark.e2e, pytest.mark.dvc]

SECRET = "registry-e2e-secret-0123456789abcdef0123456789"
PROFILE = {"age": 29, "job_role": "Sales", "monthly_income": 3500, "years_at_company": 1}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Repo with origin and remote; the seed's logistic regression on version 3 proposed and promoted."""
    # the seed's logistic regression on the seed's four columns (no column selection, so it uses age
    # and has an age-band gap); 400 resamples and 20,000 fresh evaluation rows keep the gates quick (the
    # intervals stay honest: on three 20,000-row draws the champion passed every rule with its lower
    # bounds at +0.025 or more, as on all 150,000)
    return registry_repo(
        tmp_path_factory.mktemp("registry"),
        "Logistic regression on dataset version 3",
        train__model="logreg",
        train__selection__method="none",
        evalset__n_samples=20000,
        gate__bootstrap__n=400,
    )


def newest_prod_tag_message(repo: Path) -> str:
    """The message of the newest prod assignment tag: where the registry records the gate result."""
    ref = "refs/tags/attrition-model#prod#*"
    return run(
        ["git", "for-each-ref", "--sort=-creatordate", "--count=1", "--format=%(contents)", ref], repo
    ).stdout


def test_first_prod_is_registered_with_lineage_and_pushed(world: dict[str, Path]) -> None:
    repo = world["repo"]
    assert stages(repo)["prod"] == "v1.0.0"
    table = registry(repo, "show").stdout.splitlines()
    assert table[0].split()[:4] == ["version", "stages", "model_version", "data"]
    assert table[1].split()[:4] == [
        "v1.0.0",
        "staging,prod",
        json.loads((world["prod_package"] / "metadata.json").read_text())["model_version"],
        "v3",
    ]
    remote_tags = run(["git", "ls-remote", "--tags", "origin"], repo).stdout
    assert "attrition-model@v1.0.0" in remote_tags and "attrition-model#prod#" in remote_tags
    message = run(["git", "tag", "-l", "--format=%(contents)", "attrition-model@v1.0.0"], repo).stdout
    lineage = json.loads(message)
    head = run(["git", "rev-parse", "attrition-model@v1.0.0^{commit}"], repo).stdout.strip()
    assert lineage["code"]["commit"] == head
    assert lineage["package_md5"] == lock_md5(repo, head, "models/attrition-model")
    assert lineage["build"]  # the run facts of the build that produced the package


def test_propose_refuses_a_dirty_or_unpushed_workspace(world: dict[str, Path]) -> None:
    repo = world["repo"]
    readme = repo / "README.md"
    original = readme.read_text()
    readme.write_text(original + "\nlocal edit\n")
    try:
        refused = registry(repo, "propose", check=False)
        assert refused.returncode == 1 and refused.stderr.startswith("error: uncommitted changes")
    finally:
        readme.write_text(original)


def evaluation_subset(world: dict[str, Path], rows: int) -> Path:
    """The first `rows` fresh rows of version 3's evalset: enough positives for a verdict, quick."""
    subset = world["root"] / f"evalset-{rows}.csv"
    if not subset.exists():
        frame = pd.read_csv(world["repo"] / "data" / "evalset_v3.csv")
        frame[frame["source"] == "fresh"].head(rows).to_csv(subset, index=False)
    return subset


def gate(world: dict[str, Path], candidate: Path, data: Path) -> subprocess.CompletedProcess[str]:
    out = candidate.parent / f"{candidate.name}-gate.json"
    args = ["--candidate", str(candidate), "--production", str(world["prod_package"]), "--data", str(data)]
    return run(
        [*PY, "attrition.lifecycle.gate", *args, "--params", "params.yaml", "--out", str(out)],
        world["repo"],
        check=False,
    )


def test_a_candidate_identical_to_prod_never_passes(world: dict[str, Path]) -> None:
    twin = Path(shutil.copytree(world["prod_package"], world["root"] / "twin"))
    judged = gate(world, twin, evaluation_subset(world, 10000))
    assert judged.returncode == 1, judged.stdout + judged.stderr
    assert "verdict: fail" in judged.stdout
    assert "+0.0000 [+0.0000, +0.0000]" in judged.stdout


def test_a_candidate_trained_on_shuffled_labels_fails(world: dict[str, Path]) -> None:
    work = world["root"] / "shuffled"
    (work / "data").mkdir(parents=True)
    shutil.copy(world["repo"] / "params.yaml", work / "params.yaml")
    seed_data = "data/employee_attrition_v3.csv"
    data, extract = "data/training_rows.csv", "data/training_rows.json"  # stage extract's outputs
    frame = pd.read_csv(world["repo"] / seed_data)
    frame["attrition"] = frame["attrition"].sample(frac=1.0, random_state=0).to_numpy()
    frame.to_csv(work / seed_data, index=False)
    rows = ["--out", data, "--record", extract]
    common = ["--params", "params.yaml", "--data", data, "--model", "models/model.joblib"]
    common += ["--record", "models/train.json"]
    evalset = str(world["repo"] / "data" / "evalset_v3.csv")
    packaged = ["--extract", extract, "--metrics", "metrics/evaluation.json", "--evalset", evalset]
    commands = [
        ["attrition", "extract", "--params", "params.yaml", "--seed-data", seed_data, *rows],
        ["attrition", "train", *common],
        ["attrition", "evaluate", *common, "--live", "metrics", "--out", "metrics/evaluation.json"],
        ["attrition", "package", *common, *packaged, "--out", "models/attrition-model"],
    ]
    run_in_one_process(commands, work, stage_env(), what="the stages on shuffled labels")
    judged = gate(world, work / "models" / "attrition-model", evaluation_subset(world, 10000))
    assert judged.returncode == 1, judged.stdout + judged.stderr
    result = json.loads((work / "models" / "attrition-model-gate.json").read_text())
    assert result["verdict"] == "fail"
    assert result["on_the_curves"]["precision_at_production_recall"]["ci95"][1] < 0  # clearly worse


class _Trap:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str, str]]:
        return (Path.write_text, (str(self.marker), "unpickled"))  # type: ignore[return-value]


def test_a_tampered_candidate_is_refused_before_unpickling(world: dict[str, Path]) -> None:
    tampered = Path(shutil.copytree(world["prod_package"], world["root"] / "tampered"))
    marker = world["root"] / "unpickled.txt"
    (tampered / "model.joblib").write_bytes(pickle.dumps(_Trap(marker)))
    judged = gate(world, tampered, evaluation_subset(world, 10000))
    assert judged.returncode == 2
    assert (
        judged.stderr.startswith("error: candidate package refused:")
        and "model.joblib was changed" in judged.stderr
    )
    assert not marker.exists()


def predict_version(port: int, token: str) -> str:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/predict",
        data=json.dumps(PROFILE).encode(),
        method="POST",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return str(json.loads(response.read())["model_version"])


@pytest.fixture
def served(world: dict[str, Path]) -> Iterator[dict[str, Any]]:
    """`attrition serve` on 127.0.0.1 reading DIR/current, after a first `attrition deploy`."""
    serving, repo = world["root"] / "serving", world["repo"]
    deployed = run([*PY, "attrition.lifecycle.deploy", "--stage", "prod", "--to", str(serving)], repo)
    assert "deploy: prod is v1.0.0" in deployed.stdout
    env = {**stage_env(), "ATTRITION_JWT_SECRET": SECRET}
    token = subprocess.run(
        ["attrition", "token", "--sub", "e2e", "--scope", "attrition:predict attrition:admin"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.strip()
    token_file = world["root"] / "token"
    token_file.write_text(token)
    port = free_port()
    server = subprocess.Popen(
        [
            "attrition",
            "serve",
            "--package",
            str(serving / "current"),
            "--scores",
            str(repo / "data" / "batch_scores.csv"),
            "--audit-db",
            str(world["root"] / "audit.db"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2).close()
                break
            except OSError:
                time.sleep(0.5)
        yield {"port": port, "token": token, "token_file": token_file, "pid": server.pid, "serving": serving}
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_gate_promote_deploy_and_rollback_a_live_service(
    world: dict[str, Path], served: dict[str, Any]
) -> None:
    repo, port, token = world["repo"], served["port"], served["token"]
    first_model = predict_version(port, token)

    # a candidate on dataset version 4 is gated against prod; prod moves only on a pass
    run(["git", "checkout", "-q", "-b", "retrain/v4"], repo)
    set_params(repo, version=4)
    build_commit_push(repo, "Retrain on dataset version 4")
    assert "registered v1.1.0" in registry(repo, "propose").stdout
    gate_v4 = world["root"] / "gate-v4.json"
    promoted = registry(repo, "promote", "--out", str(gate_v4), check=False)
    result = json.loads(gate_v4.read_text())
    assert promoted.returncode == {"pass": 0, "fail": 1, "insufficient_evidence": 3}[result["verdict"]]
    assert stages(repo)["prod"] == ("v1.1.0" if result["verdict"] == "pass" else "v1.0.0")
    v4_commit = run(["git", "rev-parse", "HEAD"], repo).stdout.strip()
    assert result["candidate"]["package_md5"] == lock_md5(repo, v4_commit, "models/attrition-model")
    assert result["data"]["md5"] == lock_md5(repo, v4_commit, "data/evalset_v4.csv").split(".")[0]
    assert result["production"]["model_version"] == first_model
    assert {rule["name"] for rule in result["rules"]} == {
        "precision_at_production_recall",
        "recall_at_production_precision",
        "deployed_recall_noninferior",
        "age_band_recall_gap",
    }
    for figure in result["on_the_curves"].values():
        assert len(figure["ci95"]) == 2 and figure["support"] == result["data"]["positives"]

    # the champion truly dominates the logistic regression on version 3's evaluation rows: a pass
    run(["git", "checkout", "-q", "main"], repo)
    run(["git", "checkout", "-q", "-b", "champion"], repo)
    set_params(repo, train__model="hgb", train__selection__method="drop_column")
    build_commit_push(repo, "Champion: gradient boosting on dataset version 3")
    assert "registered v1.2.0" in registry(repo, "propose").stdout
    passed = registry(repo, "promote", "v1.2.0", check=False)
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert "verdict: pass" in passed.stdout and stages(repo)["prod"] == "v1.2.0"
    message = newest_prod_tag_message(repo)
    assert json.loads(message)["gate"]["verdict"] == "pass"  # the gate result rides on the assignment

    # deploy swaps the live service's package; /predict answers with the new model version
    deployed = run(
        [
            *PY,
            "attrition.lifecycle.deploy",
            "--stage",
            "prod",
            "--to",
            str(served["serving"]),
            "--reload-url",
            f"http://127.0.0.1:{port}/admin/reload",
            "--token-file",
            str(served["token_file"]),
        ],
        repo,
    )
    assert "service reloaded" in deployed.stdout
    champion_model = predict_version(port, token)
    assert champion_model != first_model and champion_model in deployed.stdout

    # rollback: the previous prod serves again (deploy by SIGHUP this time)
    rolled = registry(repo, "rollback", "--reason", "e2e rollback")
    assert "prod v1.2.0 -> v1.0.0" in rolled.stdout and stages(repo)["prod"] == "v1.0.0"
    run(
        [
            *PY,
            "attrition.lifecycle.deploy",
            "--stage",
            "prod",
            "--to",
            str(served["serving"]),
            "--pid",
            str(served["pid"]),
        ],
        repo,
    )
    for _ in range(60):
        if predict_version(port, token) == first_model:
            break
        time.sleep(0.5)
    assert predict_version(port, token) == first_model

    # a human override is recorded with its reason and whatever the gate said
    refused = registry(repo, "promote", "v1.1.0", "--force", check=False)
    assert refused.returncode == 2 and "--reason" in refused.stderr
    subset = str(evaluation_subset(world, 5000))
    forced = registry(repo, "promote", "v1.1.0", "--force", "--reason", "e2e override", "--data", subset)
    assert "is now prod" in forced.stdout and stages(repo)["prod"] == "v1.1.0"
    message = newest_prod_tag_message(repo)
    record = json.loads(message)
    assert record["forced"]["reason"] == "e2e override" and record["gate"]["verdict"] in {
        "pass",
        "fail",
        "insufficient_evidence",
    }
