"""The serving image, built and run on this machine (issue 11): `make image-test`.

Slow (a private dockerd, an mmdebstrap base, a docker build), so `make test` skips it; `make image-test`
sets ATTRITION_IMAGE_TEST=1. The image is built from deploy/docker/Dockerfile on a Debian bookworm
base with python3 and run the way the Helm chart runs it: read-only root, non-root user, the package
mounted read-only, writable /tmp and audit volume only. Prints `<N> MB compressed, <M> MB unpacked`.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from attrition.service.core.tokens import SCOPE_PREDICT, mint_token
from tests.deploy.docker_daemon import (
    Docker,
    cache_dir,
    compressed_size,
    debian_base_tarball,
    private_dockerd,
)
from tests.support.service import free_port

pytestmark = [
    pytest.mark.system,
    pytest.mark.skipif(
        os.environ.get("ATTRITION_IMAGE_TEST") != "1", reason="slow: run `make image-test` (as root)"
    ),
    pytest.mark.timeout(1800),
]

REPO_ROOT = Path(__file__).resolve().parents[2]
BUILD_IMAGE = REPO_ROOT / "deploy" / "docker" / "build-image.sh"
BASE_TAG = "attrition-test/bookworm-python3:base"
# The plan's ~120 MB image. A package without model.json makes the image carry scikit-learn, SciPy
# and pandas to unpickle it; that legacy image gets a looser, stated ceiling instead of no check.
BUDGET_MB = {"requirements-serve.txt": 120.0, "requirements-serve-pickle.txt": 200.0}
UNPICKLING_MODULES = ("sklearn", "scipy", "pandas", "numpy", "joblib")
READY_TIMEOUT_S = 60.0
EMPLOYEE = {"age": 34, "job_role": "Sales", "monthly_income": 3200, "years_at_company": 2}


@dataclass(frozen=True)
class Built:
    """Images built from one build context, and which serving requirement set they carry."""

    docker: Docker
    service: str
    model: str
    requirements: str
    models_dir: Path  # holds attrition-model/ and batch_scores.csv, world-readable


def _build(docker: Docker, models_dir: Path, context: Path) -> tuple[str, str]:
    """Run build-image.sh as `make image` does, on the mmdebstrap base; (service, model) tags."""
    done = subprocess.run(
        [
            "bash",
            str(BUILD_IMAGE),
            "--base",
            BASE_TAG,
            "--context",
            str(context),
            "--package",
            str(models_dir / "attrition-model"),
            "--scores",
            str(models_dir / "batch_scores.csv"),
        ],
        env={**docker.env(), "PYTHON": sys.executable},
        capture_output=True,
        text=True,
        timeout=1200,
        check=False,
    )
    assert done.returncode == 0, f"build-image.sh failed:\n{done.stderr[-4000:]}"
    service, model = done.stdout.strip().splitlines()[-2:]
    return service, model


@pytest.fixture(scope="module")
def built(
    model_package: Path, dataset_csv: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Built]:
    """A private dockerd with the `service` and `model` images built on the mmdebstrap base."""
    workdir = tmp_path_factory.mktemp("dockerd")
    models_dir = tmp_path_factory.mktemp("models")
    shutil.copytree(model_package, models_dir / "attrition-model")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "attrition.pipeline.score",
            "--package",
            str(model_package),
            "--data",
            str(dataset_csv),
            "--out",
            str(models_dir / "batch_scores.csv"),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    for path in [models_dir, *models_dir.rglob("*")]:  # the image's user is uid 10001, not root
        path.chmod(0o755 if path.is_dir() else 0o644)
    manifest = (models_dir / "attrition-model" / "MANIFEST.sha256").read_text(encoding="utf-8")
    slim = any(line.endswith("  model.json") for line in manifest.splitlines())
    requirements = "requirements-serve.txt" if slim else "requirements-serve-pickle.txt"
    tarball = debian_base_tarball(cache_dir())
    with private_dockerd(workdir) as docker:
        docker.run("import", str(tarball), BASE_TAG, timeout=300)
        service, model = _build(docker, models_dir, workdir / "context")
        yield Built(docker, service, model, requirements, models_dir)


@dataclass(frozen=True)
class Running:
    """One container of the image, serving on 127.0.0.1:port of the host network."""

    name: str
    url: str
    secret: str
    audit_dir: Path


def _start(
    built: Built,
    image: str,
    tmp_path: Path,
    *,
    mount_models: bool,
    env: tuple[str, ...] = (),
    ready: str = "/readyz",
) -> Running:
    """`docker run` as the chart runs the pod: read-only root, only /tmp and the audit dir writable."""
    port = free_port()
    secret = secrets.token_urlsafe(48)
    audit_dir = tmp_path / "audit"
    audit_dir.mkdir()
    audit_dir.chmod(0o777)  # the container's uid 10001 writes the SQLite audit fallback here
    name = f"attrition-test-{port}"
    mounts = ["--volume", f"{built.models_dir}:/models:ro"] if mount_models else []
    built.docker.run(
        "run",
        "--detach",
        "--name",
        name,
        "--network",
        "host",
        "--read-only",
        "--tmpfs",
        "/tmp:size=16m",
        "--cap-drop",
        "ALL",
        "--security-opt",
        "no-new-privileges",
        "--volume",
        f"{audit_dir}:/var/lib/attrition",
        *mounts,
        *(item for pair in (("--env", value) for value in env) for item in pair),
        "--env",
        f"ATTRITION_JWT_SECRET={secret}",
        "--env",
        f"ATTRITION_HEALTHCHECK_URL=http://127.0.0.1:{port}/healthz",
        "--health-interval",
        "1s",
        "--health-start-period",
        "1s",
        image,
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    )
    running = Running(name, f"http://127.0.0.1:{port}", secret, audit_dir)
    deadline = time.monotonic() + READY_TIMEOUT_S
    while True:
        try:
            if httpx.get(f"{running.url}{ready}", timeout=2).status_code == 200:
                return running
        except httpx.TransportError:
            pass
        state = built.docker.run("inspect", "--format", "{{.State.Status}}", name).stdout.strip()
        if state != "running" or time.monotonic() > deadline:
            logs = built.docker.run("logs", name, check=False)
            raise AssertionError(f"container {state}, not ready:\n{logs.stdout[-2000:]}{logs.stderr[-2000:]}")
        time.sleep(0.5)


@pytest.fixture
def mounted(built: Built, tmp_path: Path) -> Iterator[Running]:
    """The `service` image with the package mounted read-only at /models."""
    running = _start(built, built.service, tmp_path, mount_models=True)
    yield running
    built.docker.run("rm", "--force", running.name, check=False)


def _predict(running: Running, token: str | None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.post(f"{running.url}/predict", json=EMPLOYEE, headers=headers, timeout=10)


def test_image_runs_as_a_fixed_non_root_user_with_a_healthcheck(built: Built) -> None:
    config = json.loads(
        built.docker.run("image", "inspect", "--format", "{{json .Config}}", built.service).stdout
    )
    assert config["User"] == "10001:10001"
    assert config["Healthcheck"]["Test"][0] == "CMD"
    assert config["Entrypoint"] == ["attrition"]


def test_slim_image_cannot_unpickle(built: Built) -> None:
    """With a data-only model in the package, the image holds none of the unpickling stack."""
    probe = ";".join(
        f"__import__('importlib.util').util.find_spec('{m}') and print('{m}')" for m in UNPICKLING_MODULES
    )
    found = built.docker.run(
        "run", "--rm", "--network", "none", "--entrypoint", "python", built.service, "-c", probe
    ).stdout.split()
    if built.requirements == "requirements-serve.txt":
        assert found == []
    else:  # an old package (no model.json): the image must carry what unpickling needs
        assert set(found) == set(UNPICKLING_MODULES)


def test_mounted_package_is_ready_and_predicts_only_with_a_token(built: Built, mounted: Running) -> None:
    ready = httpx.get(f"{mounted.url}/readyz", timeout=5).json()
    metadata = json.loads(
        (built.models_dir / "attrition-model" / "metadata.json").read_text(encoding="utf-8")
    )
    assert ready["model_version"] == metadata["model_version"]
    assert _predict(mounted, None).status_code == 401
    answer = _predict(mounted, mint_token(mounted.secret, "image-test", [SCOPE_PREDICT], 600))
    assert answer.status_code == 200, answer.text
    assert answer.json()["source"] == "model"
    assert 0.0 < answer.json()["attrition_probability"] < 1.0


def test_healthcheck_reports_healthy(built: Built, mounted: Running) -> None:
    deadline = time.monotonic() + 30
    status = ""
    while time.monotonic() < deadline:
        status = built.docker.run(
            "inspect", "--format", "{{.State.Health.Status}}", mounted.name
        ).stdout.strip()
        if status == "healthy":
            break
        time.sleep(0.5)
    assert status == "healthy"


def test_sigterm_drains_every_answered_prediction_into_the_audit_store(
    built: Built, mounted: Running
) -> None:
    token = mint_token(mounted.secret, "image-test", [SCOPE_PREDICT], 600)
    answered = 0
    with httpx.Client(timeout=10) as client:
        for _ in range(200):
            response = client.post(
                f"{mounted.url}/predict", json=EMPLOYEE, headers={"Authorization": f"Bearer {token}"}
            )
            answered += response.status_code == 200
    assert answered == 200
    built.docker.run("stop", "--time", "30", mounted.name)  # SIGTERM, SIGKILL only after 30 s
    exit_code = built.docker.run("inspect", "--format", "{{.State.ExitCode}}", mounted.name).stdout.strip()
    assert exit_code == "0"
    with sqlite3.connect(mounted.audit_dir / "audit.sqlite") as store:
        (rows,) = store.execute("SELECT count(*) FROM predictions").fetchone()
    assert rows == answered


def test_model_image_serves_its_baked_package_within_the_size_budget(
    built: Built, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    running = _start(built, built.model, tmp_path, mount_models=False)
    try:
        answer = _predict(running, mint_token(running.secret, "image-test", [SCOPE_PREDICT], 600))
        assert answer.status_code == 200, answer.text
    finally:
        built.docker.run("rm", "--force", running.name, check=False)
    compressed_mb = compressed_size(built.docker, built.model) / 1e6
    unpacked_mb = int(built.docker.run("image", "inspect", "--format", "{{.Size}}", built.model).stdout) / 1e6
    with capsys.disabled():
        size = f"{compressed_mb:.0f} MB compressed, {unpacked_mb:.0f} MB unpacked"
        print(f"\n{size} ({built.model}, {built.requirements})")
    assert compressed_mb <= BUDGET_MB[built.requirements]


def test_fallback_mode_serves_only_the_baked_batch_scores(built: Built, tmp_path: Path) -> None:
    """The chart's fallback Deployment: same image, ATTRITION_PACKAGE pointing at nothing."""
    running = _start(
        built,
        built.model,
        tmp_path,
        mount_models=False,
        env=("ATTRITION_PACKAGE=/nonexistent/no-model",),
        ready="/healthz",
    )
    try:
        assert httpx.get(f"{running.url}/readyz", timeout=5).status_code == 503
        token = mint_token(running.secret, "image-test", [SCOPE_PREDICT], 600)
        headers = {"Authorization": f"Bearer {token}"}
        answer = httpx.post(
            f"{running.url}/predict", json={**EMPLOYEE, "employee_id": "E00001"}, headers=headers, timeout=10
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["source"] == "batch"
        assert (
            httpx.post(f"{running.url}/predict", json=EMPLOYEE, headers=headers, timeout=10).status_code
            == 503
        )
        assert httpx.get(f"{running.url}/scores/E00001", headers=headers, timeout=10).status_code == 200
    finally:
        built.docker.run("rm", "--force", running.name, check=False)
