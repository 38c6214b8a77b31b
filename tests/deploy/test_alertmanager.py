"""The committed Alertmanager config (deploy/alertmanager/): amtool accepts it, every alert rule's labels
route to the receiver its severity names, and a real Alertmanager delivers what a real Prometheus fires.

The delivery test runs Debian's Prometheus on the committed rules (every `for:` cut to 1 s) over the
monitor's real exposition (attrition.monitor.exposition, one drift alert) and a scrape target that is
down, so AttritionFeatureDrift (ticket -> Slack) and AttritionNotReady (page -> PagerDuty) fire for
real. Both receivers' URLs point at one local webhook standing in for Slack and PagerDuty; their keys
are files, as Vault Agent renders them. An alert the outage explains (AttritionHigh5xxRatio) posted
while AttritionNotReady fires is inhibited: it never reaches PagerDuty.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from attrition.monitor.checks import CheckResult
from attrition.monitor.exposition import build_registry
from tests.support.monitoring import free_port, wait_until
from tests.support.system import ensure_command, get_json, logged_process

pytestmark = pytest.mark.system  # amtool and alertmanager from Debian's prometheus-alertmanager

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / "deploy" / "alertmanager" / "alertmanager.yml"
TEMPLATE = REPO / "deploy" / "alertmanager" / "attrition.tmpl"
RULES = REPO / "deploy" / "prometheus" / "rules.yml"
RECEIVER_BY_SEVERITY = {"page": "pagerduty-mlops", "ticket": "slack-mlops", "info": "slack-mlops"}
DELIVERY_TIMEOUT_S = 90


def _amtool(*args: str) -> subprocess.CompletedProcess[str]:
    amtool = ensure_command("amtool", "prometheus-alertmanager")
    return subprocess.run([amtool, *args], capture_output=True, text=True, timeout=60, check=False)


def _rules() -> list[dict[str, Any]]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return [rule for group in groups for rule in group["rules"] if "alert" in rule]


def _local_config(tmp_path: Path, webhook: str) -> Path:
    """The committed config with its secret files, templates and PagerDuty URL moved to tmp_path.

    Only where things are changes, plus group_wait cut to 1 s: routes, receivers and inhibition stay.
    """
    config = yaml.safe_load(CONFIG.read_text())
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "slack-webhook-url").write_text(f"{webhook}/slack\n")
    (secrets / "pagerduty-routing-key").write_text("test-routing-key-0123456789abcdef\n")
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / TEMPLATE.name).write_bytes(TEMPLATE.read_bytes())
    config["global"]["slack_api_url_file"] = str(secrets / "slack-webhook-url")
    config["templates"] = [str(tmp_path / "templates" / "*.tmpl")]
    for route in [config["route"], *config["route"]["routes"]]:
        route["group_wait"] = "1s"
    for receiver in config["receivers"]:
        for pagerduty in receiver.get("pagerduty_configs", []):
            pagerduty["routing_key_file"] = str(secrets / "pagerduty-routing-key")
            pagerduty["url"] = f"{webhook}/pagerduty"
    path = tmp_path / "alertmanager.yml"
    path.write_text(yaml.safe_dump(config))
    return path


def test_config_passes_amtool_check() -> None:
    done = _amtool("check-config", str(CONFIG))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout


def test_every_rule_routes_to_the_receiver_its_severity_names() -> None:
    """amtool's routing test, for each committed alert rule's own labels (a new rule is covered too)."""
    table = {}
    for rule in _rules():
        labels = {"alertname": rule["alert"], **rule.get("labels", {})}
        expected = RECEIVER_BY_SEVERITY[labels["severity"]]
        done = _amtool(
            "config",
            "routes",
            "test",
            f"--config.file={CONFIG}",
            f"--verify.receivers={expected}",
            *(f"{key}={value}" for key, value in labels.items()),
        )
        assert done.returncode == 0, f"{labels}: {done.stdout}{done.stderr}"
        table[rule["alert"]] = (labels["severity"], done.stdout.strip())
    print("\n".join(f"{name:40} {severity:7} -> {receiver}" for name, (severity, receiver) in table.items()))
    assert {receiver for _, receiver in table.values()} == {"pagerduty-mlops", "slack-mlops"}
    # the plan's split: outages page MLOps; the monitor's verdicts (drift, decay, fairness) go to Slack
    outages = ("AttritionNotReady", "AttritionServingBatchFallback", "AttritionAuditStoreFailing")
    assert all(table[name][1] == "pagerduty-mlops" for name in outages), table
    verdicts = ("AttritionFeatureDrift", "AttritionModelDecay", "AttritionFairnessGap")
    assert all(table[name][1] == "slack-mlops" for name in verdicts), table


def test_an_unknown_severity_falls_back_to_slack() -> None:
    done = _amtool(
        "config",
        "routes",
        "test",
        f"--config.file={CONFIG}",
        "--verify.receivers=slack-mlops",
        "alertname=SomethingNew",
    )
    assert done.returncode == 0, done.stdout + done.stderr


class _Webhook(ThreadingHTTPServer):
    """Records every POST (path, JSON body): the stand-in for Slack's and PagerDuty's endpoints."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Recorder)
        self.received: list[tuple[str, dict[str, Any]]] = []
        self.lock = threading.Lock()

    def posts(self, path: str) -> list[dict[str, Any]]:
        with self.lock:
            return [body for where, body in self.received if where == path]


class _Recorder(BaseHTTPRequestHandler):
    server: _Webhook

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        with self.server.lock:
            self.server.received.append((self.path, json.loads(body or b"{}")))
        answer = b'{"status": "success"}' if self.path == "/pagerduty" else b"ok"
        self.send_response(202 if self.path == "/pagerduty" else 200)
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, format: str, *args: Any) -> None:
        return


@contextlib.contextmanager
def _webhook() -> Iterator[_Webhook]:
    server = _Webhook()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def _fast_rules(path: Path) -> Path:
    rules = yaml.safe_load(RULES.read_text())
    for group in rules["groups"]:
        for rule in group["rules"]:
            if "alert" in rule:
                rule["for"] = "1s"
    path.write_text(yaml.safe_dump(rules))
    return path


def _monitor_textfile(folder: Path) -> None:
    """What `attrition monitor --prom` writes for one drifted feature, through its own exposition code."""
    from prometheus_client import write_to_textfile

    drift = CheckResult(
        "drift", "monthly_income", "1d", "alert", 900, "", {"psi": 0.41, "threshold": 0.2, "min_rows": 500}
    )
    folder.mkdir()
    write_to_textfile(
        str(folder / "monitor.prom"), build_registry([drift], model_version="v", finished_at=0.0)
    )


def test_prometheus_alerts_reach_slack_and_pagerduty_through_alertmanager(tmp_path: Path) -> None:
    prometheus = ensure_command("prometheus", "prometheus")
    alertmanager = ensure_command("prometheus-alertmanager", "prometheus-alertmanager")
    _monitor_textfile(tmp_path / "textfiles")
    am_port, prom_port, static_port, dead_port = free_port(), free_port(), free_port(), free_port()
    with _webhook() as hook:
        webhook = f"http://127.0.0.1:{hook.server_address[1]}"
        am_config = _local_config(tmp_path, webhook)
        am_url = f"http://127.0.0.1:{am_port}"
        prom_config = {
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "rule_files": [str(_fast_rules(tmp_path / "rules.yml"))],
            "alerting": {"alertmanagers": [{"static_configs": [{"targets": [f"127.0.0.1:{am_port}"]}]}]},
            "scrape_configs": [
                # nothing listens there: up{job="attrition"} == 0, the service is down
                {"job_name": "attrition", "static_configs": [{"targets": [f"127.0.0.1:{dead_port}"]}]},
                {
                    "job_name": "monitor",
                    "metrics_path": "/monitor.prom",
                    "static_configs": [{"targets": [f"127.0.0.1:{static_port}"]}],
                },
            ],
        }
        (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(prom_config))
        static = [sys.executable, "-m", "http.server", str(static_port), "--bind", "127.0.0.1"]
        static += ["--directory", str(tmp_path / "textfiles")]
        am_args = [
            alertmanager,
            f"--config.file={am_config}",
            f"--storage.path={tmp_path / 'am-data'}",
            f"--web.listen-address=127.0.0.1:{am_port}",
            "--cluster.listen-address=",  # one instance: no gossip port
        ]
        prom_args = [
            prometheus,
            f"--config.file={tmp_path / 'prometheus.yml'}",
            f"--storage.tsdb.path={tmp_path / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{prom_port}",
        ]
        with (
            logged_process(am_args, tmp_path / "alertmanager.log"),
            logged_process(static, tmp_path / "static.log"),
        ):
            wait_until(lambda: _ready(f"{am_url}/-/ready"), "Alertmanager to be ready", timeout_s=30)
            with logged_process(prom_args, tmp_path / "prometheus.log"):

                def delivered() -> bool:
                    slack = [p for p in hook.posts("/slack") if "AttritionFeatureDrift" in json.dumps(p)]
                    pager = [p for p in hook.posts("/pagerduty") if "AttritionNotReady" in json.dumps(p)]
                    return bool(slack and pager)

                wait_until(
                    delivered, "drift on Slack and the outage on PagerDuty", timeout_s=DELIVERY_TIMEOUT_S
                )
                # An alert the outage explains, posted as Prometheus would: inhibited, never paged.
                derived = [
                    {
                        "labels": {"alertname": "AttritionHigh5xxRatio", "severity": "page"},
                        "annotations": {"summary": "5xx while the service is down"},
                    }
                ]
                request = urllib.request.Request(
                    f"{am_url}/api/v2/alerts",
                    data=json.dumps(derived).encode(),
                    headers={"Content-Type": "application/json"},
                    method="POST",
                )
                with urllib.request.urlopen(request, timeout=5) as response:
                    assert response.status == 200

                def inhibited() -> bool:
                    alerts = get_json(
                        f"{am_url}/api/v2/alerts?filter=alertname%3D%22AttritionHigh5xxRatio%22"
                    )
                    return bool(alerts) and bool(alerts[0]["status"]["inhibitedBy"])

                wait_until(inhibited, "the derived page to be inhibited", timeout_s=30)
                pages = hook.posts("/pagerduty")

    slack = next(p for p in hook.posts("/slack") if "AttritionFeatureDrift" in json.dumps(p))
    assert slack["channel"] == "#mlops-alerts"
    assert "[FIRING:1] AttritionFeatureDrift (ticket)" in json.dumps(slack)
    assert "monthly_income" in json.dumps(slack)
    page = next(p for p in pages if "AttritionNotReady" in json.dumps(p))
    assert page["routing_key"] == "test-routing-key-0123456789abcdef"  # read from the key file
    assert page["event_action"] == "trigger"
    assert not any("AttritionHigh5xxRatio" in json.dumps(p) for p in pages)
    assert not any("AttritionNotReady" in json.dumps(p) for p in hook.posts("/slack"))
