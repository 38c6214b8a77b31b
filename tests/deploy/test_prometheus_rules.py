"""The committed alert rules and dashboard: promtool checks and unit-tests them, and every metric they
name is one the service or the monitor really exports (a renamed metric would silently never alert)."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from attrition.monitor.checks import CheckResult
from attrition.monitor.exposition import build_registry
from attrition.service.core.metrics import ServiceMetrics
from tests.support.system import ensure_command

pytestmark = pytest.mark.system  # promtool, from Debian's prometheus package

REPO = Path(__file__).resolve().parents[2]
RULES = REPO / "deploy" / "prometheus" / "rules.yml"
RULE_TESTS = sorted((REPO / "deploy" / "prometheus" / "tests").glob("*.yml"))
DASHBOARD = REPO / "deploy" / "grafana" / "attrition-dashboard.json"
PROMQL_BUILTINS = {"time", "rate", "sum", "by", "le", "histogram_quantile", "absent", "or", "and"}


def _promtool(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    promtool = ensure_command("promtool", "prometheus")
    return subprocess.run(
        [promtool, *args], cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )


def test_rules_pass_promtool_check() -> None:
    done = _promtool("check", "rules", str(RULES))
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("test_file", RULE_TESTS, ids=lambda p: p.name)
def test_rule_unit_tests_pass(test_file: Path) -> None:
    done = _promtool("test", "rules", test_file.name, cwd=test_file.parent)
    assert done.returncode == 0, done.stdout + done.stderr


def _dashboard_expressions() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text())
    return [target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])]


def test_dashboard_queries_parse(tmp_path: Path) -> None:
    # promtool has no "check this expression" command, but it parses every rule's expression:
    # a rule file with one recording rule per dashboard query is checked instead.
    expressions = _dashboard_expressions()
    assert len(expressions) >= 10
    rules = {
        "groups": [
            {
                "name": "dashboard",
                "rules": [{"record": f"dashboard:query_{i}", "expr": e} for i, e in enumerate(expressions)],
            }
        ]
    }
    path = tmp_path / "dashboard_rules.yml"
    path.write_text(yaml.safe_dump(rules))
    done = _promtool("check", "rules", str(path))
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"SUCCESS: {len(expressions)} rules found" in done.stdout


def _exported_names() -> set[str]:
    families = list(ServiceMetrics().registry.collect())
    result = CheckResult(
        "drift", "age", "1d", "ok", 600, "", {"psi": 0.01, "threshold": 0.2, "min_rows": 500}
    )
    families += list(build_registry([result], model_version="v", finished_at=0.0).collect())
    names = {"up"}
    suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"), "gauge": ("",)}
    for family in families:  # labelled metrics have no samples until a child exists: derive the names
        names |= {family.name + suffix for suffix in suffixes.get(family.type, ("",))}
    return names


def _metric_names(expression: str) -> set[str]:
    without_strings = re.sub(r'"[^"]*"', "", expression)
    without_labels = re.sub(r"\{[^}]*\}|\[[^\]]*\]", "", without_strings)
    words = set(re.findall(r"[a-zA-Z_:][a-zA-Z0-9_:]*", without_labels))
    return {w for w in words if w.startswith(("attrition_", "up"))} - PROMQL_BUILTINS


def test_every_metric_the_rules_and_dashboard_use_is_exported() -> None:
    rules = yaml.safe_load(RULES.read_text())
    expressions = [rule["expr"] for group in rules["groups"] for rule in group["rules"]]
    used = set().union(*(_metric_names(e) for e in [*expressions, *_dashboard_expressions()]))
    assert used - _exported_names() == set()
    assert {"attrition_http_request_duration_seconds_bucket", "attrition_monitor_verdict"} <= used
