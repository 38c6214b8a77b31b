"""The Helm chart (deploy/helm/attrition), rendered with every values file in its ci/ folder.

Lint (strict), `kubernetes-validate --strict` on every built-in object against the Kubernetes version
EKS runs, and the properties the deployment plan relies on: locked-down pods, probes, the batch-score
fallback behind the Ingress, Vault-rendered secret files, the alert rules, scale to zero, the jobs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import helm_python as helm
import kubernetes_validate
import pytest
import yaml

from tests.deploy.chart import (
    RELEASE,
    VALUES_FILES,
    Manifest,
    chart_copy,
    find,
    load_values,
    manifests,
    pod_specs,
    render,
)

KUBERNETES_VERSION = "1.33.0"  # EKS standard support
# kubernetes-validate ships only the built-in API schemas; these come from CRDs and are checked by
# the assertions below instead.
CRD_KINDS = {
    ("monitoring.coreos.com/v1", "ServiceMonitor"),
    ("monitoring.coreos.com/v1", "PrometheusRule"),
    ("keda.sh/v1alpha1", "ScaledObject"),
}
API = RELEASE
FALLBACK = f"{RELEASE}-fallback"
TAG = "v3-bea571367755"


@pytest.fixture(scope="module")
def chart(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(chart dir, rules file) of a private copy laid out like the repository."""
    return chart_copy(tmp_path_factory.mktemp("chart"))


@pytest.fixture(scope="module")
def rendered(chart: tuple[Path, Path]) -> dict[str, list[Manifest]]:
    """Values file name -> the objects the chart renders with it."""
    return {path.name: manifests(render(chart[0], load_values(path))) for path in VALUES_FILES}


def _values_ids() -> list[str]:
    return [path.name for path in VALUES_FILES]


def test_there_are_several_values_files() -> None:
    assert len(VALUES_FILES) >= 4


@pytest.mark.parametrize("values_file", VALUES_FILES, ids=_values_ids())
def test_lint_is_clean(chart: tuple[Path, Path], values_file: Path) -> None:
    report = helm.lint(chart[0], load_values(values_file), strict=True)
    problems = [m for m in report["messages"] if m["severity"] >= 2]  # warnings and errors
    assert report["errors"] == [] and problems == []


@pytest.mark.parametrize("values_file", _values_ids())
def test_every_builtin_object_validates_strictly(
    rendered: dict[str, list[Manifest]], values_file: str
) -> None:
    objects = rendered[values_file]
    assert objects
    for obj in objects:
        if (obj["apiVersion"], obj["kind"]) in CRD_KINDS:
            continue
        try:
            kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as error:
            first = str(error).splitlines()[0]
            pytest.fail(f"{values_file}: {obj['kind']}/{obj['metadata']['name']}: {first}")


@pytest.mark.parametrize("values_file", _values_ids())
def test_every_pod_is_non_root_read_only_and_bounded(
    rendered: dict[str, list[Manifest]], values_file: str
) -> None:
    specs = pod_specs(rendered[values_file])
    assert specs
    for name, spec in specs:
        assert spec["securityContext"]["runAsNonRoot"] is True, name
        assert spec["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault", name
        for container in spec["containers"]:
            context = container["securityContext"]
            assert context["readOnlyRootFilesystem"] is True, name
            assert context["allowPrivilegeEscalation"] is False, name
            assert context["capabilities"]["drop"] == ["ALL"], name
            assert {"cpu", "memory"} <= set(container["resources"]["requests"]), name
            assert "memory" in container["resources"]["limits"], name
            assert ":" in container["image"] or "@" in container["image"], name


def test_api_probes_liveness_on_healthz_and_readiness_on_readyz(rendered: dict[str, list[Manifest]]) -> None:
    api = find(rendered["default-values.yaml"], "Deployment", API)
    (container,) = api["spec"]["template"]["spec"]["containers"]
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["startupProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["image"] == f"registry.example.com/attrition:{TAG}"


def _selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(key) == value for key, value in selector.items())


def test_fallback_answers_through_the_ingress_when_the_api_has_no_ready_pod(
    rendered: dict[str, list[Manifest]],
) -> None:
    objects = rendered["default-values.yaml"]
    ingress = find(objects, "Ingress", API)
    assert ingress["metadata"]["annotations"]["nginx.ingress.kubernetes.io/default-backend"] == FALLBACK
    assert ingress["spec"]["tls"][0]["secretName"] == "attrition-tls"
    fallback_service = find(objects, "Service", FALLBACK)
    api_service = find(objects, "Service", API)
    fallback_pods = find(objects, "Deployment", FALLBACK)["spec"]["template"]
    api_pods = find(objects, "Deployment", API)["spec"]["template"]
    assert _selects(fallback_service["spec"]["selector"], fallback_pods["metadata"]["labels"])
    assert not _selects(fallback_service["spec"]["selector"], api_pods["metadata"]["labels"])
    assert not _selects(api_service["spec"]["selector"], fallback_pods["metadata"]["labels"])
    (container,) = fallback_pods["spec"]["containers"]
    env = {item["name"]: item.get("value") for item in container["env"]}
    assert env["ATTRITION_PACKAGE"].startswith("/nonexistent")  # scores only: it never loads a model
    assert container["readinessProbe"]["httpGet"]["path"] == "/healthz"  # /readyz is 503 without one
    assert container["image"] == api_pods["spec"]["containers"][0]["image"]
    # the fallback accepts the same tokens and answers the Ingress host, as the API does (issue 27)
    (api_container,) = api_pods["spec"]["containers"]
    api_env = {item["name"]: item.get("value") for item in api_container["env"]}
    for name in ("ATTRITION_JWT_ALGORITHM", "ATTRITION_RELOAD_TRIGGER_FILE"):
        assert env[name] == api_env[name]
    host = ingress["spec"]["rules"][0]["host"]
    assert host in env["ATTRITION_ALLOWED_HOSTS"].split(",") and host in api_env["ATTRITION_ALLOWED_HOSTS"]
    # the release's namespace is named after it in these renders
    assert f"{FALLBACK}.{RELEASE}.svc" in env["ATTRITION_ALLOWED_HOSTS"].split(",")
    assert api_env["ATTRITION_RELOAD_TRIGGER_FILE"] == "/vault/secrets/.rotated"


def test_scale_to_zero_hands_replicas_to_keda(rendered: dict[str, list[Manifest]]) -> None:
    objects = rendered["scale-to-zero-values.yaml"]
    scaled = find(objects, "ScaledObject", API)
    assert scaled["spec"]["minReplicaCount"] == 0
    assert scaled["spec"]["scaleTargetRef"]["name"] == API
    assert not [o for o in objects if o["kind"] == "HorizontalPodAutoscaler"]
    assert "replicas" not in find(objects, "Deployment", API)["spec"]
    assert find(objects, "Deployment", FALLBACK)["spec"]["replicas"] >= 1


def test_vault_agent_renders_the_secret_files_the_service_reads(rendered: dict[str, list[Manifest]]) -> None:
    objects = rendered["default-values.yaml"]
    pod = find(objects, "Deployment", API)["spec"]["template"]
    annotations = pod["metadata"]["annotations"]
    assert annotations["vault.hashicorp.com/agent-inject"] == "true"
    assert (
        'with secret "secret/data/attrition/jwt"'
        in annotations["vault.hashicorp.com/agent-inject-template-jwt-secret"]
    )
    assert "postgresql://" in annotations["vault.hashicorp.com/agent-inject-template-audit-db"]
    # No shared process namespace to signal through: the agent marks the rotation in the shared volume.
    assert (
        annotations["vault.hashicorp.com/agent-inject-command-jwt-secret"] == "touch /vault/secrets/.rotated"
    )
    assert "shareProcessNamespace" not in pod["spec"] and pod["spec"]["automountServiceAccountToken"] is False
    env = {item["name"]: item["value"] for item in pod["spec"]["containers"][0]["env"]}
    assert env["ATTRITION_JWT_SECRET_FILE"] == "/vault/secrets/jwt-secret"
    assert env["ATTRITION_AUDIT_DB_FILE"] == "/vault/secrets/audit-db"
    assert not any(item["name"] == "ATTRITION_JWT_SECRET" for item in pod["spec"]["containers"][0]["env"])
    for name, spec in pod_specs(objects):
        if name.endswith(("-monitor", "-audit-purge")):
            job_pod = find(objects, "CronJob", name)["spec"]["jobTemplate"]["spec"]["template"]
            assert job_pod["metadata"]["annotations"]["vault.hashicorp.com/agent-pre-populate-only"] == "true"
            assert spec["restartPolicy"] == "Never"


def test_without_vault_a_kubernetes_secret_is_mounted_as_files(rendered: dict[str, list[Manifest]]) -> None:
    pod = find(rendered["k8s-secret-operator-values.yaml"], "Deployment", API)["spec"]["template"]["spec"]
    (volume,) = [v for v in pod["volumes"] if v["name"] == "secrets"]
    assert volume["secret"]["secretName"] == "attrition-secrets"
    env = {item["name"]: item["value"] for item in pod["containers"][0]["env"]}
    assert env["ATTRITION_JWT_SECRET_FILE"] == "/var/run/secrets/attrition/jwt-secret"
    assert pod["automountServiceAccountToken"] is False


def test_prometheus_rule_carries_the_project_rules_verbatim(
    chart: tuple[Path, Path], rendered: dict[str, list[Manifest]]
) -> None:
    objects = rendered["k8s-secret-operator-values.yaml"]
    rule = find(objects, "PrometheusRule", API)
    assert rule["spec"]["groups"] == yaml.safe_load(chart[1].read_text(encoding="utf-8"))["groups"]
    monitor = find(objects, "ServiceMonitor", API)
    assert monitor["spec"]["endpoints"][0]["path"] == "/metrics"
    pod = find(objects, "Deployment", API)["spec"]["template"]
    assert "prometheus.io/scrape" not in pod["metadata"].get("annotations", {})
    assert find(objects, "Deployment", API)["spec"]["template"]["spec"]["containers"][0]["image"].startswith(
        "registry.example.com/attrition@sha256:"
    )


def test_cronjobs_run_the_monitor_and_the_180_day_purge(rendered: dict[str, list[Manifest]]) -> None:
    objects = rendered["default-values.yaml"]
    commands: dict[str, str] = {}
    for name, spec in pod_specs(objects):
        if find_kind(objects, name) == "CronJob":
            (container,) = spec["containers"]
            commands[name] = " ".join([*container["command"], *container["args"]])
    assert commands[f"{RELEASE}-monitor"].startswith("attrition monitor ")
    assert "attrition audit purge" in commands[f"{RELEASE}-audit-purge"]
    assert "--older-than=180d" in commands[f"{RELEASE}-audit-purge"]
    assert not [
        o for o in rendered["minimal-values.yaml"] if o["kind"] in ("CronJob", "Ingress", "NetworkPolicy")
    ]


def find_kind(objects: list[Manifest], name: str) -> str:
    (kind,) = {
        o["kind"] for o in objects if o["metadata"]["name"] == name and o["kind"] in ("Deployment", "CronJob")
    }
    return kind


def test_network_policy_denies_by_default_and_opens_only_declared_paths(
    rendered: dict[str, list[Manifest]],
) -> None:
    policy = find(rendered["default-values.yaml"], "NetworkPolicy", API)
    assert policy["spec"]["policyTypes"] == ["Ingress", "Egress"]
    egress_ports = sorted({p["port"] for rule in policy["spec"]["egress"] for p in rule["ports"]})
    assert egress_ports == [53]  # the database and Vault only once declared (tests/security)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({}, "image.tag is required"),
        ({"image": {"tag": TAG}, "vault": {"enabled": False}}, "existingSecret"),
        ({"image": {"tag": TAG}, "onlineFeatures": {"enabled": True}}, "onlineFeatures.volumeClaim"),
    ],
)
def test_unsafe_values_are_refused_with_the_reason(
    chart: tuple[Path, Path], values: dict[str, Any], message: str
) -> None:
    with pytest.raises(helm.HelmError, match=message):
        render(chart[0], values)


def test_online_features_are_mounted_read_only_and_named_to_the_service(
    rendered: dict[str, list[Manifest]],
) -> None:
    objects = rendered["online-features-values.yaml"]
    pod = find(objects, "Deployment", API)["spec"]["template"]["spec"]
    container = pod["containers"][0]
    env = {item["name"]: item.get("value") for item in container["env"]}
    assert env["ATTRITION_ONLINE_FEATURES"] == "/var/lib/attrition-features/online.json.gz"
    mount = next(m for m in container["volumeMounts"] if m["name"] == "online-features")
    assert mount == {"name": "online-features", "mountPath": "/var/lib/attrition-features", "readOnly": True}
    volume = next(v for v in pod["volumes"] if v["name"] == "online-features")
    assert volume["persistentVolumeClaim"] == {"claimName": "attrition-features", "readOnly": True}
    # off by default: no variable, no volume
    default = find(rendered["default-values.yaml"], "Deployment", API)["spec"]["template"]["spec"]
    assert "ATTRITION_ONLINE_FEATURES" not in {item["name"] for item in default["containers"][0]["env"]}
    assert "online-features" not in {v["name"] for v in default["volumes"]}
