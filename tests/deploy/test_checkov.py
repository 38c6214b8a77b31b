"""checkov on the Dockerfile and on the chart as rendered with every ci/ values file.

Never `--framework helm`: it checks nothing and exits 0. The rendered YAML goes through the
`kubernetes` framework instead, offline (`--skip-download`, BC_SKIP_MAPPING=TRUE). Every skipped
check is listed below with the reason; anything else that fails, fails the test.

checkov pins older boto3, networkx, packaging and more than the project does, so it lives in its own
venv, build/checkov-venv, from tests/deploy/requirements-checkov.txt: `make checkov-install`, which this
module runs first (uv installs it in about 4 s; make does nothing when the venv is up to date).
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import fasteners
import pytest

from tests.deploy.chart import REPO_ROOT, VALUES_FILES, chart_copy, load_values, render

pytestmark = [pytest.mark.system, pytest.mark.timeout(900)]

DOCKERFILE = REPO_ROOT / "deploy" / "docker" / "Dockerfile"
CHECKOV_VENV = REPO_ROOT / "build" / "checkov-venv"  # the Makefile's CHECKOV_VENV
CHECKOV_TIMEOUT_S = 300
INSTALL_TIMEOUT_S = 600

SKIPPED_KUBERNETES_CHECKS = {
    "CKV_K8S_43": "image digest: the tag is the content-derived model version (one image per model "
    "version); image.digest pins by digest when set, as ci/k8s-secret-operator-values.yaml does",
    "CKV_K8S_15": "pull policy Always: tags are immutable model versions, and IfNotPresent keeps "
    "scale-from-zero off the registry",
}
SKIPPED_DOCKERFILE_CHECKS = {
    "CKV_DOCKER_7": "`FROM ${BASE}`: checkov does not resolve ARG defaults; BASE defaults to the "
    "pinned python:3.11.14-slim-bookworm and the test build passes a local mmdebstrap image",
}


def _checkov() -> Path:
    """build/checkov-venv's checkov, after `make checkov-install` (nothing to do when it is up to date)."""
    CHECKOV_VENV.parent.mkdir(exist_ok=True)
    with fasteners.InterProcessLock(str(CHECKOV_VENV.with_suffix(".lock"))):  # xdist workers
        done = subprocess.run(
            ["make", "--no-print-directory", "checkov-install"],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=INSTALL_TIMEOUT_S,
            check=False,
        )
    if done.returncode != 0:
        pytest.fail(f"make checkov-install failed: {done.stderr.strip().splitlines()[-1:]}")
    return CHECKOV_VENV / "bin" / "checkov"


def _scan(target: list[str], framework: str, skipped: dict[str, str]) -> list[dict[str, Any]]:
    """checkov's JSON reports for one scan; fails the test on a crash (exit code other than 0/1)."""
    done = subprocess.run(
        [
            str(_checkov()),
            *target,
            "--framework",
            framework,
            "--skip-download",
            "--output",
            "json",
            "--skip-check",
            ",".join(skipped),
        ],
        capture_output=True,
        text=True,
        timeout=CHECKOV_TIMEOUT_S,
        env={**os.environ, "BC_SKIP_MAPPING": "TRUE"},
        check=False,
    )
    assert done.returncode in (0, 1), f"checkov crashed ({done.returncode}): {done.stderr[-2000:]}"
    report = json.loads(done.stdout)
    return report if isinstance(report, list) else [report]


def _failures(reports: list[dict[str, Any]]) -> list[str]:
    return [
        f"{check['check_id']} {check['resource']} ({check['file_path']})"
        for report in reports
        for check in report["results"]["failed_checks"]
    ]


def _passed(reports: list[dict[str, Any]]) -> int:
    return sum(report["summary"]["passed"] for report in reports)


def test_rendered_chart_passes_checkov(tmp_path: Path) -> None:
    chart, _ = chart_copy(tmp_path / "repo")
    rendered = tmp_path / "rendered"
    rendered.mkdir()
    for values_file in VALUES_FILES:
        documents = render(chart, load_values(values_file))
        text = "\n---\n".join(body for path, body in sorted(documents.items()) if path.endswith(".yaml"))
        (rendered / f"{values_file.stem}.yaml").write_text(text, encoding="utf-8")
    reports = _scan(["--directory", str(rendered)], "kubernetes", SKIPPED_KUBERNETES_CHECKS)
    assert _failures(reports) == []
    assert _passed(reports) > 100  # it really looked at the manifests


def test_dockerfile_passes_checkov() -> None:
    reports = _scan(["--file", str(DOCKERFILE)], "dockerfile", SKIPPED_DOCKERFILE_CHECKS)
    assert _failures(reports) == []
    assert _passed(reports) > 10
