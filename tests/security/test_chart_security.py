"""Issue 27, finding 7: the Helm chart as rendered (helm-python-sdk, as tests/deploy does).

With Vault on (the default) every pod mounted the service account token and shared its process
namespace with the agent; egress allowed all of 10.0.0.0/8 on 5432 and 8200; the monitor CronJob
put the database URL, password included, into its command line; the Ingress published the API
docs but not /decisions.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import helm_python as helm
import pytest

from attrition.audit.command import main as audit_main
from tests.audit.builders import count, open_store, prediction
from tests.deploy.chart import (
    RELEASE,
    REPO_ROOT,
    VALUES_FILES,
    Manifest,
    chart_copy,
    find,
    load_values,
    manifests,
    pod_specs,
    render,
)

pytestmark = pytest.mark.security

MONITOR, PURGE = f"{RELEASE}-monitor", f"{RELEASE}-audit-purge"
TOKEN_ANNOTATION = "vault.hashicorp.com/agent-service-account-token-volume-name"
PASSWORD = "s3cret-in-the-url"


@pytest.fixture(scope="module")
def chart(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return chart_copy(tmp_path_factory.mktemp("chart"))[0]


def values(name: str, **overrides: Any) -> dict[str, Any]:
    """A ci/ values file with top-level overrides merged one level deep."""
    loaded = load_values(next(path for path in VALUES_FILES if path.name == name))
    for key, value in overrides.items():
        loaded[key] = {**loaded.get(key, {}), **value} if isinstance(value, dict) else value
    return loaded


@pytest.fixture(scope="module")
def default(chart: Path) -> list[Manifest]:
    return manifests(render(chart, values("default-values.yaml")))


def _template(objects: list[Manifest], name: str) -> Manifest:
    """The pod template (metadata and spec) of the Deployment or CronJob `name`."""
    (obj,) = [o for o in objects if o["metadata"]["name"] == name and o["kind"] in ("Deployment", "CronJob")]
    return (
        obj["spec"]["template"]
        if obj["kind"] == "Deployment"
        else obj["spec"]["jobTemplate"]["spec"]["template"]
    )


# --- the Vault agent alone holds a token, and shares no process namespace --------------------------
def test_with_vault_only_the_agent_gets_a_service_account_token(default: list[Manifest]) -> None:
    specs = pod_specs(default)
    assert {name for name, _ in specs} >= {RELEASE, f"{RELEASE}-fallback", MONITOR, PURGE}
    for name, spec in specs:
        annotations = _template(default, name)["metadata"]["annotations"]
        assert spec["automountServiceAccountToken"] is False, name
        assert spec.get("shareProcessNamespace", False) is False, name
        assert annotations["vault.hashicorp.com/agent-share-process-namespace"] == "false", name
        volume_name = annotations[TOKEN_ANNOTATION]
        (volume,) = [v for v in spec["volumes"] if v["name"] == volume_name]
        (source,) = volume["projected"]["sources"]
        assert 600 <= source["serviceAccountToken"]["expirationSeconds"] <= 3600, name
        for container in spec["containers"]:  # the injector adds the agent; ours never mount it
            mounts = container.get("volumeMounts", [])
            assert not [m for m in mounts if m["name"] == volume_name], (name, container["name"])
            assert not [m for m in mounts if m["mountPath"].startswith("/var/run/secrets/kubernetes.io")]
        commands = [
            v for k, v in annotations.items() if k.startswith("vault.hashicorp.com/agent-inject-command")
        ]
        assert not [c for c in commands if "kill" in c or "HUP" in c], name  # nothing to signal through


def test_a_vault_role_audience_reaches_the_projected_token(chart: Path) -> None:
    objects = manifests(render(chart, values("default-values.yaml", vault={"tokenAudience": "vault"})))
    spec = _template(objects, RELEASE)["spec"]
    (volume,) = [v for v in spec["volumes"] if "projected" in v]
    assert volume["projected"]["sources"][0]["serviceAccountToken"]["audience"] == "vault"


# --- egress only to declared destinations --------------------------------------------------------
def _peers(policy: Manifest) -> list[tuple[int, dict[str, Any]]]:
    """(port, peer) for every egress peer and port the policy allows."""
    return [
        (port["port"], peer)
        for rule in policy["spec"]["egress"]
        for peer in rule.get("to", [{}])
        for port in rule.get("ports", [{"port": "any"}])
    ]


def test_egress_is_closed_until_the_database_and_vault_are_declared(
    chart: Path, default: list[Manifest]
) -> None:
    peers = _peers(find(default, "NetworkPolicy", RELEASE))
    assert {port for port, _ in peers} == {53}  # DNS only: nothing declared, nothing open
    assert not [peer for _, peer in peers if "ipBlock" in peer]

    declared = values(
        "default-values.yaml",
        networkPolicy={
            "egress": {
                "database": {"port": 5432, "cidrs": ["10.20.30.0/24"]},
                "vault": {
                    "port": 8200,
                    "namespaceLabels": {"kubernetes.io/metadata.name": "vault"},
                    "podLabels": {"app.kubernetes.io/name": "vault"},
                },
            }
        },
    )
    peers = _peers(find(manifests(render(chart, declared)), "NetworkPolicy", RELEASE))
    assert [peer for port, peer in peers if port == 5432] == [{"ipBlock": {"cidr": "10.20.30.0/24"}}]
    assert [peer for port, peer in peers if port == 8200] == [
        {
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "vault"}},
            "podSelector": {"matchLabels": {"app.kubernetes.io/name": "vault"}},
        }
    ]


def test_the_old_catch_all_egress_values_are_refused(chart: Path) -> None:
    with pytest.raises(helm.HelmError, match=r"networkPolicy\.egressCidrs/egressPorts were replaced"):
        render(chart, values("default-values.yaml", networkPolicy={"egressCidrs": ["10.0.0.0/8"]}))


# --- no database password in any command line ----------------------------------------------------
def _run_recording_argv(spec: Manifest, secrets: Path, bin_dir: Path) -> str:
    """Run the job's container command with `attrition` and `python` replaced by stubs that record
    the argv they get (what `ps` or /proc/<pid>/cmdline would show); the secret files in `secrets`."""
    (container,) = spec["containers"]
    log = bin_dir / "argv.log"
    for stub in ("attrition", "python"):
        path = bin_dir / stub
        path.write_text(f'#!/bin/sh\nprintf "%s\\n" "$0" "$@" >> "{log}"\n')
        path.chmod(0o755)
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin"}
    for item in container["env"]:
        env[item["name"]] = item["value"].replace("/vault/secrets", str(secrets))
    argv = [*container.get("command", []), *container.get("args", [])]
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode == 0, done.stderr
    return log.read_text()


@pytest.mark.parametrize("job", [MONITOR, PURGE])
def test_no_job_puts_the_database_password_in_its_command_line(
    default: list[Manifest], tmp_path: Path, job: str
) -> None:
    secrets, bin_dir = tmp_path / "secrets", tmp_path / "bin"
    secrets.mkdir()
    bin_dir.mkdir()
    for name in ("audit-db", "audit-purge-db"):
        (secrets / name).write_text(f"postgresql://svc:{PASSWORD}@db.internal:5432/attrition\n")
    spec = _template(default, job)["spec"]
    argv = _run_recording_argv(spec, secrets, bin_dir)
    assert argv.strip(), "the job ran nothing"
    assert PASSWORD not in argv and "postgresql://" not in argv


def test_the_monitor_reads_the_url_from_its_file(
    default: list[Manifest], model_package: Path, tmp_path: Path
) -> None:
    (container,) = _template(default, MONITOR)["spec"]["containers"]
    assert container["command"] == ["attrition", "monitor"]
    env = {item["name"]: item["value"] for item in container["env"]}
    assert env["ATTRITION_AUDIT_DB_FILE"] == "/vault/secrets/audit-db"
    url_file = tmp_path / "audit-db"
    url_file.write_text("mysql://monitor@db.internal/attrition\n")  # refused by name once it arrives
    args = [
        f"--package={model_package}",
        f"--outcomes={tmp_path / 'outcomes.csv'}",
        f"--out={tmp_path / 'monitoring.json'}",
        f"--prom={tmp_path / 'monitor.prom'}",
        f"--params={REPO_ROOT / 'params.yaml'}",
    ]
    done = subprocess.run(
        [sys.executable, "-m", "attrition.cli", "monitor", *args],
        env={**os.environ, "ATTRITION_AUDIT_DB_FILE": str(url_file)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2 and "scheme 'mysql' is not supported" in done.stderr, done.stderr


def test_the_purge_job_runs_as_the_purge_role_from_its_own_file(
    default: list[Manifest], chart: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    template = _template(default, PURGE)
    (container,) = template["spec"]["containers"]
    env = {item["name"]: item["value"] for item in container["env"]}
    assert env["ATTRITION_AUDIT_PURGE_DB_FILE"] == "/vault/secrets/audit-purge-db"
    assert "ATTRITION_AUDIT_DB_FILE" not in env  # the service role may not delete
    assert (
        "attrition-audit-purge"
        in template["metadata"]["annotations"]["vault.hashicorp.com/agent-inject-secret-audit-purge-db"]
    )
    db = tmp_path / "audit.sqlite"
    with open_store(str(db)) as store:
        store.record_blocking([prediction("E1", ts=0.0)])
    url_file = tmp_path / "audit-purge-db"
    url_file.write_text(f"sqlite:///{db}\n")
    monkeypatch.setenv("ATTRITION_AUDIT_PURGE_DB_FILE", str(url_file))
    monkeypatch.setenv("ATTRITION_AUDIT_RETENTION_DAYS", env["ATTRITION_AUDIT_RETENTION_DAYS"])
    assert container["command"] == ["attrition"] and container["args"][:2] == ["audit", "purge"]
    assert audit_main(container["args"][1:]) == 0  # the job's exact arguments
    assert count(str(db), "predictions") == 0

    without_vault = manifests(render(chart, values("k8s-secret-operator-values.yaml")))
    (volume,) = [v for v in _template(without_vault, PURGE)["spec"]["volumes"] if v["name"] == "secrets"]
    assert volume["secret"]["items"] == [{"key": "audit-purge-db", "path": "audit-purge-db"}]


# --- the Ingress routes what managers use, not the docs ------------------------------------------
def _routed(objects: list[Manifest]) -> set[str]:
    ingress = find(objects, "Ingress", RELEASE)
    return {path["path"] for rule in ingress["spec"]["rules"] for path in rule["http"]["paths"]}


def test_the_ingress_routes_decisions_and_keeps_the_docs_inside(chart: Path, default: list[Manifest]) -> None:
    assert _routed(default) == {"/predict", "/decisions", "/scores"}
    published = manifests(render(chart, values("default-values.yaml", ingress={"publishDocs": True})))
    assert {"/docs", "/openapi.json"} <= _routed(published)
    assert not {"/admin", "/metrics", "/healthz", "/readyz"} & _routed(published)
