"""Render the Helm chart offline with helm-python-sdk (Helm v4 as a library; no helm binary exists here).

The chart reads the project's alert rules through a symlink, files/prometheus-rules.yml ->
deploy/prometheus/rules.yml (and the Alertmanager config through files/alertmanager*.yml ->
deploy/alertmanager/), and Helm refuses to load a chart with a dangling link. Tests therefore
render a copy laid out like the repository, with the real rules file when it exists and a small
placeholder fixture otherwise (the rules are another engineer's file).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import helm_python as helm
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
CHART = REPO_ROOT / "deploy" / "helm" / "attrition"
RULES = REPO_ROOT / "deploy" / "prometheus" / "rules.yml"
PLACEHOLDER_RULES = Path(__file__).with_name("placeholder-rules.yml")
ALERTMANAGER = REPO_ROOT / "deploy" / "alertmanager"
VALUES_FILES = sorted((CHART / "ci").glob("*-values.yaml"))
RELEASE = "attrition"
NAMESPACE = "attrition"

Manifest = dict[str, Any]


def chart_copy(destination: Path) -> tuple[Path, Path]:
    """A copy of the chart at destination/deploy/helm/attrition and the rules file its link reaches."""
    chart = destination / "deploy" / "helm" / "attrition"
    shutil.copytree(CHART, chart, symlinks=True)
    rules = destination / "deploy" / "prometheus" / "rules.yml"
    rules.parent.mkdir(parents=True)
    shutil.copyfile(RULES if RULES.is_file() else PLACEHOLDER_RULES, rules)
    shutil.copytree(ALERTMANAGER, destination / "deploy" / "alertmanager")  # files/alertmanager*.yml links
    return chart, rules


def load_values(path: Path) -> dict[str, Any]:
    """A values file as a dict (an empty file is no overrides)."""
    return yaml.safe_load(path.read_text(encoding="utf-8")) or {}


def render(chart: Path, values: dict[str, Any]) -> dict[str, str]:
    """Template path -> rendered text, exactly what `helm template` would print per file."""
    with helm.Chart.load(chart) as loaded:
        return loaded.render(values, name=RELEASE, namespace=NAMESPACE, is_install=True)


def manifests(rendered: dict[str, str]) -> list[Manifest]:
    """Every Kubernetes object in the rendered templates (NOTES.txt and empty documents dropped)."""
    objects: list[Manifest] = []
    for path, text in sorted(rendered.items()):
        if not path.endswith((".yaml", ".yml")):
            continue
        objects.extend(doc for doc in yaml.safe_load_all(text) if doc)
    return objects


def pod_specs(objects: list[Manifest]) -> list[tuple[str, Manifest]]:
    """(object name, pod spec) of every Deployment and CronJob."""
    specs: list[tuple[str, Manifest]] = []
    for obj in objects:
        if obj["kind"] == "Deployment":
            specs.append((obj["metadata"]["name"], obj["spec"]["template"]["spec"]))
        elif obj["kind"] == "CronJob":
            specs.append((obj["metadata"]["name"], obj["spec"]["jobTemplate"]["spec"]["template"]["spec"]))
    return specs


def find(objects: list[Manifest], kind: str, name: str) -> Manifest:
    """The one object of `kind` named `name`; fails listing what exists."""
    matches = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    assert len(matches) == 1, (
        f"{kind}/{name} not rendered once; have {[(o['kind'], o['metadata']['name']) for o in objects]}"
    )
    return matches[0]
