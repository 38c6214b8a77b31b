"""A real Prometheus (Debian's package) on 127.0.0.1 scrapes a running `attrition serve` and the monitor's
textfile output, evaluates the committed alert rules, and the drift alert reaches `firing`.

The monitor's file is served by Python's static HTTP server: in production node-exporter's textfile
collector serves the same bytes over HTTP, and what matters here is that Prometheus ingests exactly what
`attrition monitor` wrote (a Pushgateway would change the semantics: it keeps the last push forever).
The rules are the committed ones with every `for:` cut to 1 s so the test needs no waiting.
"""

from __future__ import annotations

import sys
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
import yaml

from attrition.monitor import run, simulate
from tests.support.monitoring import free_port, package_with_reference, scores_for, serve, wait_until
from tests.support.system import ensure_command, get_json, logged_process

REPO = Path(__file__).resolve().parents[2]


def _fast_rules(path: Path) -> Path:
    rules = yaml.safe_load((REPO / "deploy" / "prometheus" / "rules.yml").read_text())
    for group in rules["groups"]:
        for rule in group["rules"]:
            rule["for"] = "1s"
    path.write_text(yaml.safe_dump(rules))
    return path


@pytest.mark.system
def test_prometheus_scrapes_service_and_monitor_and_the_drift_alert_fires(
    model_package: Path, dataset_csv: Path, tmp_path: Path
) -> None:
    prometheus = ensure_command("prometheus", "prometheus")
    package = package_with_reference(model_package, dataset_csv, tmp_path / "pkg")
    textfiles = tmp_path / "textfiles"
    textfiles.mkdir()
    with serve(package, scores_for(package, dataset_csv, tmp_path / "scores.csv"), tmp_path) as service:
        outcomes = tmp_path / "outcomes.csv"
        sent = simulate.main(
            [
                *("--population-version", "8", "--rows", "700", "--seed", "8123", "--url", service.url),
                *("--token-file", str(service.token_file), "--outcomes", str(outcomes)),
            ]
        )
        assert sent in (0, 1)  # 1 while tenure > age - 16 is refused (parity)
        monitored = run.main(
            [
                *(
                    "--package",
                    str(package),
                    "--audit-db",
                    str(service.audit_db),
                    "--outcomes",
                    str(outcomes),
                ),
                *("--out", str(tmp_path / "monitoring.json"), "--prom", str(textfiles / "monitor.prom")),
            ]
        )
        assert monitored == 1

        static_port, prom_port = free_port(), free_port()
        service_target = service.url.removeprefix("http://")
        config = {
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "rule_files": [str(_fast_rules(tmp_path / "rules.yml"))],
            "scrape_configs": [
                {"job_name": "attrition", "static_configs": [{"targets": [service_target]}]},
                {
                    "job_name": "monitor",
                    "metrics_path": "/monitor.prom",
                    "static_configs": [{"targets": [f"127.0.0.1:{static_port}"]}],
                },
            ],
        }
        (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
        static = [sys.executable, "-m", "http.server", str(static_port), "--bind", "127.0.0.1"]
        static += ["--directory", str(textfiles)]
        server = [
            prometheus,
            f"--config.file={tmp_path / 'prometheus.yml'}",
            f"--storage.tsdb.path={tmp_path / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{prom_port}",
        ]
        api = f"http://127.0.0.1:{prom_port}/api/v1"
        with (
            logged_process(static, tmp_path / "static.log"),
            logged_process(server, tmp_path / "prometheus.log"),
        ):

            def drift_firing() -> bool:
                try:
                    alerts = get_json(f"{api}/alerts")["data"]["alerts"]
                except OSError:
                    return False
                return any(
                    a["labels"]["alertname"] == "AttritionFeatureDrift"
                    and a["labels"]["subject"] == "monthly_income"
                    and a["state"] == "firing"
                    for a in alerts
                )

            wait_until(drift_firing, "the drift alert to fire", timeout_s=90, interval_s=1)
            query = urllib.parse.quote('sum(attrition_predictions_total{job="attrition"})')
            result = get_json(f"{api}/query?query={query}")["data"]["result"]
            up = get_json(f"{api}/query?query=up")["data"]["result"]
            firing = {
                a["labels"]["alertname"]
                for a in get_json(f"{api}/alerts")["data"]["alerts"]
                if a["state"] == "firing"
            }

    assert float(result[0]["value"][1]) > 0  # the service's own counters were scraped too
    assert {r["metric"]["job"]: r["value"][1] for r in up} == {"attrition": "1", "monitor": "1"}
    assert not firing & {"AttritionNotReady", "AttritionMonitorStale", "AttritionHigh5xxRatio"}
