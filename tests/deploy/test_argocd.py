"""The Argo CD Application points at this repository's chart and production values, auto-synced."""

from __future__ import annotations

import subprocess
from pathlib import Path

import kubernetes_validate
import yaml

from tests.deploy.chart import CHART, REPO_ROOT, chart_copy, load_values, manifests, render

APPLICATION = REPO_ROOT / "deploy" / "argocd" / "application.yaml"
PROMOTE = REPO_ROOT / "deploy" / "argocd" / "promote.sh"


def _application() -> dict:
    return yaml.safe_load(APPLICATION.read_text(encoding="utf-8"))


def test_sync_is_automated_with_prune_and_self_heal() -> None:
    app = _application()
    assert (app["apiVersion"], app["kind"]) == ("argoproj.io/v1alpha1", "Application")
    automated = app["spec"]["syncPolicy"]["automated"]
    assert automated == {"prune": True, "selfHeal": True}
    assert REPO_ROOT / app["spec"]["source"]["path"] == CHART


def test_production_values_render_a_valid_release(tmp_path: Path) -> None:
    source = _application()["spec"]["source"]
    chart, _ = chart_copy(tmp_path)
    values: dict = {}
    for relative in source["helm"]["valueFiles"]:
        path = (REPO_ROOT / source["path"] / relative).resolve()
        assert path.is_relative_to(REPO_ROOT) and path.is_file(), relative
        values |= load_values(path)
    objects = manifests(render(chart, values))
    deployment = next(
        o for o in objects if o["kind"] == "Deployment" and o["metadata"]["name"] == "attrition"
    )
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"].endswith(
        f":{values['image']['tag']}"
    )
    for obj in objects:
        if obj["apiVersion"].startswith(("monitoring.coreos.com", "keda.sh")):
            continue
        kubernetes_validate.validate(obj, "1.33.0", strict=True)


def test_promotion_rewrites_only_the_image_tag(tmp_path: Path) -> None:
    """promote.sh in a scratch git repo: one commit, one changed line, bad versions refused."""
    argocd = tmp_path / "deploy" / "argocd"
    argocd.mkdir(parents=True)
    (argocd / "promote.sh").write_bytes(PROMOTE.read_bytes())
    (argocd / "values-prod.yaml").write_bytes((REPO_ROOT / "deploy/argocd/values-prod.yaml").read_bytes())
    git = ["git", "-c", "user.name=ci", "-c", "user.email=ci@example.com"]
    subprocess.run([*git, "init", "-q"], cwd=tmp_path, check=True)
    subprocess.run([*git, "add", "."], cwd=tmp_path, check=True)
    subprocess.run([*git, "commit", "-q", "-m", "start"], cwd=tmp_path, check=True)
    env = {"GIT_AUTHOR_NAME": "ci", "GIT_AUTHOR_EMAIL": "ci@example.com"}
    env |= {"GIT_COMMITTER_NAME": "ci", "GIT_COMMITTER_EMAIL": "ci@example.com", "PATH": "/usr/bin:/bin"}
    bad = subprocess.run(
        ["bash", "deploy/argocd/promote.sh", "latest"], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert bad.returncode == 2 and bad.stderr.startswith("error: ")
    done = subprocess.run(
        ["bash", "deploy/argocd/promote.sh", "v4-0123456789ab"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    diff = subprocess.run(
        ["git", "diff", "HEAD~1", "--unified=0"], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    changed = [
        line for line in diff.stdout.splitlines() if line[:1] in "+-" and line[:3] not in ("+++", "---")
    ]
    assert changed == ["-  tag: v3-bea571367755", "+  tag: v4-0123456789ab"]


def test_promotion_accepts_a_model_trained_on_the_feature_store(tmp_path: Path) -> None:
    """Models trained on the store are versioned t<table version>-<hash> (datapath.t): promotable too."""
    argocd = tmp_path / "deploy" / "argocd"
    argocd.mkdir(parents=True)
    (argocd / "promote.sh").write_bytes(PROMOTE.read_bytes())
    (argocd / "values-prod.yaml").write_bytes((REPO_ROOT / "deploy/argocd/values-prod.yaml").read_bytes())
    git = ["git", "-c", "user.name=ci", "-c", "user.email=ci@example.com"]
    subprocess.run([*git, "init", "-q"], cwd=tmp_path, check=True)
    subprocess.run([*git, "add", "."], cwd=tmp_path, check=True)
    subprocess.run([*git, "commit", "-q", "-m", "start"], cwd=tmp_path, check=True)
    env = {"GIT_AUTHOR_NAME": "ci", "GIT_AUTHOR_EMAIL": "ci@example.com", "PATH": "/usr/bin:/bin"}
    env |= {"GIT_COMMITTER_NAME": "ci", "GIT_COMMITTER_EMAIL": "ci@example.com"}
    done = subprocess.run(
        ["bash", "deploy/argocd/promote.sh", "t35-bb71038a4d92"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert load_values(argocd / "values-prod.yaml")["image"]["tag"] == "t35-bb71038a4d92"
