"""Push to an S3 endpoint on 127.0.0.1 (moto's server, as dvc-s3's own tests use) and pull into a
fresh clone with an empty cache."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from moto.server import ThreadedMotoServer

from tests.conftest import clone_template, run

pytestmark = pytest.mark.dvc

CREDENTIALS = {"access_key_id": "testing", "secret_access_key": "testing"}
OUTPUTS = (
    "data/employee_attrition_v3.csv",
    "models/model.joblib",
    "models/train.json",
    "models/attrition-model/model.joblib",
    "models/attrition-model/metadata.json",
    "models/attrition-model/MANIFEST.sha256",
)


@pytest.fixture
def s3_endpoint(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name, raising=False)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    ).create_bucket(Bucket="attrition-dvc")
    try:
        yield endpoint
    finally:
        server.stop()


def configure_s3(repo: Path, endpoint: str) -> None:
    """The README's team set-up: endpoint and credentials go to .dvc/config.local only."""
    run(["dvc", "remote", "modify", "--local", "s3", "endpointurl", endpoint], repo)
    for key, value in CREDENTIALS.items():
        run(["dvc", "remote", "modify", "--local", "s3", key, value], repo)


def git_status(repo: Path) -> str:
    return run(["git", "status", "--porcelain"], repo).stdout


def test_any_clone_rebuilds_and_fills_the_remote_for_everyone(
    repo_template: Path, s3_endpoint: str, tmp_path: Path
) -> None:
    """Clone A, built (the run's template: `dvc repro` from scratch), pushes; B (a git clone of it, empty
    cache) pulls what the lock names."""
    clone_a, clone_b = tmp_path / "a", tmp_path / "b"
    clone_template(repo_template, clone_a)
    run(["git", "clone", "-q", str(clone_a), str(clone_b)], tmp_path)
    for clone in (clone_a, clone_b):
        configure_s3(clone, s3_endpoint)

    assert git_status(clone_a) == "", "a rebuild of a commit must change nothing git tracks"
    pushed = run(["dvc", "push", "-r", "s3"], clone_a)
    assert "pushed" in pushed.stdout.lower()
    committed_config = (clone_a / ".dvc" / "config").read_text()
    assert s3_endpoint not in committed_config and "testing" not in committed_config

    assert not (clone_b / ".dvc" / "cache").exists()
    run(["dvc", "pull", "-r", "s3"], clone_b)
    for path in OUTPUTS:
        assert (clone_b / path).read_bytes() == (clone_a / path).read_bytes(), path
    assert "up to date" in run(["dvc", "status"], clone_b).stdout
    assert git_status(clone_b) == ""
    assert run(["attrition", "verify", "models/attrition-model"], clone_b).returncode == 0
