"""The chart and Argo CD carry alert routing (issue 23): the Alertmanager config and the rules as
ConfigMaps, verbatim from deploy/, and the fallback pods labelled so AttritionNotReady leaves them out."""

from __future__ import annotations

from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from tests.deploy.chart import CHART, REPO_ROOT, Manifest, chart_copy, load_values, manifests, render

ALERTMANAGER = REPO_ROOT / "deploy" / "alertmanager"
OPERATOR_VALUES = CHART / "ci" / "k8s-secret-operator-values.yaml"
PROD_VALUES = REPO_ROOT / "deploy" / "argocd" / "values-prod.yaml"


@pytest.fixture(scope="module")
def chart(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return chart_copy(tmp_path_factory.mktemp("alerting-chart"))


def _config_maps(objects: list[Manifest]) -> dict[str, Manifest]:
    return {o["metadata"]["name"]: o for o in objects if o["kind"] == "ConfigMap"}


def test_alertmanager_config_and_rules_ship_verbatim_as_config_maps(chart: tuple[Path, Path]) -> None:
    objects = manifests(render(chart[0], load_values(OPERATOR_VALUES)))
    maps = _config_maps(objects)
    alertmanager = maps["attrition-alertmanager"]
    assert alertmanager["data"]["alertmanager.yml"] == (ALERTMANAGER / "alertmanager.yml").read_text()
    assert alertmanager["data"]["attrition.tmpl"] == (ALERTMANAGER / "attrition.tmpl").read_text()
    assert alertmanager["metadata"]["labels"]["alertmanager_config"] == "1"
    routed = yaml.safe_load(alertmanager["data"]["alertmanager.yml"])
    keys = [
        routed["global"]["slack_api_url_file"],
        *(p["routing_key_file"] for r in routed["receivers"] for p in r.get("pagerduty_configs", [])),
    ]
    assert keys and all(key.startswith("/vault/secrets/") for key in keys)  # files, never inline keys
    rules = maps["attrition-prometheus-rules"]
    assert yaml.safe_load(rules["data"]["attrition-rules.yml"]) == yaml.safe_load(chart[1].read_text())
    for config_map in (alertmanager, rules):
        kubernetes_validate.validate(config_map, "1.33.0", strict=True)


def test_alerting_config_maps_are_off_by_default(chart: tuple[Path, Path]) -> None:
    maps = _config_maps(manifests(render(chart[0], load_values(CHART / "ci" / "default-values.yaml"))))
    assert not {"attrition-alertmanager", "attrition-prometheus-rules"} & set(maps)


def test_argocd_production_values_deploy_the_routing(chart: tuple[Path, Path]) -> None:
    maps = _config_maps(manifests(render(chart[0], load_values(PROD_VALUES))))
    assert {"attrition-alertmanager", "attrition-prometheus-rules"} <= set(maps)


def test_service_monitor_labels_targets_by_component_so_fallback_pods_do_not_page(
    chart: tuple[Path, Path],
) -> None:
    objects = manifests(render(chart[0], load_values(OPERATOR_VALUES)))
    monitor = next(o for o in objects if o["kind"] == "ServiceMonitor")
    assert {
        "sourceLabels": ["__meta_kubernetes_service_label_app_kubernetes_io_component"],
        "targetLabel": "component",
    } in monitor["spec"]["endpoints"][0]["relabelings"]
    services = {o["metadata"]["name"]: o for o in objects if o["kind"] == "Service"}
    assert services["attrition-fallback"]["metadata"]["labels"]["app.kubernetes.io/component"] == "fallback"
    assert services["attrition"]["metadata"]["labels"]["app.kubernetes.io/component"] == "api"
    not_ready = next(
        rule
        for group in yaml.safe_load(chart[1].read_text())["groups"]
        for rule in group["rules"]
        if rule.get("alert") == "AttritionNotReady"
    )
    assert 'component!="fallback"' in not_ready["expr"]
