"""Push to an S3 endpoint on 127.0.0.1 (moto's server, as dvc-s3's own tests use) and pull into a
fresh clone with an empty cache."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from moto.server import ThreadedMotoServer

from tests.conftest import copy_repo, run

pytestmark = pytest.mark.integration

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


def test_push_then_pull_into_a_fresh_clone(s3_endpoint: str, tmp_path: Path) -> None:
    origin = copy_repo(tmp_path / "origin")
    run(["dvc", "repro"], origin)
    # The everyday workflow: commit the lock that describes what is pushed.
    run(["git", "-c", "user.name=t", "-c", "user.email=t@localhost", "commit", "-qam", "repro"], origin)
    configure_s3(origin, s3_endpoint)
    pushed = run(["dvc", "push", "-r", "s3"], origin)
    assert "pushed" in pushed.stdout.lower()
    committed_config = (origin / ".dvc" / "config").read_text()
    assert s3_endpoint not in committed_config and "testing" not in committed_config

    clone = tmp_path / "clone"
    run(["git", "clone", "-q", str(origin), str(clone)], tmp_path)
    assert not (clone / ".dvc" / "cache").exists()
    configure_s3(clone, s3_endpoint)
    run(["dvc", "pull", "-r", "s3"], clone)
    for path in OUTPUTS:
        assert (clone / path).read_bytes() == (origin / path).read_bytes(), path
    assert "up to date" in run(["dvc", "status"], clone).stdout
    assert run(["attrition", "verify", "models/attrition-model"], clone).returncode == 0
